"""Finding duplicate contacts through `kontakt dev` (issue 24, item 2).

One tenant (module-scoped): an admin's and a plain user's contacts, three groups of duplicates
among them and look-alikes that are not (the same name and nothing else). Two tests:
- a scan to completion through the API (202, its progress, its events), the groups listed with the
  cursor, a plain user seeing only what they may read (a group of theirs without the admin's
  record; the admin's groups not at all), admins only scan, a dismissal that survives the next scan
  although the group changed, 404s for unknown and other tenants' ids;
- a scan killed after its first transaction of groups (the scan function's process dies, the queue
  delivers the message again in a second): the second attempt completes with every group once.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.faults import Fault
from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, created, envelopes, new_tenant, ok, poll_until, quick_redelivery, walk

SCANS_QUEUE = "kontakt-dev-directory-scans"
ADMINS = [
    (
        "a1",
        {
            "first_name": "Matti",
            "last_name": "Korhonen",
            "email": "matti.korhonen@example.fi",
            "mobile": "+358401234567",
        },
    ),
    (
        "a2",
        {"first_name": "Matti", "last_name": "Korhonen", "email": " MATTI.Korhonen@example.fi", "phone": "040 1234567"},
    ),
    ("b3", {"first_name": "Liisa", "last_name": "Virtanen", "email": "liisa.virtanen@example.fi"}),
    ("d1", {"first_name": "Anna", "last_name": "Mäkinen", "email": "anna.makinen@example.fi"}),
    ("d2", {"first_name": "Anna", "last_name": "Makinen", "email": "anna.makinen@example.fi"}),
    ("c1", {"first_name": "Pekka", "last_name": "Nieminen", "email": "pekka@one.example.fi"}),  # the name only:
    ("c2", {"first_name": "Pekka", "last_name": "Nieminen", "email": "pekka@two.example.fi"}),  # not duplicates
    ("e1", {"first_name": "Erkki", "last_name": "Esimerkki", "email": "erkki@example.fi"}),
]
USERS = [
    (
        "b1",
        {"first_name": "Liisa", "last_name": "Virtanen", "email": "liisa.virtanen@example.fi", "mobile": "0501112223"},
    ),
    (
        "b2",
        {"first_name": "Lisa", "last_name": "Virtanen", "email": "Liisa.Virtanen@example.fi", "mobile": "050 111 2223"},
    ),
]


@pytest.fixture(scope="module")
def office(session_api: Api) -> dict[str, Any]:
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    user = session_api.as_(tenant, "user-1", "user")
    ids = {key: created(admin.post("/contacts", json=body))["id"] for key, body in ADMINS}
    ids |= {key: created(user.post("/contacts", json=body))["id"] for key, body in USERS}
    return {"tenant": tenant, "admin": admin, "user": user, "ids": ids}


def scan(admin: Api, entity: str = "contacts") -> dict[str, Any]:
    """`POST /duplicates/scans`: 202 with the queued scan and its Location; the scan once it completed."""
    answer = admin.post("/duplicates/scans", json={"entity": entity})
    assert answer.status_code == 202, answer.text
    queued = answer.json()
    assert (queued["state"], queued["entity"], queued["records_read"]) == ("queued", entity, 0)
    assert answer.headers["Location"] == f"/duplicates/scans/{queued['id']}"
    done = poll_until(
        lambda: (s := ok(admin.get(answer.headers["Location"])))["state"] in ("completed", "failed") and s
    )
    assert done and done["state"] == "completed", done
    return done


def groups(api: Api, ids: dict[str, str]) -> list[tuple[set[str], list[str]]]:
    """The listed groups by their records' keys, with their fields, walked a group a page."""
    names = {v: k for k, v in ids.items()}
    listed = walk(api, "/duplicates", limit=1, entity="contacts")
    for group in listed:
        assert 0 < group["score"] <= 1 and group["entity"] == "contacts"
    return [({names[r] for r in g["records"]}, g["fields"]) for g in listed]


