"""Open and click tracking (pure, no I/O): instrument a mail's HTML, read a tracking token back.

`links_of` lists the mail's trackable links: every distinct http(s) `<a href>` (not our own `/u/`
and `/t/` links, none holding a control character). The sender records that list on the message
when it claims the mail, then `instrument` rewrites each of those `<a href>` to
`{base_url}/t/{token}` (kind "click", an opaque token naming the link's position, not the URL) and
appends a 1x1 pixel `{base_url}/t/{token}` (kind "open") before `</body>`. The public `/t/` route
looks the position up in the message's recorded list: it redirects only to a URL that stood in that
mail, never to one a token or a request names (no open redirect). Tokens are opaque and signed with
the tenant's key like unsubscribe links (services/email/domain/tokens.py, `seal`).
Unsubscribe links, mailto links and links we do not track stay as they are.

The HTML is read with the stdlib parser; only the rewritten `<a>` start tags change, every other
byte of the mail stays as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from html.parser import HTMLParser
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from services.email.domain.tokens import (
    BadToken,
    LinkRef,
    is_legacy,
    legacy_allowed,
    open_tenant_token,
    open_token,
    seal,
    sign_for_tenant,
    unseal,
)
from shared.types import has_control_character

PURPOSE = "track"
TrackKind = Literal["open", "click"]
MAX_LINKS = 500  # tracked links per mail; the ones after stay as written


class TrackingClaims(BaseModel):
    """What a tracking link carries."""

    model_config = {"populate_by_name": True, "frozen": True}

    tenant: str = Field(alias="t", min_length=1)
    message_id: str = Field(alias="m", min_length=1)
    kind: TrackKind = Field(alias="k")
    link: int | None = Field(None, alias="l", ge=0, description="A click's link: its position in the mail's links")
    url: str | None = Field(None, alias="u", description="A legacy click's link (`read_token`)")


def tracking_token(tenant: str, message_id: str, kind: TrackKind, link: int | None, keys: Sequence[bytes]) -> str:
    """An opaque tracking token (`services/email/domain/tokens.py`, `seal`): the tenant, the mail,
    the kind and a click's link position, signed with the tenant's key derived from `keys[0]`."""
    return seal(LinkRef(kind, tenant, message_id, link if kind == "click" else None), keys)


def legacy_tracking_token(tenant: str, message_id: str, kind: TrackKind, link: int | None, key: bytes) -> str:
    """A token of the claims format, as mails sent before opaque links carry (for tests of those)."""
    claims = TrackingClaims(tenant=tenant, message_id=message_id, kind=kind, link=link)
    return sign_for_tenant(PURPOSE, claims.model_dump(by_alias=True, exclude_none=True), key)


def read_token(
    token: str, keys: Sequence[bytes], legacy_key: bytes | None = None, now: datetime | None = None
) -> TrackingClaims:
    """The claims of a tracking token; `BadToken` when forged, altered or malformed.

    An opaque token verifies with any of `keys` (the current and the previous link key). A token of
    the claims format (mails sent before opaque links) is read until LEGACY_LINKS_UNTIL with
    `legacy_key` (the stack's cursor secret), and so is an older one still (signed with that secret
    itself, a click carrying its URL): its URL is followed only when it stands among the links of
    its message's stored HTML (services/email/tracking.py), so it redirects nowhere else."""
    if not is_legacy(token):
        ref = unseal(token, keys)
        if ref.kind == "unsubscribe":
            raise BadToken("not a tracking link")
        return TrackingClaims(tenant=ref.tenant, message_id=ref.message_id, kind=ref.kind, link=ref.link)
    if not legacy_allowed(now) or legacy_key is None:
        raise BadToken("legacy links are no longer honoured")
    key = legacy_key
    try:
        raw, legacy = open_tenant_token(PURPOSE, token, key), False
    except BadToken:
        raw, legacy = open_token(PURPOSE, token, key), True
    try:
        claims = TrackingClaims.model_validate(raw)
    except ValidationError as error:
        raise BadToken("malformed claims") from error
    if claims.link is not None if legacy else claims.url is not None:
        raise BadToken("a link position in a legacy token, or a URL in a new one")
    if claims.kind == "click" and claims.link is None and not (legacy and is_safe_link(claims.url or "")):
        raise BadToken("a click token without a link")
    return claims


