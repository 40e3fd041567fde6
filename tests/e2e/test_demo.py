"""The demo data `kontakt dev` loads goes through the API and leaves something to look at in every view."""

from __future__ import annotations

from typing import Any

from infra import demo
from infra.runtime import LocalRuntime
from tests.e2e.helpers import settle


def test_demo_data_loads_once_and_fills_the_views(stack: LocalRuntime, api: Any) -> None:
    summary = demo.load(stack)
    assert summary["accounts"] == len(demo.ACCOUNTS) and summary["contacts"] == demo.CONTACT_COUNT
    assert summary["activities"] >= 8 and summary["contact_orders"] == 1
    assert demo.load(stack)["skipped"] is True

    admin = api.as_(demo.TENANT, demo.ADMIN, "admin")
    rows = settle(
        stack,
        lambda: [
            r for r in admin.get("/call-list", params={"mode": "contacts"}).json()["items"] if r.get("latest_event")
        ],
    )
    assert len(rows) == 3 and all(r["latest_event"]["subject"].startswith("Call with") for r in rows)
    accounts = admin.get("/call-list", params={"mode": "accounts"}).json()["items"]
    assert "Old Mill Oy" not in [a["name"] for a in accounts]  # ceased: only when asked for
    seller = admin.get("/users").json()["items"][0]["id"]
    todo = admin.get("/todo", params={"user_id": seller}).json()["items"]
    assert {i["kind"] for i in todo} >= {"task"}
    orders = admin.get("/contact-orders").json()["items"]
    assert [o["subject"] for o in orders] == ["Annual maintenance"]
    campaign = settle(
        stack,
        lambda: (c := admin.get(f"/campaigns/{summary['campaign']}").json())["status"] == "sent" and c,
    )
    assert campaign and campaign["stats"]["sent"] > 0, admin.get(f"/campaigns/{summary['campaign']}").json()
    assert admin.get("/sms/settings").json()["active"] is True
    assert summary["sms_credits"] == 500
    sms = settle(stack, lambda: (s := admin.get(f"/sms/sends/{summary['sms_send']}").json())["status"] == "sent" and s)
    assert sms and sms["stats"]["recipients"] > 0, admin.get(f"/sms/sends/{summary['sms_send']}").json()
    assert sms["stats"]["sent"] + sms["stats"]["delivered"] == sms["credits"] > 0
    assert admin.get("/sms/balance").json()["available"] == 500 - sms["credits"]
    endpoint = admin.get(f"/webhooks/endpoints/{summary['webhook_endpoint']}").json()
    assert endpoint["url"] == summary["webhook_receiver"] == f"{stack.api_url}/dev/webhooks/{demo.WEBHOOK_NAME}"
    assert endpoint["enabled"] is True and endpoint["event_types"] == ["contact.*", "account.*"]
