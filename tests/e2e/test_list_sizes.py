"""Every list page a phone can take: at its largest limit, with records as large as the API accepts,
a page stays well under 1 MB (API Gateway and Lambda refuse answers over 6 MB outright).

The records come from the OpenAPI documents: each list's create body, every free-text field at its
`maxLength` (at most `LONGEST`: a longer text is a body no list carries) of the character that
takes the most bytes in JSON (an emoji: 4 bytes of UTF-8, 12 as `\\u` escapes), then the list is read
at `limit=MAX_LIMIT` and its largest item, in the bytes the API sent, counted `MAX_LIMIT` times.
Records that grow after their create (an activity's memos, an order's notes) are grown too.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared.pagination import MAX_LIMIT
from tests.e2e.conftest import Api
from tests.e2e.helpers import new_tenant
from tests.e2e.openapi_ops import Operation, example, operations, resolve

# "Well under 1 MB" with every character of every text an emoji (4 bytes): realistic text (Finnish,
# 1 to 2 bytes a character) makes half of that.
PAGE_BUDGET = 768 * 1024
WIDE = "\U0001f600"  # one character (as pydantic counts a length), the most bytes in JSON
LONGEST = 8000
OPERATIONS = operations()
JSON = {"Content-Type": "application/json"}
# Bodies a list's create needs beyond its schema (a type whose kind decides the times).
BODIES: dict[str, dict[str, Any]] = {
    "/activities": {"type": "call", "start": "2030-06-01T10:00:00Z", "end": "2030-06-01T10:30:00Z"},
    "/contact-orders": {"facility_id": None},  # None: left out (a facility by name)
    "/accounts": {"business_id": "0737546-2"},  # a business id with its check digit (shared/business_ids.py)
    "/workflows": {"trigger": {"entity": "contact", "on": "created"}},  # a field only with `field_changed`
    "/scanner/mailboxes": {"address": f"sizes-{new_tenant()}@support.example.fi"},  # one mailbox an address
}
# Refusals of a generated value that names something of the tenant's (a picklist code, a record): the
# field is left out and the create tried again.
UNKNOWN_CODES = ("not_found", "unknown_code", "invalid_country", "invalid_phone", "invalid_url", "string_type")


def largest(schema: dict[str, Any], document: dict[str, Any], name: str = "", depth: int = 0) -> Any:
    """The example value of `schema` (`openapi_ops.example`) with every free-text string at its
    longest (where a long wide text fits its pattern: a name, not a code or an address)."""
    schema = resolve(schema, document)
    for key in ("anyOf", "oneOf"):
        options = [o for o in schema.get(key, []) if resolve(o, document).get("type") != "null"]
        if options and "const" not in schema:
            return largest(options[0], document, name, depth)
    if (schema.get("type") == "object" or "properties" in schema) and depth <= 4:
        properties = schema.get("properties") or {}
        body = example(schema, document, name, depth)
        for field, sub in properties.items():
            value = largest(sub, document, field, depth + 1)
            if value is not None and (field in body or isinstance(value, str)):
                body[field] = value
        return body
    text = schema.get("type") == "string" and not any(k in schema for k in ("format", "enum", "const"))
    if text and "maxLength" in schema and not name.endswith("_id") and name not in ("type", "content_type"):
        longest = WIDE * min(int(schema["maxLength"]), LONGEST)
        if re.search(schema.get("pattern", ""), longest):  # JSON Schema patterns are not anchored
            return longest
    return example(schema, document, name, depth) if name else None


def _lists() -> list[tuple[Operation, Operation]]:
    """(list, create) pairs: a GET taking `limit` and a POST answering 201 on the same path."""
    creates = {(o.service, o.path): o for o in OPERATIONS if o.method == "POST" and "201" in o.operation["responses"]}
    found = []
    for operation in OPERATIONS:
        names = {p["name"] for p in operation.operation.get("parameters", [])}
        create = creates.get((operation.service, operation.path))
        if operation.method == "GET" and "limit" in names and create is not None and not create.path_parameters:
            found.append((operation, create))
    return found


LISTS = _lists()


@pytest.fixture(scope="module")
def admin(session_api: Api) -> Api:
    return session_api.as_(new_tenant(), "admin-1", "admin")


def page_size(admin: Api, path: str) -> tuple[int, int]:
    """The largest item of the list's first page in the API's JSON bytes, and that times MAX_LIMIT."""
    page = admin.get(path, params={"limit": MAX_LIMIT})
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert items, path
    escaped = b"\\ud83d" in page.content  # the API writes non-ASCII as \\u escapes
    item = max(len(json.dumps(i, separators=(",", ":"), ensure_ascii=escaped).encode()) for i in items)
    return item, item * MAX_LIMIT + 64


def create_largest(admin: Api, path: str, body: dict[str, Any]) -> Any:
    """POST the body; a field refused for naming something the tenant lacks is left out, and again."""
    for _ in range(8):
        created = admin.post(path, data=json.dumps(body, ensure_ascii=False).encode(), headers=JSON)
        if created.status_code != 422:
            break
        refused = {e["field"].split(".")[0] for e in created.json().get("errors", []) if e["code"] in UNKNOWN_CODES}
        if not refused & set(body):
            break
        body = {name: value for name, value in body.items() if name not in refused}
    return created


def post(admin: Api, path: str, body: dict[str, Any]) -> Any:
    """POST a body as UTF-8 (4 bytes an emoji, within the API's 256 KB), the answer's JSON when 201."""
    data = json.dumps(body, ensure_ascii=False).encode()
    created = admin.post(path, data=data, headers={"Content-Type": "application/json"})
    assert created.status_code == 201, created.text[:500]
    return created.json()


@pytest.mark.parametrize(("listing", "create"), LISTS, ids=[str(pair[0]) for pair in LISTS])
def test_a_full_page_of_the_largest_records_is_well_under_1_mb(
    admin: Api, listing: Operation, create: Operation
) -> None:
    assert create.json_body is not None
    body = {**largest(create.json_body, create.document), **BODIES.get(create.path, {})}
    body = {name: value for name, value in body.items() if value is not None}
    created = create_largest(admin, create.path, body)
    if created.status_code != 201:
        pytest.skip(f"{create}: the generated body is refused ({created.status_code}): {created.text[:300]}")
    item, page = page_size(admin, listing.path)
    print(f"{listing}: record {len(created.content)} B, list item {item} B, page of {MAX_LIMIT} {page} B")
    assert page < PAGE_BUDGET, f"{listing}: {MAX_LIMIT} items of {item} B"


def test_the_lists_whose_records_can_be_large_are_covered() -> None:
    covered = {str(listing) for listing, _ in LISTS}
    assert {"GET /email/templates", "GET /activities", "GET /contacts", "GET /contact-orders"} <= covered


def _schema(path: str, method: str, status: str = "201") -> dict[str, Any]:
    operation = next(o for o in OPERATIONS if o.path == path and o.method == method)
    return operation.json_body or {}


def test_an_activity_with_many_long_memos_lists_small(admin: Api) -> None:
    document = next(o for o in OPERATIONS if o.path == "/activities").document
    body = {**largest(_schema("/activities", "POST"), document), **BODIES["/activities"]}
    created = create_largest(admin, "/activities", body)
    assert created.status_code == 201, created.text
    activity = created.json()
    memo = largest(_schema("/activities/{activity_id}/memos", "POST"), document)
    for _ in range(4):  # 4 x 32 KB: as much memo text as an activity takes (MEMO_BYTES), in its one item
        post(admin, f"/activities/{activity['id']}/memos", memo)
    item, page = page_size(admin, "/activities")
    assert page < PAGE_BUDGET, f"{MAX_LIMIT} activities of {item} B"
    full = admin.get(f"/activities/{activity['id']}").json()
    assert len(full["memos"]) == 4  # the record itself keeps them


def test_a_contact_order_with_long_notes_lists_small(admin: Api) -> None:
    document = next(o for o in OPERATIONS if o.path == "/contact-orders").document
    account = admin.post("/accounts", json={"name": "Order Oy"}).json()
    body = {**largest(_schema("/contact-orders", "POST"), document), "account_id": account["id"]}
    body.pop("facility_id", None)
    created = create_largest(admin, "/contact-orders", body)
    assert created.status_code == 201, created.text
    order = created.json()
    note = largest(_schema("/contact-orders/{order_id}/notes", "POST"), document)
    for _ in range(5):
        created = admin.post(
            f"/contact-orders/{order['id']}/notes", data=json.dumps(note, ensure_ascii=False).encode(), headers=JSON
        )
        assert created.status_code == 201, created.text
    whole = admin.get(created.headers["Location"])  # a note's own URL has it whole
    assert whole.status_code == 200 and whole.json()["text"] == note["text"]
    item, page = page_size(admin, "/contact-orders")
    assert page < PAGE_BUDGET, f"{MAX_LIMIT} orders of {item} B"
    item, page = page_size(admin, f"/contact-orders/{order['id']}/notes")
    assert page < PAGE_BUDGET, f"{MAX_LIMIT} notes of {item} B"
    listed = admin.get(f"/contact-orders/{order['id']}/notes").json()["items"][-1]
    assert note["text"].startswith(listed["excerpt"]) and listed["length"] == len(note["text"])


def test_the_widest_character_is_one_character_of_12_escaped_or_4_utf8_bytes() -> None:
    assert len(WIDE) == 1 and len(json.dumps(WIDE)) == 14 and len(WIDE.encode()) == 4
