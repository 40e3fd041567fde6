"""Tracking links (pure): which links are rewritten, what their tokens carry, and that a forged or
altered token is refused. Tokens split at "." are the claims format of mail sent before opaque
links (legacy, read until LEGACY_LINKS_UNTIL)."""

import re

import pytest

from services.email.domain.tokens import BadToken, sign, tenant_key
from services.email.domain.tracking import TrackingClaims, instrument, links_of, read_token
from services.email.domain.tracking import legacy_tracking_token as tracking_token
from services.email.unsubscribe import legacy_unsubscribe_token as unsubscribe_token
from services.email.unsubscribe import verify_token

KEY = b"test-signing-key"
BASE = "https://links.example"
MAIL = """<!doctype html>
<html><head><title>Hi</title></head><body>
<p>Hello &amp; welcome</p>
<a class="button" href="https://shop.example/x?a=1&amp;b=2">Shop</a>
<A HREF='http://plain.example/'>Plain</A>
<a href="mailto:help@example.com">Mail us</a>
<a href="https://links.example/u/abc.def">Unsubscribe</a>
<a href="#top">Top</a><a name="anchor">no href</a>
</body></html>"""


def read(token: str, key: bytes) -> TrackingClaims:
    """A tracking token read as the /t/ route does: opaque with the link key, legacy with the stack's."""
    return read_token(token, [key], legacy_key=key)


def tokens(html: str) -> list[str]:
    return re.findall(r'="' + re.escape(BASE) + r'/t/([^"]+)"', html)


def test_web_links_point_at_signed_click_tokens_naming_the_link_s_position() -> None:
    assert links_of(MAIL, BASE) == ["https://shop.example/x?a=1&b=2", "http://plain.example/"]
    out = instrument(MAIL, BASE, "t1", "m1", opens=False, clicks=True, keys=[KEY])
    claims = [read(t, KEY) for t in tokens(out)]
    assert [(c.tenant, c.message_id, c.kind, c.link) for c in claims] == [
        ("t1", "m1", "click", 0),
        ("t1", "m1", "click", 1),
    ]
    assert all("example" not in t.split(".")[0] for t in tokens(out))  # no URL in the token
    assert 'class="button"' in out and ">Shop</a>" in out


def test_only_recorded_links_are_rewritten_and_a_link_twice_has_one_position() -> None:
    twice = (
        '<a href="https://a.example/">A</a> <a href=" https://a.example/ ">again</a> <a href="https://b.example/">B</a>'
    )
    out = instrument(twice, BASE, "t1", "m1", opens=False, clicks=True, keys=[KEY], links=["https://a.example/"])
    assert [read(t, KEY).link for t in tokens(out)] == [0, 0]
    assert 'href="https://b.example/"' in out


def test_links_with_control_characters_or_other_schemes_are_not_tracked() -> None:
    html = (
        '<a href="https://a.example/x&#13;&#10;Set-Cookie: a=1">A</a><a href="https://b.example/\x00">B</a>'
        '<a href="javascript:alert(1)">C</a><a href="data:text/html,x">D</a><a href="https://c.example/\u2028x">E</a>'
    )
    assert links_of(html, BASE) == []
    assert instrument(html, BASE, "t1", "m1", opens=False, clicks=True, keys=[KEY]) == html


def test_unsubscribe_mailto_and_local_links_stay_and_the_rest_of_the_mail_is_untouched() -> None:
    out = instrument(MAIL, BASE, "t1", "m1", opens=False, clicks=True, keys=[KEY])
    for kept in ('href="mailto:help@example.com"', 'href="https://links.example/u/abc.def"', 'href="#top"'):
        assert kept in out
    assert out.startswith("<!doctype html>\n<html><head><title>Hi</title></head><body>\n<p>Hello &amp; welcome</p>")
    assert out.endswith('<a href="#top">Top</a><a name="anchor">no href</a>\n</body></html>')


def test_the_open_pixel_goes_before_the_end_of_the_body() -> None:
    out = instrument(MAIL, BASE, "t1", "m1", opens=True, clicks=False, keys=[KEY])
    (token,) = tokens(out)
    claims = read(token, KEY)
    assert (claims.kind, claims.link, claims.message_id) == ("open", None, "m1")
    assert re.search(r'<img src="[^"]+" width="1" height="1"[^>]*></body></html>$', out)
    assert "shop.example/x" in out  # links not rewritten when clicks are off