def test_a_scan_finds_the_groups_each_user_sees_what_they_may_read_and_a_dismissal_holds(
    office: dict[str, Any], stack: LocalRuntime, session_api: Api
) -> None:
    admin, user, ids = office["admin"], office["user"], office["ids"]
    assert ok(admin.get("/duplicates", params={"entity": "contacts"})) == {"items": [], "next_cursor": None}
    assert_problem(user.post("/duplicates/scans", json={"entity": "contacts"}), 403)
    assert_problem(admin.post("/duplicates/scans", json={"entity": "people"}), 422, "entity")

    first = scan(admin)
    assert (first["records_read"], first["groups_found"], first["attempt"]) == (10, 3, 1)
    assert first["started_at"] and first["finished_at"] and first["requested_by"] == "admin-1"
    listed = groups(admin, ids)
    assert [members for members, _ in listed] == [{"b1", "b2", "b3"}, {"a1", "a2"}, {"d1", "d2"}]  # largest first
    assert listed[1][1] == ["name", "email", "phones"]
    # The user reads b1 and b2 (theirs), not the admin's b3, a* or d*: their B group, without b3.
    assert groups(user, ids) == [({"b1", "b2"}, ["name", "email", "phones"])]
    a_group = next(g for g in walk(admin, "/duplicates", limit=50, entity="contacts") if ids["a1"] in g["records"])
    assert_problem(user.post(f"/duplicates/{a_group['id']}/dismiss"), 404)  # a group they cannot see

    d_group = next(g for g in walk(admin, "/duplicates", limit=50, entity="contacts") if ids["d1"] in g["records"])
    dismissal = ok(admin.post(f"/duplicates/{d_group['id']}/dismiss"))
    assert (dismissal["records"], dismissal["pairs"]) == (sorted([ids["d1"], ids["d2"]]), 1)
    assert ok(admin.post(f"/duplicates/{d_group['id']}/dismiss")) == dismissal  # again: nothing changes
    assert [m for m, _ in groups(admin, ids)] == [{"b1", "b2", "b3"}, {"a1", "a2"}]

    # The dismissed pair stays apart after the group changed: d2 edited, still a match by the rules.
    ok(admin.patch(f"/contacts/{ids['d2']}", json={"phone": "+358 9 555 1234", "department": "Myynti"}))
    second = scan(admin)
    assert second["groups_found"] == 2
    assert [m for m, _ in groups(admin, ids)] == [{"b1", "b2", "b3"}, {"a1", "a2"}]

    types = [e["type"] for e in envelopes(stack, office["tenant"]) if e["type"].startswith("duplicate")]
    assert types.count("duplicate_scan.requested") == 2 and types.count("duplicate_scan.completed") == 2
    assert types.count("duplicate_group.dismissed") == 1

    other = session_api.as_(new_tenant(), "admin-9", "admin")
    for api in (other, admin):
        assert_problem(api.get("/duplicates/scans/01JUNKNOWNSCAN000000000000"), 404)
        assert_problem(api.post("/duplicates/01JUNKNOWNGROUP00000000000/dismiss"), 404)
    assert_problem(other.get(f"/duplicates/scans/{first['id']}"), 404)
    b_group = next(g for g in walk(admin, "/duplicates", limit=50, entity="contacts") if ids["b1"] in g["records"])
    assert_problem(other.post(f"/duplicates/{b_group['id']}/dismiss"), 404)
    assert ok(other.get("/duplicates", params={"entity": "contacts"}))["items"] == []


def test_a_scan_killed_after_writing_some_groups_completes_on_redelivery_with_each_group_once(
    office: dict[str, Any], stack: LocalRuntime
) -> None:
    admin, ids = office["admin"], office["ids"]
    assert stack.functions is not None
    small = {"SCAN_PAGE_RECORDS": "3", "SCAN_GROUPS_PER_TRANSACTION": "1"}  # 4 pages, a transaction a group
    killed = Fault("dynamodb", "TransactWriteItems", "after")  # the first group committed, the rest not
    with (
        quick_redelivery(stack, SCANS_QUEUE),
        stack.functions.configured("DirectoryScanFunction", small, faults=[killed]) as (armed,),
    ):
        done = scan(admin)
        assert armed.fired
    assert (done["attempt"], done["records_read"], done["groups_found"]) == (2, 10, 2)
    listed = walk(admin, "/duplicates", limit=1, entity="contacts")
    assert sorted(g["id"] for g in listed) == sorted({g["id"] for g in listed})  # each once
    assert [{r for r in g["records"]} for g in listed] == [
        {ids["b1"], ids["b2"], ids["b3"]},
        {ids["a1"], ids["a2"]},
    ]
