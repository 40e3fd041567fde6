"""Open and click tracking [issue 5 item 2]: the public `/t/{token}` links a tracked mail carries.

A campaign with tracking on gets its HTML instrumented when its mails are sent
(`services.email.domain.tracking.instrument`; the sender records the mail's links on the message
when it claims it); a recipient's mail client then fetches the pixel (an open) or follows a link (a
click). A click's (opaque) token names the link by its position in the message's recorded links: the redirect
goes only to a URL that stood in that mail. Links of mails sent before (a URL in a token signed with
the stack's secret) still work while their URL stands in their message's stored HTML. Both are
recorded through the feedback path (`services.email.feedback.apply`), the same as an SES report:
once per (message, kind, recipient [, link]), with the message's history, the campaign's counters
and one `email.opened` / `email.clicked` event in one transaction. The tenant comes from the signed
token (signed with that tenant's key), never the request.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.email import feedback
from services.email.domain.feedback import Feedback, Kind
from services.email.domain.tokens import BadToken, is_legacy, peek_kind, unverified_claims
from services.email.domain.tracking import TrackingClaims, is_safe_link, links_of, read_token
from services.email.service import service_caller
from services.email.transactional import KIND as MESSAGE
from shared import clock
from shared.observability import logger

# Legacy click links (a URL in a token signed with the stack's secret, mails sent before 2026-12-05)
# are followed until this moment; from then on they answer as an unknown link (docs/decisions.md).
LEGACY_CLICKS_UNTIL = datetime(2027, 6, 30, tzinfo=UTC)

# A transparent 1x1 GIF.
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


class UnknownLink(Exception):
    """A click whose message, or whose link in that message, is not known: nowhere to go."""


def verified(token: str) -> TrackingClaims:
    """The claims of a tracking link; `BadToken` when forged, altered or malformed."""
    from shared.secrets import signing_key, verify_with_link_keys  # Secrets Manager

    legacy_key = signing_key() if is_legacy(token) else None
    return verify_with_link_keys(lambda keys: read_token(token, keys, legacy_key=legacy_key), BadToken)


def claimed_kind(token: str) -> str | None:
    """What an unverified token says it is (to answer a bad pixel as a pixel); never trusted otherwise."""
    if not is_legacy(token):
        return peek_kind(token)
    claims = unverified_claims(token)
    return str(claims.get("k")) if claims is not None else None


def follow(claims: TrackingClaims, own_origin: str) -> str | None:
    """Record the open or click once (the feedback path dedupes); the URL a click goes to.

    `UnknownLink` for a click of a message we do not know or a link it did not carry; an open of
    such a message is skipped (the pixel is still answered). `own_origin`: where the link was
    followed (our own links in a mail, unsubscribe and tracking, are never a legacy link's target)."""
    caller = service_caller(claims.tenant)
    message = caller.store.get(caller.tenant, MESSAGE, claims.message_id)
    url: str | None = None
    if claims.kind == "click" and claims.link is None:  # a legacy link: its URL, if its mail held it
        current = message is not None and clock.now() < LEGACY_CLICKS_UNTIL
        held = links_of(message.data.get("html"), own_origin) if current and message is not None else []
        if claims.url is None or claims.url.strip() not in held:
            raise UnknownLink(claims.message_id)
        url = claims.url.strip()
    elif claims.kind == "click":
        links = (message.data.get("links") if message is not None else None) or []
        index = claims.link if claims.link is not None else len(links)
        if index >= len(links) or not isinstance(links[index], str) or not is_safe_link(links[index]):
            raise UnknownLink(claims.message_id)
        url = links[index].strip()
    if message is None:
        logger.warning("tracking link of an unknown message", extra={"message_id": claims.message_id})
        return None
    now = clock.now()
    try:
        feedback.apply(
            Feedback(
                tenant_id=claims.tenant,
                message_id=claims.message_id,
                kind=Kind.clicked if claims.kind == "click" else Kind.opened,
                recipient=str(message.data.get("to") or ""),
                at=now,
                sent_at=now,
                url=url,
            )
        )
    except Exception:  # the recipient still gets the pixel or the page; the report is lost, and logged
        logger.exception("tracking report not recorded", extra={"message_id": claims.message_id})
    return url


__all__ = ["PIXEL", "BadToken", "UnknownLink", "claimed_kind", "follow", "verified"]
