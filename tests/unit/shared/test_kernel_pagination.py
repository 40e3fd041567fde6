import base64
import json
from typing import Any

import pytest
from pydantic import BaseModel

from shared.errors import BadRequest
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.service import READ_BUDGET, Caller, partition_page

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


def test_a_page_names_deletions_only_when_asked_for_changes() -> None:
    """`deleted` is in a sync answer (`updated_since`), even empty, and in no other list's answer."""
    from shared.pagination import Deleted

    assert "deleted" not in Page[int](items=[1]).model_dump_json()
    gone = Deleted(id="01J", deleted=True, deleted_at="2026-12-05T08:00:00Z")  # type: ignore[arg-type]
    assert Page[int](items=[], deleted=[gone]).model_dump(mode="json")["deleted"] == [
        {"id": "01J", "deleted": True, "deleted_at": "2026-12-05T08:00:00Z"}
    ]
    assert Page[int](items=[], deleted=[]).model_dump()["deleted"] == []


# ----------------------------------------------------------------------------- filtered partition pages


class _Row:
    def __init__(self, sk: str, keep: bool = True) -> None:
        self.gsi1sk, self.keep, self.record_id, self.data, self.version = sk, keep, sk, {"n": sk}, 1


class _Index:
    """An index partition of rows in sort-key order, read as DynamoDB pages a query (a between range,
    a page size, the direction) and counting the items read."""

    def __init__(self, rows: list[_Row]) -> None:
        self.rows, self.read = rows, 0

    def query(self, _hash: str, between: tuple[str, str], **kwargs: Any) -> Any:
        low, high = between
        rows = [r for r in self.rows if low <= r.gsi1sk <= high]
        rows = rows if kwargs["scan_index_forward"] else rows[::-1]
        size, index = kwargs["page_size"], self

        class Pages:
            last_evaluated_key: dict[str, Any] | None = None

            def __iter__(self) -> Any:
                for start in range(0, len(rows), size):
                    chunk = rows[start : start + size]
                    index.read += len(chunk)
                    more = start + size < len(rows)
                    Pages.last_evaluated_key = {"gsi1sk": {"S": chunk[-1].gsi1sk}} if more else None
                    yield {"Items": chunk, "ScannedCount": len(chunk)}

        return type("Result", (), {"page_iter": Pages()})()


class _SortKey:
    attr_name = "gsi1sk"

    @staticmethod
    def between(low: str, high: str) -> tuple[str, str]:
        return (low, high)


class _Item(BaseModel):
    id: str
    n: str


def _caller() -> Any:
    store = type("Store", (), {"model": type("Model", (), {"from_raw_data": staticmethod(lambda row: row)})})()
    auth = type("Auth", (), {"tenant_id": "t1"})()
    return Caller(auth=auth, store=store, defaults=None, signing_key=KEY)  # type: ignore[arg-type]


def _walk(index: _Index, limit: int, **kwargs: Any) -> list[list[str]]:
    pages, cursor = [], None
    for _ in range(100):
        page = partition_page(_caller(), "s", cursor, limit, index, "h", _SortKey, _Item, True, **kwargs)
        pages.append([i.id for i in page.items])
        cursor = page.next_cursor
        if not cursor:
            return pages
    raise AssertionError("the cursor never ended")


def test_a_filtered_page_reads_within_its_budget_and_goes_on_by_cursor() -> None:
    rows = [_Row(f"{n:05d}", keep=n % 400 == 0) for n in range(1200)]  # 3 kept of 1,200
    index = _Index(rows)
    pages = _walk(index, 10, keep=lambda batch: [r for r in batch if r.keep])
    assert [i for page in pages for i in page] == ["00800", "00400", "00000"]  # newest first, all found
    assert len(pages) > 1 and index.read <= len(rows) + len(pages)  # short pages with a cursor, no re-reading
    assert max(len(p) for p in pages) <= 10
    first = _walk(_Index(rows), 10, keep=lambda batch: [])  # nothing kept: pages of at most READ_BUDGET reads
    assert all(page == [] for page in first) and len(first) == len(rows) // READ_BUDGET + 1


def test_the_range_includes_lower_and_excludes_upper() -> None:
    rows = [_Row(sk) for sk in ("2026-01-01#a", "2026-01-02#b", "2026-01-03#c")]
    listed = _walk(_Index(rows), 1, lower="2026-01-02", upper="2026-01-03")
    assert [i for page in listed for i in page] == ["2026-01-02#b"]
    assert _walk(_Index(rows), 5, lower="2026-01-04") == [[]]