def is_safe_link(url: str) -> bool:
    """An http(s) URL without control characters: one a redirect may name."""
    return is_web_link(url) and not has_control_character(url.strip())


def is_web_link(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://"))


def _tracked(url: str, base_url: str) -> bool:
    """A safe web link that is not one of our own public links (unsubscribe, tracking)."""
    if not is_safe_link(url):
        return False
    own = base_url.rstrip("/").lower()
    return not url.strip().lower().startswith((f"{own}/u/", f"{own}/t/"))


class _Links(HTMLParser):
    """Finds the `<a href>` start tags: their offsets in the source, raw text and attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[tuple[int, int], str, list[tuple[str, str | None]]]] = []
        self.body_end: tuple[int, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append((self.getpos(), self.get_starttag_text() or "", attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "body":
            self.body_end = self.getpos()


def _offset(starts: list[int], position: tuple[int, int]) -> int:
    line, column = position
    return starts[line - 1] + column


def _start_tag(raw: str, attrs: list[tuple[str, str | None]]) -> str:
    parts = [name if value is None else f'{name}="{escape(value, quote=True)}"' for name, value in attrs]
    return f"<a {' '.join(parts)}{' /' if raw.rstrip().endswith('/>') else ''}>"


def _hrefs(anchors: list[tuple[tuple[int, int], str, list[tuple[str, str | None]]]]) -> list[str | None]:
    return [next((value for name, value in attrs if name == "href"), None) for _, _, attrs in anchors]


def _parsed(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser


def links_of(html: str | None, base_url: str) -> list[str]:
    """The mail's trackable links, distinct, in the order they first stand (at most MAX_LINKS)."""
    if not html:
        return []
    base = base_url.rstrip("/")
    links: dict[str, None] = {}
    for href in _hrefs(_parsed(html).anchors):
        if href is not None and _tracked(href, base) and len(links) < MAX_LINKS:
            links.setdefault(href.strip(), None)
    return list(links)


def instrument(
    html: str,
    base_url: str,
    tenant: str,
    message_id: str,
    opens: bool,
    clicks: bool,
    keys: Sequence[bytes],
    links: list[str] | None = None,
) -> str:
    """The mail's HTML with tracking links.

    - `clicks`: each `<a href>` whose link is in `links` (the list the message recorded; left out:
      `links_of(html, base_url)`) points to `{base_url}/t/{token}`; the token carries (tenant,
      message_id, the link's position in `links`), signed with the tenant's key.
    - `opens`: a 1x1 pixel `<img src="{base_url}/t/{token}">` (kind open) before `</body>`, or at the
      end of a fragment without one.
    `keys` are the link keys (`shared.secrets.link_keys()`, the current first); `base_url` is
    `services.email.unsubscribe.base_url()`. With both switches off the HTML comes back unchanged.
    """
    if not html or not (opens or clicks):
        return html
    base = base_url.rstrip("/")
    parser = _parsed(html)
    position = {link: index for index, link in enumerate(links_of(html, base) if links is None else links)}
    starts = [0] + [i + 1 for i, char in enumerate(html) if char == "\n"]  # the parser counts lines by \n
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), in source order
    if clicks:
        for (where, raw, attrs), href in zip(parser.anchors, _hrefs(parser.anchors), strict=True):
            index = position.get(href.strip()) if href is not None and _tracked(href, base) else None
            if index is None or not raw:
                continue
            link = f"{base}/t/{tracking_token(tenant, message_id, 'click', index, keys)}"
            changed = [(name, link if name == "href" else value) for name, value in attrs]
            start = _offset(starts, where)
            edits.append((start, start + len(raw), _start_tag(raw, changed)))
    if opens:
        pixel_url = f"{base}/t/{tracking_token(tenant, message_id, 'open', None, keys)}"
        pixel = f'<img src="{pixel_url}" width="1" height="1" alt="" style="border:0;width:1px;height:1px">'
        at = _offset(starts, parser.body_end) if parser.body_end else len(html)
        edits.append((at, at, pixel))
    out, done = [], 0
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0]):
        out.append(html[done:start])
        out.append(replacement)
        done = end
    out.append(html[done:])
    return "".join(out)
