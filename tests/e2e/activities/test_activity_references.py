"""An activity's contact and account are the tenant's, and belong together: checked against the
activities service's own copy of the directory (its events), a just-created contact taken on trust."""

from __future__ import annotations

from typing import Any

from ulid import ULID

from infra.runtime import LocalRuntime
from tests.e2e.helpers import assert_problem, created, new_tenant, ok, settle

TASK = {"type": "task", "subject": "Follow up", "due": "2030-04-01T09:00:00Z"}
LONG_AGO = str(ULID.from_timestamp(1_577_836_800))  # an id made in 2020: not one being announced right now


def _listed_contacts(admin: Any) -> set[str]:
    rows = ok(admin.get("/call-list", params={"mode": "contacts", "limit": 200}))["items"]
    return {row["id"] for row in rows}


def test_references_the_directory_does_not_know_or_that_do_not_belong_together_are_refused(
    api: Any, stack: LocalRuntime
) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "admin-1", "admin")
    own, foreign = (created(admin.post("/accounts", json={"name": name}))["id"] for name in ("Own Oy", "Foreign Ab"))
    member = created(admin.post("/contacts", json={"first_name": "Maija", "account_id": own}))["id"]
    loner = created(admin.post("/contacts", json={"first_name": "Leo"}))["id"]
    assert settle(stack, lambda: {member, loner} <= _listed_contacts(admin))

    def post(**refs: str) -> Any:
        return admin.post("/activities", json={**TASK, **refs})

    good = created(post(contact_id=member, account_id=own))
    assert (good["contact_id"], good["account_id"]) == (member, own)
    created(post(contact_id=loner))
    created(post(account_id=foreign))
    # not the tenant's, or not any more
    assert_problem(post(contact_id=LONG_AGO), 422, "contact_id")
    assert_problem(post(contact_id="C1"), 422, "contact_id")
    assert_problem(post(account_id=LONG_AGO), 422, "account_id")
    assert_problem(post(contact_id=member, account_id=LONG_AGO), 422, "account_id")
    # a contact and an account that do not belong together
    mismatch = assert_problem(post(contact_id=member, account_id=foreign), 422, "account_id")
    assert mismatch["errors"][0]["code"] == "not_of_contact"
    assert_problem(post(contact_id=loner, account_id=own), 422, "account_id")
    # PATCH and batch check the same
    assert_problem(admin.patch(f"/activities/{good['id']}", json={"account_id": foreign}), 422, "account_id")
    assert_problem(admin.patch(f"/activities/{good['id']}", json={"contact_id": LONG_AGO}), 422, "contact_id")
    moved = ok(admin.patch(f"/activities/{good['id']}", json={"contact_id": None, "account_id": foreign}))
    assert (moved["contact_id"], moved["account_id"]) == (None, foreign)
    items = [
        {**TASK, "contact_id": LONG_AGO},
        {**TASK, "contact_id": member, "account_id": own},
        {"id": good["id"], "contact_id": member},  # its account is foreign now
    ]
    results = ok(admin.post("/activities/batch", json={"items": items}))["results"]
    assert [r["status"] for r in results] == [422, 201, 422]
    assert [e["field"] for e in results[0]["problem"]["errors"]] == ["contact_id"]
    assert [e["field"] for e in results[2]["problem"]["errors"]] == ["account_id"]
    # a contact deleted in the directory is refused once its deletion has arrived
    assert admin.delete(f"/contacts/{loner}").status_code == 204
    assert settle(stack, lambda: post(contact_id=loner).status_code == 422)


def test_a_contact_created_just_now_is_accepted_before_its_event_arrives(api: Any) -> None:
    admin = api.as_(new_tenant(), "admin-1", "admin")
    account = created(admin.post("/accounts", json={"name": "New Oy"}))["id"]
    contact = created(admin.post("/contacts", json={"first_name": "Uusi", "account_id": account}))["id"]
    made = created(admin.post("/activities", json={**TASK, "contact_id": contact, "account_id": account}))
    assert (made["contact_id"], made["account_id"]) == (contact, account)
    # the same rule refuses an id made long ago that the directory never announced
    assert_problem(admin.post("/activities", json={**TASK, "contact_id": LONG_AGO}), 422, "contact_id")
