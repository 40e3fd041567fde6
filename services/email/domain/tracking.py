"""Open and click tracking (pure, no I/O): instrument a mail's HTML, read a tracking token back.

`instrument` rewrites every http(s) `<a href>` to `{base_url}/t/{token}` (kind "click", carrying
the original URL) and appends a 1x1 pixel `{base_url}/t/{token}` (kind "open") before `</body>`.
Tokens are signed like unsubscribe links (services/email/domain/tokens.py, purpose "track"), so the
public `/t/` route redirects only to a URL we signed: no open redirect. Unsubscribe links (our own
`/u/` links) and mailto links stay as they are.

The HTML is read with the stdlib parser; only the rewritten `<a>` start tags change, every other
byte of the mail stays as written.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from services.email.domain.tokens import BadToken, open_token, sign

PURPOSE = "track"
TrackKind = Literal["open", "click"]


class TrackingClaims(BaseModel):
    """What a tracking link carries."""

    model_config = {"populate_by_name": True, "frozen": True}

    tenant: str = Field(alias="t")
    message_id: str = Field(alias="m")
    kind: TrackKind = Field(alias="k")
    url: str | None = Field(None, alias="u", description="The original link, for a click")


def tracking_token(tenant: str, message_id: str, kind: TrackKind, url: str | None, key: bytes) -> str:
    claims = TrackingClaims(tenant=tenant, message_id=message_id, kind=kind, url=url)
    return sign(PURPOSE, claims.model_dump(by_alias=True, exclude_none=True), key)


def read_token(token: str, key: bytes) -> TrackingClaims:
    """The claims of a tracking token; `BadToken` when forged, altered or malformed."""
    try:
        claims = TrackingClaims.model_validate(open_token(PURPOSE, token, key))
    except ValidationError as error:
        raise BadToken("malformed claims") from error
    if claims.kind == "click" and not is_web_link(claims.url or ""):
        raise BadToken("a click token without a web link")
    return claims


def is_web_link(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://"))


def _tracked(url: str, base_url: str) -> bool:
    """A web link that is not one of our own public links (unsubscribe, tracking)."""
    if not is_web_link(url):
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


def instrument(html: str, base_url: str, tenant: str, message_id: str, opens: bool, clicks: bool, key: bytes) -> str:
    """The mail's HTML with tracking links.

    - `clicks`: each http(s) `<a href>` (not our `/u/` unsubscribe or `/t/` links, not mailto:) points
      to `{base_url}/t/{token}`; the token carries (tenant, message_id, original URL), signed with `key`.
    - `opens`: a 1x1 pixel `<img src="{base_url}/t/{token}">` (kind open) before `</body>`, or at the
      end of a fragment without one.
    `key` is the shared signing key (`shared.secrets.signing_key()`); `base_url` is
    `services.email.unsubscribe.base_url()`. With both switches off the HTML comes back unchanged.
    """
    if not html or not (opens or clicks):
        return html
    base = base_url.rstrip("/")
    parser = _Links()
    parser.feed(html)
    parser.close()
    starts = [0] + [i + 1 for i, char in enumerate(html) if char == "\n"]  # the parser counts lines by \n
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), in source order
    if clicks:
        for position, raw, attrs in parser.anchors:
            href = next((value for name, value in attrs if name == "href"), None)
            if href is None or not _tracked(href, base) or not raw:
                continue
            link = f"{base}/t/{tracking_token(tenant, message_id, 'click', href.strip(), key)}"
            changed = [(name, link if name == "href" else value) for name, value in attrs]
            start = _offset(starts, position)
            edits.append((start, start + len(raw), _start_tag(raw, changed)))
    if opens:
        pixel_url = f"{base}/t/{tracking_token(tenant, message_id, 'open', None, key)}"
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
