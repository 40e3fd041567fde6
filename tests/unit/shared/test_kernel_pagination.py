import base64
import json

import pytest

from shared.errors import BadRequest
from shared.pagination import Page, decode_cursor, encode_cursor

pytestmark = pytest.mark.disable_socket

KEY = b"test-signing-key"
SCOPE = "tenant-1:accounts"
POSITION = {"pk": "T#tenant-1#ACCOUNT#01J", "sk": "ACCOUNT", "n": 3}


def assert_rejected(cursor: str, scope: str = SCOPE, key: bytes = KEY) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_cursor(cursor, scope, key)
    assert [e.field for e in caught.value.errors] == ["query.cursor"]
    assert caught.value.status == 400


def test_round_trip() -> None:
    cursor = encode_cursor(POSITION, SCOPE, KEY)
    assert decode_cursor(cursor, SCOPE, KEY) == POSITION


def test_cursor_is_url_safe_and_unpadded() -> None:
    cursor = encode_cursor({"text": "??>>~~ äö"}, SCOPE, KEY)
    assert "=" not in cursor
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_tampered_payload_is_rejected() -> None:
    _body, mac = encode_cursor(POSITION, SCOPE, KEY).split(".")
    forged = base64.urlsafe_b64encode(json.dumps({**POSITION, "n": 4}).encode()).rstrip(b"=").decode()
    assert_rejected(f"{forged}.{mac}")


def test_tampered_mac_is_rejected() -> None:
    body, mac = encode_cursor(POSITION, SCOPE, KEY).split(".")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    assert_rejected(f"{body}.{flipped}")


@pytest.mark.parametrize("scope", ["tenant-2:accounts", "tenant-1:contacts", ""])
def test_cursor_from_another_list_or_tenant_is_rejected(scope: str) -> None:
    assert_rejected(encode_cursor(POSITION, SCOPE, KEY), scope=scope)


def test_cursor_signed_with_another_key_is_rejected() -> None:
    assert_rejected(encode_cursor(POSITION, SCOPE, b"other-key"))


@pytest.mark.parametrize("cursor", ["", "nodot", "!!!.???", "a.b.c", "é.é", "abc.é", "%%%%.AAAA"])
def test_garbage_is_rejected(cursor: str) -> None:
    assert_rejected(cursor)


def test_signed_non_object_is_rejected() -> None:
    from shared import pagination

    for payload in (b"[1, 2]", b"\xff\xfe", b"not json"):
        cursor = f"{pagination._b64(payload)}.{pagination._mac(KEY, SCOPE, payload)}"
        assert_rejected(cursor)


def test_page_model() -> None:
    page = Page[int](items=[1, 2])
    assert page.model_dump() == {"items": [1, 2], "next_cursor": None}
