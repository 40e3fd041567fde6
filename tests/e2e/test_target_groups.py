"""Target groups: conditions, hand-added members, preview, and audience resolution for other services."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from infra.runtime import LocalRuntime
from services.directory.domain.models import Contact, Owner
from services.directory.store import Placement, new_record
from shared.contracts.audience import PAGE_BYTES, PAGE_SIZE
from shared.ids import new_id
from tests.e2e.helpers import assert_problem, created, envelopes, new_tenant, put_envelope, settle

if TYPE_CHECKING:
    from conftest import Api


@pytest.fixture(scope="module")
def world(session_api: Api) -> dict[str, Any]:
    """One tenant with classes, two accounts and contacts in and out of every condition below."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    ct1 = created(admin.post("/classification-types", json={"name": "Mailing list"}))["id"]
    ct2 = created(admin.post("/classification-types", json={"name": "Campaigns"}))["id"]
    class1 = created(admin.post("/classes", json={"name": "Spring 2010", "classification_type_id": ct1}))["id"]
    class2 = created(admin.post("/classes", json={"name": "Autumn fair", "classification_type_id": ct2}))["id"]
    oulu = created(admin.post("/accounts", json={"name": "Oulu Oy", "city": "Oulu", "classes": [class1]}))["id"]
    hki = created(admin.post("/accounts", json={"name": "Helsinki Ab", "city": "Helsinki"}))["id"]

    def contact(**fields: Any) -> str:
        return created(admin.post("/contacts", json=fields))["id"]

    ids = {
        "anna": contact(
            first_name="Anna",
            email="anna@oulu.example.fi",
            account_id=oulu,
            region="north",
            consent_date="2024-01-10",
            groups=["newsletter"],
        ),
        "bert": contact(
            first_name="Bert",
            email="bert@hki.example.com",
            account_id=hki,
            region="south",
            consent_date="2024-06-01",
            department="Sales",
            classes=[class2],
        ),
        "cara": contact(first_name="Cara", email="cara@mail.test", region="east", classes=[class1]),
        "dan": contact(first_name="Dan"),
        # Never members: passive, and erased (both would match most conditions).
        "passive": contact(
            first_name="Pia",
            email="pia@oulu.example.fi",
            account_id=oulu,
            region="north",
            consent_date="2024-01-01",
            active=False,
        ),
        "erased": contact(
            first_name="Eero", email="eero@oulu.example.fi", account_id=oulu, region="north", consent_date="2024-01-01"
        ),
    }
    erased = admin.post(f"/contacts/{ids['erased']}/erase")
    assert erased.status_code == 200, erased.text
    return {
        "tenant": tenant,
        "admin": admin,
        "ids": ids,
        "class1": class1,
        "class2": class2,
        "ct1": ct1,
        "ct2": ct2,
        "oulu": oulu,
    }


def _preview(admin: Api, group_id: str) -> tuple[int, set[str]]:
    response = admin.get(f"/target-groups/{group_id}/preview")
    assert response.status_code == 200, response.text
    body = response.json()
    return body["count"], {c["id"] for c in body["sample"]}


