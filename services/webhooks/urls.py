"""The checks of an endpoint's URL when it is saved (create, or a PATCH of `url`), after its schema:

- plain http only where the tenant's `allow_http` is on (setup.py), or to loopback under `kontakt
  dev`: else a 422 naming `url`, code `http_not_allowed`;
- the host must be reachable by the outbound guard (shared/outbound.py, issue 20 item 7): resolved
  now, every address a public unicast one unless OUTBOUND_ALLOW allows it (`kontakt dev` allows
  loopback): else a 422 naming `url`, code `outbound_refused`;
- a name that does not resolve now is refused too (422, `unresolvable_host`): an endpoint is
  tested by its owner as soon as it is registered, and a typo is best told at once
  (docs/decisions.md, "Webhook endpoints are checked when saved").

The delivery checks the address again before every attempt and connects to the address it
checked: what is allowed at save may not be later (DNS changes).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from services.webhooks import limits, setup
from services.webhooks.service import Caller
from shared import outbound
from shared.errors import ValidationFailed
from shared.store import UnitOfWork

DEFAULT_PORTS = {"http": 80, "https": 443}


def check_url(caller: Caller, url: str, uow: UnitOfWork) -> None:
    """Refuse a URL the tenant may not use now (422 naming `url`); `uow` then commits only while
    the tenant's settings still allow it."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:  # a bracketed host that is no IPv6 address
        raise ValidationFailed.on("url", f"the URL's host is not an address: {exc}", "unresolvable_host") from exc
    if limits.plain_http(url) and not setup.check_http_allowed(caller, uow):
        raise ValidationFailed.on(
            "url", "http:// is allowed only when the tenant's webhook settings allow it: use https", "http_not_allowed"
        )
    try:
        outbound.destination(host, port)
    except outbound.OutboundRefused as exc:
        raise ValidationFailed.on("url", str(exc), "outbound_refused") from exc
    except outbound.Unresolved as exc:
        raise ValidationFailed.on("url", f"{host} does not resolve to an address", "unresolvable_host") from exc
