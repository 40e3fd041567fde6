"""GET /marketing-activities: a person's or an account's contacts of one type, within a time range."""

from __future__ import annotations

from typing import Any

from tests.e2e.helpers import assert_problem, created, new_tenant, walk


def test_a_persons_marketing_activities_by_type_and_time(api: Any) -> None:
    user = api.as_(new_tenant(), "u1", "user")

    def made(type_: str, at: str, **refs: str) -> str:
        body = {"contact_id": "C1", "type": type_, "at": at, **refs}
        return str(created(user.post("/marketing-activities", json=body))["id"])

    call = made("outgoing_call", "2030-03-01T09:00:00Z", account_id="A1")
    visit = made("visit", "2030-03-02T09:00:00Z", account_id="A1")
    late_call = made("outgoing_call", "2030-03-03T09:00:00+02:00")
    made("visit", "2030-03-04T09:00:00Z", contact_id="C2")

    def ids(**params: Any) -> list[str]:
        return [a["id"] for a in walk(user, "/marketing-activities", limit=1, **params)]

    assert ids(contact_id="C1") == [late_call, visit, call]
    assert ids(contact_id="C1", type="outgoing_call") == [late_call, call]
    assert ids(contact_id="C1", **{"from": "2030-03-02T09:00:00Z"}) == [late_call, visit]  # from: inclusive
    assert ids(contact_id="C1", to="2030-03-03T07:00:00Z") == [visit, call]  # to: exclusive (late_call is 07:00Z)
    assert ids(account_id="A1", type="visit") == [visit]
    assert ids(account_id="A1", **{"from": "2030-03-01T10:00:00+01:00"}) == [visit, call]  # 09:00Z: inclusive
    for params in ({"type": "visit"}, {"from": "2030-03-01T00:00:00Z"}, {"to": "2030-03-01T00:00:00Z"}):
        name = next(iter(params))
        assert_problem(user.get("/marketing-activities", params=params), 400, f"query.{name}")
    assert_problem(user.get("/marketing-activities", params={"contact_id": "C1", "type": "fax"}), 422, "query.type")
