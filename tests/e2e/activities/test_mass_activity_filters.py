"""Filters and sort of the mass activities' list (issue 16, part 2): by name prefix, active,
target group and creator, each exactly the matching ones; renames, passivation and deletes
followed; a combination no index serves is a 400 naming it; another tenant sees none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.helpers import assert_problem, created, drain, new_tenant, ok, walk

if TYPE_CHECKING:
    from infra.runtime import LocalRuntime
    from tests.e2e.conftest import Api

CALL = {"type": "call", "subject": "Spring call", "start_time": "09:00", "duration_minutes": 30}
AT = {"mode": "at", "at": "2034-01-01T09:00:00Z"}  # scheduled, never fired by these tests


def ids(api: Api, **params: Any) -> list[str]:
    return [item["id"] for item in walk(api, "/mass-activities", limit=1, **params)]


@pytest.fixture(scope="module")
def masses(session_api: Api) -> dict[str, Any]:
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    manager = session_api.as_(tenant, "mgr-1", "manager")
    spring = created(admin.post("/target-groups", json={"name": "Spring"}))["id"]
    autumn = created(admin.post("/target-groups", json={"name": "Autumn"}))["id"]

    def mass(api: Api, name: str, group: str, **fields: Any) -> str:
        body = {"name": name, "target_group_id": group, "activity": CALL, "schedule": AT, **fields}
        return str(created(api.post("/mass-activities", json=body))["id"])

    m1 = mass(admin, "Spring calls", spring)
    m2 = mass(admin, "spring visits", autumn, active=False)
    m3 = mass(manager, "Autumn calls", autumn)
    return {
        "admin": admin,
        "user": session_api.as_(tenant, "seller-1", "user"),
        "groups": (spring, autumn),
        "masses": (m1, m2, m3),
    }


def test_mass_activities_by_name_active_target_group_and_creator(masses: dict[str, Any]) -> None:
    admin, user = masses["admin"], masses["user"]
    spring, autumn = masses["groups"]
    m1, m2, m3 = masses["masses"]
    assert ids(admin, name="SPRING") == [m1, m2]  # "spring calls" < "spring visits"
    assert ids(admin, name="spring v") == [m2]
    assert ids(admin, name="spring", order="desc") == [m2, m1]
    assert ids(admin, active="true") == [m1, m3]
    assert ids(admin, active="false") == [m2]
    assert ids(admin, target_group_id=autumn) == [m2, m3]
    assert ids(admin, target_group_id=spring) == [m1]
    assert ids(admin, created_by="mgr-1") == [m3]
    assert ids(admin, created_by="admin-1", order="desc") == [m2, m1]
    assert ids(admin, sort="name") == [m3, m1, m2]
    assert ids(admin, sort="id", order="desc") == [m3, m2, m1]
    assert ids(user, active="false") == [m2]  # every user of the tenant reads them


def test_a_mass_activity_filter_follows_changes_and_deletes(masses: dict[str, Any]) -> None:
    admin = masses["admin"]
    m1 = masses["masses"][0]
    ok(admin.patch(f"/mass-activities/{m1}", json={"name": "Winter calls", "active": False}))
    assert ids(admin, name="winter") == [m1]
    assert m1 not in ids(admin, name="spring")
    assert m1 in ids(admin, active="false") and m1 not in ids(admin, active="true")
    ok(admin.patch(f"/mass-activities/{m1}", json={"name": "Spring calls", "active": True}))
    made = created(
        admin.post(
            "/mass-activities",
            json={"name": "Zeta", "target_group_id": masses["groups"][0], "activity": CALL, "schedule": AT},
        )
    )["id"]
    assert ids(admin, name="zeta") == [made]
    assert admin.delete(f"/mass-activities/{made}").status_code == 204
    assert ids(admin, name="zeta") == []
    assert made not in ids(admin, active="true")


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"name": "s", "active": "true"}, "active"),
        ({"name": "s", "sort": "id"}, "sort"),
        ({"target_group_id": "G1", "sort": "name"}, "sort"),
        ({"active": "true", "created_by": "admin-1"}, "created_by"),
    ],
)
def test_a_combination_no_index_serves_is_a_400_naming_it(
    masses: dict[str, Any], params: dict[str, str], named: str
) -> None:
    body = assert_problem(masses["admin"].get("/mass-activities", params=params), 400, f"query.{named}")
    assert body["errors"][0]["code"] == "unsupported_combination"
    assert_problem(masses["admin"].get("/mass-activities", params={"status": "x"}), 400, "query.status")


def test_mass_activity_filters_see_only_the_callers_tenant(session_api: Api, masses: dict[str, Any]) -> None:
    other = session_api.as_(new_tenant(), "admin-1", "admin")
    assert ids(other, name="spring") == []
    assert ids(other, active="true") == []
    assert ids(other, target_group_id=masses["groups"][0]) == []


def test_runs_by_time_range(masses: dict[str, Any], stack: LocalRuntime) -> None:
    admin = masses["admin"]
    body = {"name": "Now", "target_group_id": masses["groups"][0], "activity": {**CALL, "day": "2030-02-01"}}
    made = created(admin.post("/mass-activities", json=body))["id"]  # runs at once (an empty group)
    drain(stack, busy_ok=True)
    path = f"/mass-activities/{made}/runs"
    now = datetime.now(UTC)
    hour = timedelta(hours=1)
    [run] = walk(admin, path)
    assert [r["id"] for r in walk(admin, path, **{"from": (now - hour).isoformat()})] == [run["id"]]
    assert [r["id"] for r in walk(admin, path, **{"from": run["run_at"]})] == [run["id"]]  # inclusive
    assert walk(admin, path, to=run["run_at"]) == []  # exclusive
    assert walk(admin, path, **{"from": (now + hour).isoformat()}) == []
    assert [r["id"] for r in walk(admin, path, to=(now + hour).isoformat())] == [run["id"]]
