"""CRM event classification through the API, exactly as seed 001; activity types as a tenant list."""

from __future__ import annotations

from typing import Any

from tests.e2e.helpers import assert_problem, new_tenant

VISIT = {"type": "customer_visit", "subject": "Visit", "start": "2026-12-02T09:00:00Z", "end": "2026-12-02T10:00:00Z"}


def test_a_new_tenant_has_the_default_lists(api: Any) -> None:
    client = api.as_(new_tenant(), "u1", "user")
    settings = client.get("/crm/settings").json()
    assert [k["code"] for k in settings["kinds"]] == ["events", "sales", "marketing"]
    assert [t["code"] for t in settings["types"]] == ["crm_events", "leads", "sales_actions", "customer_visits"]
    assert [p["code"] for p in settings["properties"]] == ["customer_feedback", "commercial", "advisory"]
    assert [c["code"] for c in settings["categories"]] == ["crm_event", "lead", "sales_action", "customer_visit"]
    types = {t["code"]: t["kind"] for t in client.get("/activity-types").json()}
    assert types["call"] == "event" and types["task"] == "task"


def test_the_category_sets_kind_and_type_and_refuses_a_change_unless_it_allows_choice(api: Any) -> None:
    tenant = new_tenant()
    user = api.as_(tenant, "u1", "user")
    visit = user.post("/activities", json={**VISIT, "category": "customer_visit", "properties": ["advisory"]})
    assert visit.status_code == 201, visit.text
    assert (visit.json()["crm_kind"], visit.json()["crm_type"]) == ("events", "customer_visits")
    assert visit.json()["properties"] == ["advisory"]

    refused = user.post("/activities", json={**VISIT, "category": "customer_visit", "crm_kind": "sales"})
    assert_problem(refused, 422, "crm_kind")
    changed = user.patch(f"/activities/{visit.json()['id']}", json={"crm_type": "leads"})
    assert_problem(changed, 422, "crm_type")

    admin = api.as_(tenant, "a1", "admin")
    categories = admin.get("/crm/settings").json()["categories"]
    for category in categories:
        if category["code"] == "customer_visit":
            category["allow_choice"] = True
    assert admin.put("/crm/categories", json={"items": categories}).status_code == 200
    chosen = user.patch(f"/activities/{visit.json()['id']}", json={"crm_kind": "sales", "crm_type": "leads"})
    assert chosen.status_code == 200, chosen.text
    assert (chosen.json()["crm_kind"], chosen.json()["crm_type"]) == ("sales", "leads")

    recategorised = user.patch(f"/activities/{visit.json()['id']}", json={"category": "lead"})
    assert (recategorised.json()["crm_kind"], recategorised.json()["crm_type"]) == ("sales", "leads")
    assert_problem(user.post("/activities", json={**VISIT, "properties": ["nope"]}), 422, "properties.0")


def test_only_admins_edit_the_lists_and_they_stay_consistent(api: Any) -> None:
    tenant = new_tenant()
    user = api.as_(tenant, "u1", "manager")
    kinds = {"items": [{"code": "events", "label": "Events"}]}
    assert_problem(user.put("/crm/kinds", json=kinds), 403)
    admin = api.as_(tenant, "a1", "admin")
    in_use = admin.put("/crm/kinds", json=kinds)  # the Lead category uses "sales"
    assert_problem(in_use, 422, "items")
    bad_category = {"items": [{"code": "x", "label": "X", "kind": "nope", "type": "leads"}]}
    assert_problem(admin.put("/crm/categories", json=bad_category), 422, "items.0.kind")
    added = admin.put("/crm/properties", json={"items": [{"code": "urgent", "label": "Urgent"}]})
    assert [p["code"] for p in added.json()["properties"]] == ["urgent"]
    assert admin.get("/crm/settings").json()["properties"] == added.json()["properties"]


def test_activity_types_are_a_tenant_list(api: Any) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "a1", "admin")
    items = [{"code": "demo", "label": "Demo", "kind": "event"}, {"code": "todo", "label": "To do", "kind": "task"}]
    assert admin.put("/activity-types", json={"items": items}).status_code == 200
    user = api.as_(tenant, "u1", "user")
    assert_problem(user.put("/activity-types", json={"items": items}), 403)
    assert_problem(user.post("/activities", json={**VISIT, "type": "call"}), 422, "type")
    task = user.post("/activities", json={"type": "todo", "subject": "x", "due": "2026-12-03T12:00:00Z"})
    assert task.json()["kind"] == "task"
    duplicate = admin.put("/activity-types", json={"items": [items[0], items[0]]})
    assert_problem(duplicate, 422)
    other_tenant = api.as_(new_tenant(), "a1", "admin")
    assert "call" in [t["code"] for t in other_tenant.get("/activity-types").json()]
