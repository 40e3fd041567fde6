"""An account's business id (Finnish Y-tunnus) is checked by the kernel's rule (shared/business_ids.py)
on every way in: create and update (a 422 problem body naming `business_id`, nothing written) and the
CSV import (the row rejected, naming its column). One tenant, one test (the suite is at its budget)."""

from __future__ import annotations

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, created, ok, walk
from tests.e2e.test_imports import _import

MAPPING = {"Nimi": "name", "Y-tunnus": "business_id"}


def _codes(problem: dict[str, object]) -> list[tuple[object, object]]:
    return [(e["field"], e["code"]) for e in problem["errors"]]  # type: ignore[attr-defined,index]


def test_a_wrong_business_id_is_refused_on_create_update_and_import(admin: Api, stack: LocalRuntime) -> None:
    for bad, code in (("1234567-8", "check_digit"), ("0000006-0", "check_digit"), ("12345671", "invalid_business_id")):
        problem = assert_problem(admin.post("/accounts", json={"name": "Väärä Oy", "business_id": bad}), 422)
        assert _codes(problem) == [("business_id", code)], problem
    assert walk(admin, "/accounts") == []  # nothing written

    account = created(admin.post("/accounts", json={"name": "Oikea Oy", "business_id": " 1234567-1 "}))
    assert (account["business_id"], account.pop("possible_duplicates")) == ("1234567-1", [])
    problem = assert_problem(admin.patch(f"/accounts/{account['id']}", json={"business_id": "1234567-2"}), 422)
    assert _codes(problem) == [("business_id", "check_digit")]
    assert ok(admin.get(f"/accounts/{account['id']}")) == account  # unchanged, same version
    changed = ok(admin.patch(f"/accounts/{account['id']}", json={"business_id": "0737546-2"}))
    assert (changed["business_id"], changed["version"]) == ("0737546-2", 2)

    csv = "Nimi;Y-tunnus\nKolmas Oy;2345678-0\nNeljäs Oy;2345678-1\nViides Oy;\n".encode()
    job, rows = _import(stack, admin, csv, kind="accounts", mapping=MAPPING)
    assert (job["status"], job["created"], job["rejected"]) == ("completed", 2, 1), job
    by_row = {r["row"]: r for r in rows}
    assert [r["outcome"] for _, r in sorted(by_row.items())] == ["created", "rejected", "created"]
    assert [(e["field"], e["code"]) for e in by_row[2]["errors"]] == [("Y-tunnus", "check_digit")]
    names = {a["name"]: a.get("business_id") for a in walk(admin, "/accounts", limit=50)}
    assert names == {"Oikea Oy": "0737546-2", "Kolmas Oy": "2345678-0", "Viides Oy": None}
