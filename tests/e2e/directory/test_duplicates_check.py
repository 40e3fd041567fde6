"""Duplicates (issue 24): the tenant's matching rules (GET for all, PUT for admins with If-Match),
and the check on create through the key index written with every record: a create lists its
possible duplicates among the records the caller may read (a plain user never learns of the
admin's), `duplicates=reject` answers 409 and creates nothing, an update moves the record's keys,
and a CSV import with `on_duplicate: update` updates the match instead of creating a record.
One tenant for the module (the suite is at its time budget)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from infra.faults import Fault
from infra.runtime import LocalRuntime
from tests.e2e.helpers import assert_problem, created, new_tenant, ok, poll_until, quick_redelivery, walk
from tests.e2e.test_imports import _import

if TYPE_CHECKING:
    from conftest import Api

SCANS_QUEUE = "kontakt-dev-directory-scans"  # the directory's duplicate jobs
MAIJA = {"first_name": "Maija", "last_name": "Meikäläinen", "email": "maija@x.example.fi"}


@pytest.fixture(scope="module")
def office(session_api: Api) -> dict[str, Any]:
    """An admin, a plain user, and the admin's contact Maija (with a mobile number)."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    made = created(admin.post("/users", json={"email": "ulla@x.example.fi", "name": "Ulla"}))
    user = session_api.as_(tenant, made["id"], "user")
    first = created(admin.post("/contacts", json={**MAIJA, "mobile": "040 1234567"}))
    assert first["possible_duplicates"] == []
    return {"admin": admin, "user": user, "maija": first["id"]}


def _ids(found: list[dict[str, Any]]) -> set[str]:
    return {d["id"] for d in found}


def test_rules_are_read_by_all_and_replaced_by_admins_with_if_match(office: dict[str, Any]) -> None:
    admin, user = office["admin"], office["user"]
    read = user.get("/duplicates/rules/contacts")
    rules = ok(read)
    assert [f["field"] for f in rules["fields"]] == ["name", "email", "phones", "account_id"]
    assert (rules["entity"], rules["threshold"], rules["default_country"]) == ("contacts", 0.75, "FI")
    changed = {**rules, "threshold": 0.8}
    assert_problem(user.put("/duplicates/rules/contacts", json=changed), 403)
    wrong = {**rules, "fields": [{"field": "shoe_size"}, *rules["fields"][1:]]}
    assert_problem(admin.put("/duplicates/rules/contacts", json=wrong), 422, "fields.0.field")
    phones_fuzzy = {**rules, "fields": [*rules["fields"][:2], {"field": "phones", "method": "fuzzy"}]}
    assert_problem(admin.put("/duplicates/rules/contacts", json=phones_fuzzy), 422, "fields.2")
    assert_problem(admin.put("/duplicates/rules/contacts", json=changed, headers={"If-Match": '"999"'}), 412)
    saved = ok(admin.put("/duplicates/rules/contacts", json=changed, headers={"If-Match": read.headers["ETag"]}))
    assert saved["threshold"] == 0.8 and ok(user.get("/duplicates/rules/contacts")) == saved
    accounts = ok(user.get("/duplicates/rules/accounts"))
    assert accounts["entity"] == "accounts" and "business_id" in [f["field"] for f in accounts["fields"]]


def test_a_create_lists_the_duplicates_the_caller_may_read_or_is_refused(office: dict[str, Any]) -> None:
    admin, user, maija = office["admin"], office["user"], office["maija"]
    twin = created(admin.post("/contacts", json={**MAIJA, "last_name": "Meikalainen", "email": "Maija@X.example.fi"}))
    assert _ids(twin["possible_duplicates"]) == {maija}
    assert set(twin["possible_duplicates"][0]["matched"]) >= {"name", "email"}
    assert twin["possible_duplicates"][0]["score"] > 0.8

    own = created(user.post("/contacts", json=MAIJA))  # the admin's two are out of the user's sight
    assert own["possible_duplicates"] == []
    refused = assert_problem(user.post("/contacts", params={"duplicates": "reject"}, json=MAIJA), 409)
    assert refused["code"] == "possible_duplicates" and _ids(refused["possible_duplicates"]) == {own["id"]}
    refused = assert_problem(admin.post("/contacts", params={"duplicates": "reject"}, json=MAIJA), 409)
    assert _ids(refused["possible_duplicates"]) == {maija, twin["id"], own["id"]}
    assert len(walk(admin, "/contacts", limit=50)) == 3  # nothing created by the refused ones

    acme = created(admin.post("/accounts", json={"name": "Acme Oy", "business_id": "1234567-1"}))
    again = created(admin.post("/accounts", json={"name": "ACME Ab", "business_id": " 1234567-1"}))
    assert acme["possible_duplicates"] == [] and _ids(again["possible_duplicates"]) == {acme["id"]}


