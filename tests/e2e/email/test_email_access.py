"""Who may do what in the email service (issue 14, section 1): templates and campaigns are changed,
deleted and sent by their creator, managers and admins; a contact's data is shown only to those who
may see the contact; a campaign reaches only the contacts its sender may see."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from infra.runtime import LocalRuntime
from shared.ids import derived_id
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import sent_mails
from tests.e2e.helpers import assert_problem, created, drain, envelopes, new_tenant, ok, settle, walk

TEMPLATE = {"name": "News", "subject": "News for {{ contact.first_name }}", "html": "<p>Hi</p>", "text": "Hi"}
MATCH_ALL = [{"field": "first_name", "op": "not_equals", "value": "zzz"}]


@pytest.fixture(scope="module")
def shop(session_api: Api, stack: LocalRuntime) -> dict[str, Any]:
    """An admin with two contacts, a template, a group of both and a campaign sent to it; a plain
    user who owns one contact."""
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
    campaign = created(
        admin.post(
            "/campaigns",
            json={
                "name": "Admin's",
                "template_id": template["id"],
                "list_type_id": "marketing",
                "target_group_id": group,
            },
        )
    )
    drain(stack, busy_ok=True)  # the recipients projection hears of the contacts
    ok(admin.post(f"/campaigns/{campaign['id']}/send"))
    sent = settle(
        stack, lambda: (c := admin.get(f"/campaigns/{campaign['id']}").json())["status"] == "sent" and c, busy_ok=True
    )
    assert sent, admin.get(f"/campaigns/{campaign['id']}").json()
    return {
        "tenant": tenant,
        "admin": admin,
        "user": user,
        "hidden": hidden,
        "own": own,
        "template": template,
        "campaign": campaign,
        "group": group,
    }


def test_a_user_changes_no_one_elses_template_or_campaign(shop: dict[str, Any]) -> None:
    admin, user, template = shop["admin"], shop["user"], shop["template"]
    draft = created(
        admin.post("/campaigns", json={"name": "Draft", "template_id": template["id"], "list_type_id": "marketing"})
    )
    assert_problem(user.patch(f"/email/templates/{template['id']}", json={"subject": "Owned"}), 403)
    assert_problem(user.delete(f"/email/templates/{template['id']}"), 403)
    assert_problem(user.patch(f"/campaigns/{draft['id']}", json={"name": "Mine"}), 403)
    assert_problem(user.delete(f"/campaigns/{draft['id']}"), 403)
    assert_problem(user.post(f"/campaigns/{draft['id']}/send"), 403)
    assert admin.get(f"/email/templates/{template['id']}").json()["subject"] == TEMPLATE["subject"]
    after = admin.get(f"/campaigns/{draft['id']}").json()
    assert (after["name"], after["status"]) == ("Draft", "draft")
    # Their own template is theirs to change and delete.
    mine = created(user.post("/email/templates", json=TEMPLATE))
    assert ok(user.patch(f"/email/templates/{mine['id']}", json={"subject": "Mine"}))["subject"] == "Mine"
    assert user.delete(f"/email/templates/{mine['id']}").status_code == 204


def test_a_hidden_contact_is_not_previewed_or_listed(shop: dict[str, Any]) -> None:
    user, hidden, template = shop["user"], shop["hidden"][0], shop["template"]
    preview = user.post(f"/email/templates/{template['id']}/preview", json={"contact_id": hidden})
    unknown = user.post(f"/email/templates/{template['id']}/preview", json={"contact_id": "01UNKNOWNCONTACT"})
    assert_problem(preview, 404)
    assert preview.json()["title"] == unknown.json()["title"] and unknown.status_code == 404
    assert "Hilda" not in preview.text
    assert ok(user.post(f"/email/templates/{template['id']}/preview", json={"contact_id": shop["own"]}))

    assert ok(user.get("/email/messages", params={"contact_id": hidden}))["items"] == []
    listed = walk(user, f"/campaigns/{shop['campaign']['id']}/recipients", limit=50)
    assert {m["contact_id"] for m in listed} <= {shop["own"]}
    assert "hidden.example.com" not in str(listed)
    message_id = derived_id(shop["campaign"]["once_scope"], hidden)
    assert shop["admin"].get(f"/email/messages/{message_id}").status_code == 200
    assert_problem(user.get(f"/email/messages/{message_id}"), 404)


def test_a_users_campaign_reaches_only_the_contacts_they_see(stack: LocalRuntime, shop: dict[str, Any]) -> None:
    user, admin = shop["user"], shop["admin"]
    group = created(user.post("/target-groups", json={"name": "Everyone I can", "conditions": MATCH_ALL}))["id"]
    template = created(user.post("/email/templates", json=TEMPLATE))
    campaign = created(
        user.post(
            "/campaigns",
            json={"name": "Mine", "template_id": template["id"], "list_type_id": "marketing", "target_group_id": group},
        )
    )
    ok(user.post(f"/campaigns/{campaign['id']}/send"))
    done = settle(
        stack, lambda: (c := admin.get(f"/campaigns/{campaign['id']}").json())["status"] == "sent" and c, busy_ok=True
    )
    assert done, admin.get(f"/campaigns/{campaign['id']}").json()
    recipients = {m["contact_id"] for m in walk(admin, f"/campaigns/{campaign['id']}/recipients", limit=50)}
    assert recipients == {shop["own"]}
    mails = sent_mails(stack)
    assert not any(mails.get(derived_id(campaign["once_scope"], h)) for h in shop["hidden"])
    assert mails.get(derived_id(campaign["once_scope"], shop["own"]))


def test_a_group_the_sender_may_not_see_is_an_unknown_group(stack: LocalRuntime, shop: dict[str, Any]) -> None:
    """The admin's private group is, to a plain user's campaign, what an unknown id is: the same
    answers, the same failure when sent, and no mail to anyone (not even to contacts they see)."""
    user, admin = shop["user"], shop["admin"]
    template = created(user.post("/email/templates", json=TEMPLATE))
    answers, campaigns = [], []
    for name, group in (("Theirs", shop["group"]), ("Unknown", "01UNKNOWNTARGETGROUP")):
        body = {"name": name, "template_id": template["id"], "list_type_id": "marketing"}
        response = user.post("/campaigns", json={**body, "target_group_id": group})
        draft = created(user.post("/campaigns", json=body))
        changed = user.patch(f"/campaigns/{draft['id']}", json={"target_group_id": group})
        answers.append((response.status_code, changed.status_code))
        campaign = response.json()
        ok(user.post(f"/campaigns/{campaign['id']}/send"))
        campaigns.append((campaign, group))
    assert answers[0] == answers[1], answers

    def failed() -> list[dict[str, Any]] | None:
        now = [admin.get(f"/campaigns/{c['id']}").json() for c, _ in campaigns]
        return now if all(c["status"] in ("failed", "sent") for c in now) else None

    done = settle(stack, failed, busy_ok=True)
    assert done, [admin.get(f"/campaigns/{c['id']}").json() for c, _ in campaigns]
    shown = [
        (c["status"], (c["error"] or "").replace(group, "<id>")) for c, (_, group) in zip(done, campaigns, strict=True)
    ]
    assert shown[0] == shown[1] == ("failed", "No target group <id>."), shown
    for campaign, _ in campaigns:
        assert walk(admin, f"/campaigns/{campaign['id']}/recipients", limit=50) == []
        assert not sent_mails(stack).get(derived_id(campaign["once_scope"], shop["own"]))


def test_a_scheduled_campaign_is_its_schedulers_send(stack: LocalRuntime, shop: dict[str, Any]) -> None:
    """Fired by the scheduler, a plain user's campaign to a match-all group reaches only the contacts
    that user sees, and the campaign, its messages and their email.sent events name the user."""
    user, admin = shop["user"], shop["admin"]
    group = created(user.post("/target-groups", json={"name": "All I see", "conditions": MATCH_ALL}))["id"]
    template = created(user.post("/email/templates", json=TEMPLATE))
    body = {"name": "Later", "template_id": template["id"], "list_type_id": "marketing", "target_group_id": group}
    campaign = created(user.post("/campaigns", json=body))
    ok(user.post(f"/campaigns/{campaign['id']}/schedule", json={"send_at": "2032-03-03T10:00:00Z"}))
    assert f"campaign-{campaign['id']}" in stack.fire_schedules(datetime(2032, 3, 3, 10, 0, tzinfo=UTC))
    done = settle(
        stack, lambda: (c := admin.get(f"/campaigns/{campaign['id']}").json())["status"] == "sent" and c, busy_ok=True
    )
    assert done, admin.get(f"/campaigns/{campaign['id']}").json()
    assert done["sent_by"] == "user-7"
    recipients = walk(admin, f"/campaigns/{campaign['id']}/recipients", limit=50)
    assert {m["contact_id"] for m in recipients} == {shop["own"]}
    message_id = derived_id(campaign["once_scope"], shop["own"])
    assert ok(user.get(f"/email/messages/{message_id}"))["sent_by"] == "user-7"
    mails = sent_mails(stack)
    assert mails.get(message_id) and not any(mails.get(derived_id(campaign["once_scope"], h)) for h in shop["hidden"])
    drain(stack, busy_ok=True)
    sent = [e for e in envelopes(stack, shop["tenant"], "email.sent") if e["data"]["message_id"] == message_id]
    assert [e["data"]["sent_by"] for e in sent] == ["user-7"]


def test_contacts_the_tenant_opened_are_shown_in_email_as_in_the_directory(
    stack: LocalRuntime, session_api: Api
) -> None:
    """The directory's open modules hold in the email service too: with contacts open, a plain user
    sees another's contact in a preview and its mail history, as the directory shows it; closed
    again, it is an unknown contact once more."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    user = session_api.as_(tenant, "user-7", "user")
    contact = created(admin.post("/contacts", json={"first_name": "Boss", "email": "boss@hidden.example.com"}))["id"]
    template = created(admin.post("/email/templates", json=TEMPLATE))["id"]
    preview = f"/email/templates/{template}/preview"
    drain(stack, busy_ok=True)  # the recipients projection hears of the contact
    assert ok(admin.post(preview, json={"contact_id": contact}))["subject"] == "News for Boss"
    assert_problem(user.post(preview, json={"contact_id": contact}), 404)

    for open_modules, answer in ((["contacts"], 200), ([], 404)):
        settings = admin.get("/settings").json() | {"open_modules": open_modules}
        assert admin.put("/settings", json=settings).status_code == 200
        assert (user.get(f"/contacts/{contact}").status_code == 200) is bool(open_modules)  # the directory
        shown = settle(stack, lambda a=answer: user.post(preview, json={"contact_id": contact}).status_code == a)
        assert shown, user.post(preview, json={"contact_id": contact}).text
        if answer == 200:
            assert ok(user.post(preview, json={"contact_id": contact}))["subject"] == "News for Boss"
