"""Tracking links (pure): which links are rewritten, what their tokens carry, and that a forged or
altered token is refused."""

import re

import pytest

from services.email.domain.tokens import BadToken
from services.email.domain.tracking import instrument, read_token, tracking_token
from services.email.unsubscribe import unsubscribe_token, verify_token

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


def tokens(html: str) -> list[str]:
    return re.findall(r'="' + re.escape(BASE) + r'/t/([^"]+)"', html)


def test_web_links_point_at_signed_click_tokens_with_the_original_url() -> None:
    out = instrument(MAIL, BASE, "t1", "m1", opens=False, clicks=True, key=KEY)
    claims = [read_token(t, KEY) for t in tokens(out)]
    assert [(c.tenant, c.message_id, c.kind, c.url) for c in claims] == [
        ("t1", "m1", "click", "https://shop.example/x?a=1&b=2"),
        ("t1", "m1", "click", "http://plain.example/"),
    ]
    assert 'class="button"' in out and ">Shop</a>" in out


def test_unsubscribe_mailto_and_local_links_stay_and_the_rest_of_the_mail_is_untouched() -> None:
    out = instrument(MAIL, BASE, "t1", "m1", opens=False, clicks=True, key=KEY)
    for kept in ('href="mailto:help@example.com"', 'href="https://links.example/u/abc.def"', 'href="#top"'):
        assert kept in out
    assert out.startswith("<!doctype html>\n<html><head><title>Hi</title></head><body>\n<p>Hello &amp; welcome</p>")
    assert out.endswith('<a href="#top">Top</a><a name="anchor">no href</a>\n</body></html>')


def test_the_open_pixel_goes_before_the_end_of_the_body() -> None:
    out = instrument(MAIL, BASE, "t1", "m1", opens=True, clicks=False, key=KEY)
    (token,) = tokens(out)
    claims = read_token(token, KEY)
    assert (claims.kind, claims.url, claims.message_id) == ("open", None, "m1")
    assert re.search(r'<img src="[^"]+" width="1" height="1"[^>]*></body></html>$', out)
    assert "shop.example/x" in out  # links not rewritten when clicks are off


def test_a_fragment_without_a_body_gets_the_pixel_at_the_end() -> None:
    out = instrument("<p>Hi</p>", BASE, "t1", "m1", opens=True, clicks=True, key=KEY)
    assert out.startswith("<p>Hi</p><img ")


def test_tracking_off_leaves_the_html_as_it_is() -> None:
    assert instrument(MAIL, BASE, "t1", "m1", opens=False, clicks=False, key=KEY) == MAIL


def test_forged_altered_and_foreign_tokens_are_refused() -> None:
    token = tracking_token("t1", "m1", "click", "https://shop.example/", KEY)
    body, mac = token.split(".")
    other = tracking_token("t1", "m1", "click", "https://evil.example/", KEY).split(".")[0]
    with pytest.raises(BadToken):
        read_token(token, b"another key")
    with pytest.raises(BadToken):
        read_token(f"{other}.{mac}", KEY)
    with pytest.raises(BadToken):
        read_token(f"{body}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}", KEY)
    with pytest.raises(BadToken):  # an unsubscribe token is not a tracking token, nor the other way round
        read_token(unsubscribe_token("t1", "a@b.fi", "marketing", key=KEY), KEY)
    with pytest.raises(BadToken):
        verify_token(token, key=KEY)


def test_a_click_token_must_carry_a_web_link() -> None:
    with pytest.raises(BadToken):
        read_token(tracking_token("t1", "m1", "click", "javascript:alert(1)", KEY), KEY)


def test_an_unsubscribe_token_may_name_its_message_and_old_tokens_still_verify() -> None:
    assert (
        verify_token(unsubscribe_token("t1", "a@b.fi", "marketing", key=KEY, message_id="m9"), KEY).message_id == "m9"
    )
    assert verify_token(unsubscribe_token("t1", "a@b.fi", "marketing", key=KEY), KEY).message_id is None