def test_an_update_moves_the_keys_and_an_import_updates_the_match(office: dict[str, Any], stack: LocalRuntime) -> None:
    admin, maija = office["admin"], office["maija"]
    ok(admin.patch(f"/contacts/{maija}", json={"email": "mm@y.example.fi"}))
    moved = {**MAIJA, "email": "mm@y.example.fi"}
    refused = assert_problem(admin.post("/contacts", params={"duplicates": "reject"}, json=moved), 409)
    assert _ids(refused["possible_duplicates"]) == {maija}  # found by the new email
    refused = assert_problem(admin.post("/contacts", params={"duplicates": "reject"}, json=MAIJA), 409)
    assert maija not in _ids(refused["possible_duplicates"])  # no longer by the old one

    csv = "Etunimi;Sukunimi;Puhelin;Osasto\nMaija;Meikäläinen;+358 40 1234567;Myynti\n".encode()
    mapping = {"Etunimi": "first_name", "Sukunimi": "last_name", "Puhelin": "phone", "Osasto": "department"}
    job, rows = _import(stack, admin, csv, mapping=mapping, on_duplicate="update")
    assert (job["created"], job["updated"], job["on_duplicate"]) == (0, 1, "update"), job
    assert (rows[0]["outcome"], rows[0]["record_id"]) == ("updated", maija)
    assert _ids(rows[0]["possible_duplicates"]) == {maija}
    assert ok(admin.get(f"/contacts/{maija}"))["department"] == "Myynti"
    assert len(walk(admin, "/contacts", limit=50)) == 3


def test_a_batch_lists_each_created_items_duplicates_and_refuses_items_alone(office: dict[str, Any]) -> None:
    admin, maija = office["admin"], office["maija"]
    olli = {"first_name": "Olli", "last_name": "Otava", "email": "olli@z.example.fi"}
    items = [olli, {**olli, "email": " OLLI@z.example.fi"}, {"id": maija, "department": "Tuki"}]
    results = ok(admin.post("/contacts/batch", json={"items": items}))["results"]
    assert [r["status"] for r in results] == [201, 201, 200]
    first, second, update = (r["record"] for r in results)
    assert first["possible_duplicates"] == [] and update["possible_duplicates"] == []
    assert _ids(second["possible_duplicates"]) == {first["id"]}  # an earlier item of the same batch

    new = {"first_name": "Uusi", "last_name": "Henkilö", "email": "uusi@z.example.fi"}
    answer = admin.post("/contacts/batch", params={"duplicates": "reject"}, json={"items": [olli, new]})
    refused, made = ok(answer)["results"]
    assert (refused["status"], refused["record"], made["status"]) == (409, None, 201)
    assert refused["problem"]["code"] == "possible_duplicates"
    assert _ids(refused["problem"]["possible_duplicates"]) == {first["id"], second["id"]}
    assert made["record"]["possible_duplicates"] == [] and not walk(admin, "/contacts", limit=50, name="otava")[2:]

    beta = {"name": "Beta Oy", "business_id": "7654321-2"}
    results = ok(admin.post("/accounts/batch", json={"items": [beta, {**beta, "name": "Beta Ab"}]}))["results"]
    assert [r["status"] for r in results] == [201, 201]
    assert _ids(results[1]["record"]["possible_duplicates"]) == {results[0]["id"]}


def test_a_new_default_country_rekeys_the_numbers_of_existing_records_in_a_restartable_job(
    office: dict[str, Any], stack: LocalRuntime
) -> None:
    """The re-key runs a page (of three records) per message, so it continues itself; its process is
    killed after its first record's transaction, and the redelivery finishes it."""
    admin = office["admin"]
    national = [
        created(admin.post("/contacts", json={"first_name": "Pekka", "last_name": "Virta", "mobile": "070 123 4567"})),
        created(admin.post("/contacts", json={"first_name": "Sanna", "last_name": "Oja", "phone": "08-123 45 67"})),
    ]
    probes = [  # other names: only the number's key (now Swedish) can find them
        {"first_name": "Sven", "last_name": "Berg", "mobile": "+46 70 123 4567"},
        {"first_name": "Stina", "last_name": "Lund", "phone": "+46 8 123 45 67"},
    ]
    phones_only = {"fields": [{"field": "phones"}], "min_matched_fields": 1, "default_country": "SE"}
    assert_problem(admin.put("/duplicates/rules/contacts", json={"default_country": "XX"}), 422, "default_country")
    assert stack.functions is not None
    small = {"SCAN_PAGE_RECORDS": "3", "REKEY_PAGES_PER_MESSAGE": "1"}
    killed = Fault("dynamodb", "TransactWriteItems", "after")  # the first record re-keyed, then the process dies
    with (
        quick_redelivery(stack, SCANS_QUEUE),
        stack.functions.configured("DirectoryScanFunction", small, faults=[killed]) as (armed,),
    ):
        started = ok(admin.put("/duplicates/rules/contacts", json=phones_only))
        assert (started["default_country"], started["rekey"]["country"]) == ("SE", "SE")

        def rekey() -> dict[str, Any]:
            return ok(admin.get("/duplicates/rules/contacts"))["rekey"]

        done = poll_until(lambda: rekey()["state"] == "completed" and rekey())
        assert armed.fired
    total = len(walk(admin, "/contacts", limit=50))
    assert done and (done["records_read"], done["records_rekeyed"]) == (total, 3), done  # Maija's mobile too
    for probe, record in zip(probes, national, strict=True):
        refused = assert_problem(admin.post("/contacts", params={"duplicates": "reject"}, json=probe), 409)
        assert _ids(refused["possible_duplicates"]) == {record["id"]}
    for probe in probes:  # nothing was created by the refused probes
        assert not walk(admin, "/contacts", limit=50, name=probe["last_name"])
