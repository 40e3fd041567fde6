"""`GET /email/messages` without `contact_id` (issue 15, part 2): the tenant's mails, newest first,
paged by cursor, filtered by status, campaign, template and time range, and only the mails to
contacts a plain user may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import request_mail
from tests.e2e.helpers import assert_problem, created, drain, new_tenant, ok, settle, walk

TEMPLATE = {"name": "News", "subject": "News for {{ contact.first_name }}", "html": "<p>Hi</p>", "text": "Hi"}
MATCH_ALL = [{"field": "first_name", "op": "not_equals", "value": "zzz"}]


@pytest.fixture(scope="module")
def mails(session_api: Api, stack: LocalRuntime) -> dict[str, Any]:
    """A campaign sent to an admin's two contacts and a plain user's one; then a transactional mail
    to no contact."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    user = session_api.as_(tenant, "user-7", "user")
    hidden = [
        created(admin.post("/contacts", json={"first_name": n, "email": f"{n}@hidden.example.com"}))["id"]
        for n in ("Hilda", "Harri")
    ]
    own = created(user.post("/contacts", json={"first_name": "Olli", "email": "olli@own.example.com"}))["id"]
    group = created(admin.post("/target-groups", json={"name": "All", "conditions": MATCH_ALL}))["id"]
    template = created(admin.post("/email/templates", json=TEMPLATE))
    body = {"name": "News", "template_id": template["id"], "list_type_id": "marketing", "target_group_id": group}
    campaign = created(admin.post("/campaigns", json=body))
    drain(stack, busy_ok=True)  # the recipients projection hears of the contacts
    ok(admin.post(f"/campaigns/{campaign['id']}/send"))
    sent = settle(stack, lambda: admin.get(f"/campaigns/{campaign['id']}").json()["status"] == "sent", busy_ok=True)
    assert sent, admin.get(f"/campaigns/{campaign['id']}").json()
    loose = request_mail(stack, tenant, to="someone@example.com", subject="Receipt", text="Thanks")
    assert settle(stack, lambda: admin.get(f"/email/messages/{loose}").status_code == 200, busy_ok=True)
    return {
        "admin": admin,
        "user": user,
        "hidden": hidden,
        "own": own,
        "template": template["id"],
        "campaign": campaign["id"],
        "loose": loose,
    }


def _ids(client: Api, **params: Any) -> list[str]:
    return [m["id"] for m in walk(client, "/email/messages", limit=1, **params)]


def test_the_tenants_mails_newest_first_a_page_at_a_time(mails: dict[str, Any]) -> None:
    listed = ok(mails["admin"].get("/email/messages", params={"limit": 100}))["items"]
    assert len(listed) == 4 and listed[0]["id"] == mails["loose"]  # the receipt came last
    assert [m["created_at"] for m in listed] == sorted((m["created_at"] for m in listed), reverse=True)
    assert {m["contact_id"] for m in listed} == {*mails["hidden"], mails["own"], None}
    assert _ids(mails["admin"]) == [m["id"] for m in listed]  # the cursor walks the same list


def test_filters_by_campaign_template_status_and_time(mails: dict[str, Any]) -> None:
    admin, campaign, template = mails["admin"], mails["campaign"], mails["template"]
    everything = _ids(admin)
    campaign_mails = [i for i in everything if i != mails["loose"]]
    assert _ids(admin, campaign_id=campaign) == campaign_mails
    assert _ids(admin, campaign_id="01JUNKNOWNCAMPAIGN0000000") == []
    assert _ids(admin, template_id=template) == campaign_mails
    assert _ids(admin, template_id="01JUNKNOWNTEMPLATE0000000") == []
    statuses = {m["id"]: m["status"] for m in walk(admin, "/email/messages", limit=10)}
    assert _ids(admin, status="sent") == [i for i in everything if statuses[i] == "sent"]
    assert _ids(admin, status="opted_out") == []
    receipt = ok(admin.get(f"/email/messages/{mails['loose']}"))["created_at"]
    at = datetime.fromisoformat(receipt.replace("Z", "+00:00"))
    assert _ids(admin, **{"from": receipt}) == [mails["loose"]]  # inclusive
    assert _ids(admin, to=receipt) == campaign_mails  # exclusive
    assert _ids(admin, **{"from": (at + timedelta(seconds=1)).isoformat()}) == []
    day_before = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert _ids(admin, **{"from": day_before}, campaign_id=campaign) == campaign_mails


def test_a_plain_user_lists_only_mails_to_contacts_they_see(mails: dict[str, Any]) -> None:
    listed = walk(mails["user"], "/email/messages", limit=1)
    assert {m["contact_id"] for m in listed} == {mails["own"], None}  # theirs, and mail to no contact
    assert not {m["id"] for m in listed} & set(_ids(mails["admin"], contact_id=mails["hidden"][0]))


def test_bad_filters_are_refused(mails: dict[str, Any]) -> None:
    admin = mails["admin"]
    assert_problem(admin.get("/email/messages", params={"status": "lost"}), 422, "query.status")
    assert_problem(admin.get("/email/messages", params={"campaign_id": "a b"}), 422, "query.campaign_id")
    assert_problem(admin.get("/email/messages", params={"from": "2026-01-01T00:00:00"}), 422, "query.from")
