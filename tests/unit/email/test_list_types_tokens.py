"""Signed unsubscribe links: they verify, they expire, and any change to them is refused.

The claims-format tokens here are the legacy links of mail sent before opaque links (honoured until
LEGACY_LINKS_UNTIL); tests/unit/email/test_opaque_links.py tests the opaque ones."""

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest

from services.email.domain.list_types import masked, normalised
from services.email.domain.tokens import LinkRef, unseal
from services.email.unsubscribe import (
    BadToken,
    list_unsubscribe_headers,
    unsubscribe_url,
    verify_token,
)
from services.email.unsubscribe import legacy_unsubscribe_token as unsubscribe_token

KEY = b"test-signing-key"
LATER = datetime.now(UTC) + timedelta(days=30)


def token(**kwargs: object) -> str:
    args: dict[str, object] = {"tenant": "t1", "address": " Ann@Example.COM ", "list_type_id": "marketing"}
    args.update(kwargs)
    return unsubscribe_token(contact_id="c1", expires=LATER, key=KEY, **args)  # type: ignore[arg-type]


def test_a_token_verifies_to_its_claims_with_the_address_normalised() -> None:
    claims = verify_token(token(), key=KEY)
    assert (claims.tenant, claims.address, claims.list_type_id, claims.contact_id) == (
        "t1",
        "ann@example.com",
        "marketing",
        "c1",
    )
    assert claims.expires == int(LATER.timestamp())


def test_a_token_without_a_contact_verifies() -> None:
    value = unsubscribe_token("t1", "a@b.fi", "marketing", key=KEY)
    claims = verify_token(value, key=KEY)
    assert claims.contact_id is None
    assert claims.expires > (datetime.now(UTC) + timedelta(days=300)).timestamp()


def test_an_expired_token_is_refused() -> None:
    value = unsubscribe_token("t1", "a@b.fi", "m", expires=LATER, key=KEY)
    with pytest.raises(BadToken):
        verify_token(value, key=KEY, now=LATER + timedelta(seconds=1))
    assert verify_token(value, key=KEY, now=LATER - timedelta(seconds=1)).list_type_id == "m"


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(BadToken):
        verify_token(token(), key=b"another key")


@pytest.mark.parametrize("part", [0, 1])
def test_any_altered_character_is_refused(part: int) -> None:
    body, mac = token().split(".")
    pieces = [body, mac]
    for index in range(0, len(pieces[part]), 7):
        altered = list(pieces)
        text = altered[part]
        altered[part] = text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]
        with pytest.raises(BadToken):
            verify_token(".".join(altered), key=KEY)


def test_claims_swapped_from_another_token_are_refused() -> None:
    mine = token()
    theirs = token(tenant="t2", list_type_id="service-notices")
    with pytest.raises(BadToken):
        verify_token(theirs.split(".")[0] + "." + mine.split(".")[1], key=KEY)


@pytest.mark.parametrize("value", ["", "nodot", ".", "abc.", ".abc", "!!!.???"])
def test_malformed_tokens_are_refused(value: str) -> None:
    with pytest.raises(BadToken):
        verify_token(value, key=KEY)


def test_the_url_and_the_rfc_8058_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.email import unsubscribe

    unsubscribe.load.cache_clear()
    monkeypatch.setenv("UNSUBSCRIBE_MAILBOX", "unsubscribe@mail.example.com")
    url = unsubscribe_url("t1", "m1", keys=[KEY], public_base_url="https://mail.example.com/")
    assert url.startswith("https://mail.example.com/u/")
    assert unseal(url.rsplit("/", 1)[1], [KEY]) == LinkRef("unsubscribe", "t1", "m1")
    headers = list_unsubscribe_headers("t1", "m1", keys=[KEY], public_base_url="https://x.example")
    unsubscribe.load.cache_clear()
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link, mailto = headers["List-Unsubscribe"].split(", ")
    assert link.startswith("<https://x.example/u/") and link.endswith(">")
    assert mailto.startswith("<mailto:unsubscribe@mail.example.com?subject=") and mailto.endswith(">")
    assert unseal(link[1:-1].rsplit("/", 1)[1], [KEY]).message_id == "m1"
    assert unseal(unquote(mailto[1:-1]).rsplit(" ", 1)[1], [KEY]).tenant == "t1"


@pytest.mark.parametrize("mailbox", ["", "  "])
def test_without_an_unsubscribe_mailbox_the_header_holds_the_one_click_link_alone(
    monkeypatch: pytest.MonkeyPatch, mailbox: str
) -> None:
    from services.email import unsubscribe

    unsubscribe.load.cache_clear()
    monkeypatch.setenv("UNSUBSCRIBE_MAILBOX", mailbox)
    headers = list_unsubscribe_headers("t1", "m1", keys=[KEY], public_base_url="https://x.example")
    unsubscribe.load.cache_clear()
    value = headers["List-Unsubscribe"]
    assert "mailto:" not in value and "," not in value
    assert value.startswith("<https://x.example/u/") and value.endswith(">")
    assert unseal(value[1:-1].rsplit("/", 1)[1], [KEY]).tenant == "t1"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # RFC 8058 needs the HTTPS link only


def test_the_default_base_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.email import unsubscribe

    unsubscribe.load.cache_clear()
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://links.example.org")
    try:
        assert unsubscribe_url("t1", "m1", keys=[KEY]).startswith("https://links.example.org/u/")
    finally:
        unsubscribe.load.cache_clear()
    monkeypatch.delenv("PUBLIC_BASE_URL")
    assert unsubscribe_url("t1", "m1", keys=[KEY]).startswith(unsubscribe.DEFAULT_BASE_URL + "/u/")


def test_addresses_are_normalised_and_masked() -> None:
    assert normalised("  Ann.Smith@Example.Com ") == "ann.smith@example.com"
    assert masked("ann.smith@example.com") == "an***@example.com"
    assert masked("bo@example.com") == "b***@example.com"
    assert "ann" not in masked("ann@example.com").split("@")[0]