def test_a_fragment_without_a_body_gets_the_pixel_at_the_end() -> None:
    out = instrument("<p>Hi</p>", BASE, "t1", "m1", opens=True, clicks=True, keys=[KEY])
    assert out.startswith("<p>Hi</p><img ")


def test_tracking_off_leaves_the_html_as_it_is() -> None:
    assert instrument(MAIL, BASE, "t1", "m1", opens=False, clicks=False, keys=[KEY]) == MAIL


def test_forged_altered_and_foreign_tokens_are_refused() -> None:
    token = tracking_token("t1", "m1", "click", 0, KEY)
    body, mac = token.split(".")
    other = tracking_token("t1", "m1", "click", 1, KEY).split(".")[0]
    with pytest.raises(BadToken):
        read(token, b"another key")
    with pytest.raises(BadToken):
        read(f"{other}.{mac}", KEY)
    with pytest.raises(BadToken):
        read(f"{body}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}", KEY)
    with pytest.raises(BadToken):  # an unsubscribe token is not a tracking token, nor the other way round
        read(unsubscribe_token("t1", "a@b.fi", "marketing", key=KEY), KEY)
    with pytest.raises(BadToken):
        verify_token(token, key=KEY)


def test_each_tenant_signs_with_its_own_key() -> None:
    mac = tracking_token("t1", "m1", "click", 0, KEY).split(".")[1]
    claims = {"t": "t2", "m": "m1", "k": "click", "l": 0}
    assert tenant_key(KEY, "t1") != tenant_key(KEY, "t2") != KEY
    with pytest.raises(BadToken):  # A's signature over B's claims
        read(f"{sign('track', claims, KEY).split('.')[0]}.{mac}", KEY)
    with pytest.raises(BadToken):  # B's claims signed with A's key, or with the stack's secret itself
        read(sign("track", claims, tenant_key(KEY, "t1")), KEY)
    with pytest.raises(BadToken):
        read(sign("track", claims, KEY), KEY)
    assert read(sign("track", claims, tenant_key(KEY, "t2")), KEY).tenant == "t2"


@pytest.mark.parametrize(
    "token", ["", ".", "a.b", "é.é", "x.\u00ff", "bnVsbA.x", "W10.x", "e30.x", "%00.%0a", "x" * 5000]
)
def test_malformed_tokens_are_bad_tokens_and_nothing_else(token: str) -> None:
    with pytest.raises(BadToken):
        read(token, KEY)
    with pytest.raises(BadToken):
        verify_token(token, key=KEY)


def test_a_click_token_must_name_a_link() -> None:
    with pytest.raises(BadToken):
        read(sign("track", {"t": "t1", "m": "m1", "k": "click"}, tenant_key(KEY, "t1")), KEY)
    with pytest.raises(BadToken):  # a URL in a token signed with the tenant's key
        read(sign("track", {"t": "t1", "m": "m1", "k": "click", "u": "https://x.example/"}, tenant_key(KEY, "t1")), KEY)


def test_a_legacy_token_is_read_with_its_url_for_its_message_to_check() -> None:
    """Mails sent before per-tenant keys carry a URL signed with the stack's secret: read, and
    followed only when the URL stands in its message (services/email/tracking.py)."""
    legacy = read(sign("track", {"t": "t1", "m": "m1", "k": "click", "u": "https://x.example/"}, KEY), KEY)
    assert (legacy.link, legacy.url) == (None, "https://x.example/")
    for claims in ({"u": "javascript:alert(1)"}, {"u": "https://x.example/\r\nA: b"}, {"l": 0}, {}):
        with pytest.raises(BadToken):
            read(sign("track", {"t": "t1", "m": "m1", "k": "click", **claims}, KEY), KEY)


def test_an_unsubscribe_token_may_name_its_message_and_old_tokens_still_verify() -> None:
    assert (
        verify_token(unsubscribe_token("t1", "a@b.fi", "marketing", key=KEY, message_id="m9"), KEY).message_id == "m9"
    )
    assert verify_token(unsubscribe_token("t1", "a@b.fi", "marketing", key=KEY), KEY).message_id is None
    legacy = sign("unsubscribe", {"t": "t1", "a": "a@b.fi", "l": "marketing", "e": 4102444800}, KEY)
    assert verify_token(legacy, KEY).address == "a@b.fi"  # signed with the stack's secret, before per-tenant keys