CASES: dict[str, tuple[list[dict[str, Any]], str, set[str]]] = {
    "equals account.city (case-insensitive)": (
        [{"field": "account.city", "op": "equals", "value": "oulu"}],
        "all",
        {"anna"},
    ),
    "in": ([{"field": "region", "op": "in", "values": ["north", "east"]}], "all", {"anna", "cara"}),
    "contains text": ([{"field": "email", "op": "contains", "value": "EXAMPLE"}], "all", {"anna", "bert"}),
    "contains list": ([{"field": "groups", "op": "contains", "value": "newsletter"}], "all", {"anna"}),
    "is_empty": ([{"field": "department", "op": "is_empty"}], "all", {"anna", "cara", "dan"}),
    "date_before": ([{"field": "consent_date", "op": "date_before", "value": "2024-03-01"}], "all", {"anna"}),
    "date_after": ([{"field": "consent_date", "op": "date_after", "value": "2024-03-01"}], "all", {"bert"}),
    "in_class via the contact or its account": ([{"op": "in_class", "value": "@class1"}], "all", {"anna", "cara"}),
    "in_classification_type": ([{"op": "in_classification_type", "value": "@ct2"}], "all", {"bert"}),
    "all of two": (
        [
            {"field": "region", "op": "in", "values": ["north", "east", "south"]},
            {"field": "account.city", "op": "is_empty"},
        ],
        "all",
        {"cara"},
    ),
    "any of two": (
        [
            {"field": "account.city", "op": "equals", "value": "Helsinki"},
            {"field": "email", "op": "is_empty"},
        ],
        "any",
        {"bert", "dan"},
    ),
    "not_equals": ([{"field": "region", "op": "not_equals", "value": "north"}], "all", {"bert", "cara", "dan"}),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_conditions_choose_members(world: dict[str, Any], case: str) -> None:
    conditions, match, expected = CASES[case]
    conditions = [
        {**c, "value": world[c["value"][1:]]} if str(c.get("value", "")).startswith("@") else c for c in conditions
    ]
    admin = world["admin"]
    group = created(admin.post("/target-groups", json={"name": case, "conditions": conditions, "match": match}))
    assert group["type"] == "dynamic"
    count, sample = _preview(admin, group["id"])
    assert sample == {world["ids"][name] for name in expected}
    assert count == len(expected)


def test_hand_added_members_but_never_passive_or_erased(world: dict[str, Any]) -> None:
    admin, ids = world["admin"], world["ids"]
    static = created(
        admin.post(
            "/target-groups",
            json={"name": "By hand", "contact_ids": [ids["dan"], ids["passive"], ids["erased"]]},
        )
    )
    assert static["type"] == "static"
    assert _preview(admin, static["id"]) == (1, {ids["dan"]})

    mixed = created(
        admin.post(
            "/target-groups",
            json={"name": "Mixed", "conditions": [{"field": "region", "op": "equals", "value": "south"}]},
        )
    )
    changed = admin.post(f"/target-groups/{mixed['id']}/members", json={"add": [ids["cara"], ids["bert"]]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["type"] == "mixed"
    assert changed.json()["static_member_count"] == 2
    # Bert is both hand-added and matching: counted once.
    assert _preview(admin, mixed["id"]) == (2, {ids["bert"], ids["cara"]})

    removed = admin.post(f"/target-groups/{mixed['id']}/members", json={"remove": [ids["cara"], ids["bert"]]})
    assert removed.json()["type"] == "dynamic"
    assert _preview(admin, mixed["id"]) == (1, {ids["bert"]})

    unknown = admin.post(f"/target-groups/{mixed['id']}/members", json={"add": ["nosuchcontact"]})
    assert_problem(unknown, 422, "add.0")


def test_condition_validation(world: dict[str, Any]) -> None:
    admin = world["admin"]
    bad_field = admin.post(
        "/target-groups", json={"name": "x", "conditions": [{"field": "password", "op": "equals", "value": "a"}]}
    )
    assert_problem(bad_field, 422, "conditions.0.field")
    bad_op = admin.post(
        "/target-groups", json={"name": "x", "conditions": [{"field": "consent_date", "op": "contains", "value": "a"}]}
    )
    assert_problem(bad_op, 422, "conditions.0.field")
    unknown_class = admin.post("/target-groups", json={"name": "x", "conditions": [{"op": "in_class", "value": "zz"}]})
    assert_problem(unknown_class, 422, "conditions.0.value")


def _request(tenant: str, group_id: str, fields: list[str], envelope_id: str | None = None) -> dict[str, Any]:
    event_id = envelope_id or new_id()
    return {
        "id": event_id,
        "type": "audience.requested",
        "version": 1,
        "tenant_id": tenant,
        "occurred_at": datetime.now(UTC).isoformat(),
        "actor": {"type": "service", "id": "email"},
        "correlation_id": "corr-" + event_id,
        "data": {
            "request_id": "send-" + uuid.uuid4().hex[:8],
            "requester": "email",
            "target_group_id": group_id,
            "fields": fields,
        },
    }


def _pages(stack: LocalRuntime, tenant: str, request_id: str) -> list[dict[str, Any]]:
    return [e for e in envelopes(stack, tenant, "audience.page") if e["data"]["request_id"] == request_id]


def test_audience_resolution_once_per_request(stack: LocalRuntime, world: dict[str, Any]) -> None:
    admin, ids, tenant = world["admin"], world["ids"], world["tenant"]
    group = created(
        admin.post(
            "/target-groups",
            json={
                "name": "North and east, plus Dan",
                "conditions": [{"field": "region", "op": "in", "values": ["north", "east"]}],
                "contact_ids": [ids["dan"], ids["passive"]],
            },
        )
    )
    request = _request(tenant, group["id"], ["email", "first_name", "password"])
    put_envelope(stack, request)
    settle(stack, lambda: _pages(stack, tenant, request["data"]["request_id"]))
    put_envelope(stack, request)  # the same envelope delivered again
    stack.drain()
    stack.drain()

    pages = _pages(stack, tenant, request["data"]["request_id"])
    assert len(pages) == 1, pages
    page = pages[0]
    assert page["actor"] == {"type": "service", "id": "directory"}
    assert page["correlation_id"] == request["correlation_id"]
    data = page["data"]
    assert data["page"] == 1 and data["last"] is True
    assert data["total_members"] == 3
    assert data["error"] is None
    assert data["requester"] == "email" and data["target_group_id"] == group["id"]
    members = {m["contact_id"]: m for m in data["members"]}
    assert set(members) == {ids["anna"], ids["cara"], ids["dan"]}
    anna = members[ids["anna"]]
    assert anna["fields"] == {"email": "anna@oulu.example.fi", "first_name": "Anna"}
    assert anna["account_id"] == world["oulu"]
    assert anna["owner_id"] == "admin-1"
    assert members[ids["dan"]]["fields"] == {"email": None, "first_name": "Dan"}


def test_audience_of_an_unknown_group_is_one_page_with_an_error(stack: LocalRuntime, world: dict[str, Any]) -> None:
    request = _request(world["tenant"], "nosuchgroup", ["email"])
    put_envelope(stack, request)
    pages = settle(stack, lambda: _pages(stack, world["tenant"], request["data"]["request_id"]))
    assert len(pages) == 1
    data = pages[0]["data"]
    assert data["last"] is True and data["page"] == 1
    assert data["members"] == [] and data["total_members"] == 0
    assert "nosuchgroup" in data["error"]


def test_audience_of_another_tenants_group_is_not_resolved(stack: LocalRuntime, world: dict[str, Any]) -> None:
    group = created(world["admin"].post("/target-groups", json={"name": "Mine", "contact_ids": [world["ids"]["dan"]]}))
    other = new_tenant()
    request = _request(other, group["id"], ["email"])
    put_envelope(stack, request)
    pages = settle(stack, lambda: _pages(stack, other, request["data"]["request_id"]))
    assert len(pages) == 1
    assert pages[0]["data"]["members"] == [] and pages[0]["data"]["error"]


def _bulk_contacts(stack: LocalRuntime, tenant: str, count: int, owner: str) -> list[str]:
    """Contacts written straight into the directory table, as the directory's store writes them; their ids."""
    assert stack.stack is not None
    table = next(t.name for t in stack.stack.tables.values() if t.name.endswith("-directory"))
    now = datetime.now(UTC)
    items = []
    for index in range(count):
        contact_id = new_id()
        contact = Contact(
            id=contact_id,
            number=f"BULK-{index}",
            first_name=f"Bulk{index}",
            email=f"bulk{index}@example.fi",
            region="west",
            owner=Owner(type="user", id=owner),
            created_at=now,
            updated_at=now,
        )
        data = contact.model_dump(mode="json", exclude={"version"})
        record = new_record(tenant, "contact", contact_id, data, Placement(owner_id=owner))
        record.version = 1
        items.append({"PutRequest": {"Item": record.serialize()}})
    dynamodb = stack.client("dynamodb")
    for start in range(0, len(items), 25):
        unprocessed: dict[str, Any] = {table: items[start : start + 25]}
        while unprocessed:
            unprocessed = dynamodb.batch_write_item(RequestItems=unprocessed).get("UnprocessedItems") or {}
    return [item["PutRequest"]["Item"]["pk"]["S"].rsplit("#", 1)[-1] for item in items]


def test_a_group_made_with_many_hand_added_members_holds_them_all(stack: LocalRuntime, session_api: Api) -> None:
    """120 members by hand: more than one transaction's worth (each member is its row and a check
    that the contact exists), all added."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    ids = _bulk_contacts(stack, tenant, 120, "admin-1")
    group = created(admin.post("/target-groups", json={"name": "By hand, many", "contact_ids": ids}))
    assert admin.get(f"/target-groups/{group['id']}/preview").json()["count"] == 120


def test_audience_pages_hold_at_most_500_members_and_64_kb(stack: LocalRuntime, session_api: Api) -> None:
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    _bulk_contacts(stack, tenant, 503, "admin-1")
    group = created(
        admin.post(
            "/target-groups",
            json={"name": "West", "conditions": [{"field": "region", "op": "equals", "value": "west"}]},
        )
    )
    assert admin.get(f"/target-groups/{group['id']}/preview").json()["count"] == 503
    request = _request(tenant, group["id"], ["email"])
    put_envelope(stack, request)
    found = settle(
        stack, lambda: [p for p in _pages(stack, tenant, request["data"]["request_id"]) if p["data"]["last"]]
    )
    assert found, "no last page"
    pages = sorted(_pages(stack, tenant, request["data"]["request_id"]), key=lambda p: p["data"]["page"])
    assert [p["data"]["page"] for p in pages] == list(range(1, len(pages) + 1))
    assert [p["data"]["last"] for p in pages] == [False] * (len(pages) - 1) + [True]
    assert len(pages) >= 2
    assert all(len(p["data"]["members"]) <= PAGE_SIZE for p in pages)
    as_sent = [json.dumps(p["data"], separators=(",", ":"), ensure_ascii=False).encode() for p in pages]
    assert all(len(data) <= PAGE_BYTES for data in as_sent)
    assert pages[-1]["data"]["total_members"] == 503
    members = [m["contact_id"] for p in pages for m in p["data"]["members"]]
    assert len(set(members)) == 503
    assert len({p["id"] for p in pages}) == len(pages)
