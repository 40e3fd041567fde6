"""Campaigns [issue 5 item 3] through the gateway: a template mailed to a target group's contacts,
bound to a list type; opt-outs, suppressions and erasures hold; a page delivered twice mails nobody
twice; pause, resume, cancel; contacts added by hand get the automatic template once."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest

from infra.runtime import LocalRuntime
from shared.ids import derived_id, new_id
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import put_record, raw_sent, sent_mails
from tests.e2e.helpers import (
    assert_problem,
    created,
    drain,
    envelopes,
    new_tenant,
    ok,
    put_envelope,
    settle,
    upload_file,
    walk,
)
from tests.mail_wire import assert_one_click_on_the_wire

MB = 1024 * 1024

TEMPLATE = {
    "name": "Spring news",
    "subject": "Spring news for {{ contact.first_name }}",
    "html": '<html><body><p>Hi {{ contact.first_name }} of {{ account.name }}</p><a href="https://acme.example/x">x</a></body></html>',
    "text": "Hi {{ contact.first_name }}",
}


def _sent_mails(stack: LocalRuntime, message_ids: list[str]) -> dict[str, list[EmailMessage]]:
    """The raw mails moto's SES recorded, by our message id."""
    found = sent_mails(stack)
    return {m: found.get(m, []) for m in message_ids}


@pytest.fixture(scope="module")
def world(session_api: Api, stack: LocalRuntime) -> dict[str, Any]:
    """One tenant for the module: contacts (name@example.com) of one account, a target group of
    anna, bert, cara, dora and eero; bert opted out of marketing, cara suppressed, dora erased
    (which takes her out of the group), fred outside the group; a campaign and a welcome template."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    account = created(admin.post("/accounts", json={"name": "Acme"}))
    names = ["anna", "bert", "cara", "dora", "eero", "fred"]
    contacts = {
        name: created(
            admin.post(
                "/contacts",
                json={"first_name": name.title(), "email": f"{name.title()}@Example.com", "account_id": account["id"]},
            )
        )["id"]
        for name in names
    }
    members = [contacts[n] for n in names if n != "fred"]
    group = created(admin.post("/target-groups", json={"name": "Spring", "contact_ids": members}))
    template = created(admin.post("/email/templates", json=TEMPLATE))
    welcome = {"name": "Welcome", "subject": "Welcome {{ contact.first_name }}", "html": "<p>Hi</p>", "text": "Hi"}
    put_record(stack, tenant, "optout", derived_id("bert@example.com", "marketing"), {"address": "bert@example.com"})
    put_record(stack, tenant, "suppression", derived_id("cara@example.com"), {"address": "cara@example.com"})
    ok(admin.post(f"/contacts/{contacts['dora']}/erase"))
    drain(stack, busy_ok=True)  # the recipients projection hears of the contacts and the erasure
    return {
        "tenant": tenant,
        "admin": admin,
        "contacts": contacts,
        "group": group["id"],
        "template": template["id"],
        "welcome": created(admin.post("/email/templates", json=welcome))["id"],
    }


def _campaign(world: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Spring",
        "template_id": world["template"],
        "list_type_id": "marketing",
        "target_group_id": world["group"],
        **fields,
    }
    return created(world["admin"].post("/campaigns", json=body))


def _recipients(admin: Api, campaign_id: str, **params: Any) -> dict[str, dict[str, Any]]:
    return {m["contact_id"]: m for m in walk(admin, f"/campaigns/{campaign_id}/recipients", limit=50, **params)}


def _settled(
    stack: LocalRuntime, admin: Api, campaign_id: str, ready: Any = None, attempts: int = 20
) -> dict[str, Any]:
    """The campaign once `ready(campaign)` holds (default: it shows "sent")."""
    check = ready or (lambda c: c["status"] == "sent")
    campaign = settle(
        stack, lambda: (c := admin.get(f"/campaigns/{campaign_id}").json()) and check(c) and c, attempts, busy_ok=True
    )
    assert campaign, admin.get(f"/campaigns/{campaign_id}").json()
    result: dict[str, Any] = campaign
    return result


def test_a_campaign_mails_each_member_once_and_respects_opt_outs(
    api: Api, stack: LocalRuntime, world: dict[str, Any]
) -> None:
    tenant, admin, contacts = world["tenant"], world["admin"], world["contacts"]

    campaign = _campaign(world)
    assert campaign["status"] == "draft" and campaign["tracking"] == {"opens": True, "clicks": True}
    sending = ok(admin.post(f"/campaigns/{campaign['id']}/send"))
    assert sending["status"] == "sending"
    assert ok(admin.post(f"/campaigns/{campaign['id']}/send"))["status"] == "sending"  # again: unchanged
    done = _settled(stack, admin, campaign["id"])

    stats = done["stats"]
    assert (stats["recipients"], stats["sent"], stats["queued"]) == (4, 2, 0), stats
    assert (stats["opted_out"], stats["suppressed"], stats["skipped"]) == (1, 1, 0), stats
    assert done["audience"]["complete"] and done["audience"]["total"] == 4

    found = _recipients(admin, campaign["id"])
    statuses = {name: found[cid]["status"] for name, cid in contacts.items() if cid in found}
    assert statuses == {"anna": "sent", "bert": "opted_out", "cara": "suppressed", "eero": "sent"}  # dora erased
    assert set(_recipients(admin, campaign["id"], status="sent")) == {contacts["anna"], contacts["eero"]}

    ids = {name: derived_id(campaign["once_scope"], cid) for name, cid in contacts.items()}
    mails = _sent_mails(stack, list(ids.values()))
    assert {name: len(mails[i]) for name, i in ids.items()} == {
        "anna": 1,
        "bert": 0,
        "cara": 0,
        "dora": 0,
        "eero": 1,
        "fred": 0,
    }
    mail = mails[ids["anna"]][0]
    assert mail["Subject"] == "Spring news for Anna" and mail["To"] == "Anna <anna@example.com>"
    assert mail["List-Unsubscribe"] and mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [raw] = raw_sent(stack, ids["anna"])  # what SES got: a provider reads the one-click link from these bytes
    [link] = assert_one_click_on_the_wire(raw)
    assert link.startswith(f"{stack.api_url}/u/")
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Hi Anna of Acme" in html and "/t/" in html  # rendered, links tracked

    # The contact's history shows the campaign mail.
    history = ok(admin.get("/email/messages", params={"contact_id": contacts["anna"]}))["items"]
    assert [(m["campaign_id"], m["status"], m["list_type_id"]) for m in history] == [
        (campaign["id"], "sent", "marketing")
    ]
    assert history[0]["tracking"] == {"opens": True, "clicks": True}

    # The audience page delivered again, and as a new event: nobody is mailed twice.
    [page] = [e for e in envelopes(stack, tenant, "audience.page") if e["data"]["request_id"] == campaign["id"]]
    put_envelope(stack, page)
    put_envelope(stack, {**page, "id": new_id()})
    drain(stack, busy_ok=True)
    drain(stack, busy_ok=True)
    mails = _sent_mails(stack, list(ids.values()))
    assert [len(mails[ids[n]]) for n in ("anna", "eero")] == [1, 1]
    statuses_counted = ("recipients", "queued", "sent", "failed", "suppressed", "opted_out", "skipped")
    again = ok(admin.get(f"/campaigns/{campaign['id']}"))["stats"]
    assert {k: again[k] for k in statuses_counted} == {k: stats[k] for k in statuses_counted}

    # SES feedback reaches the campaign's counters and the contact's history.
    settle(stack, lambda: ok(admin.get(f"/campaigns/{campaign['id']}"))["stats"]["delivered"] == 2, busy_ok=True)
    [delivered] = ok(admin.get("/email/messages", params={"contact_id": contacts["anna"]}))["items"]
    assert delivered["delivery"] == "delivered" and delivered["delivered_at"], delivered

    # Done: no more changes; another tenant sees nothing.
    assert_problem(admin.patch(f"/campaigns/{campaign['id']}", json={"name": "x"}), 409)
    assert_problem(admin.post(f"/campaigns/{campaign['id']}/pause"), 409)
    stranger = api.as_(new_tenant(), "admin-1", "admin")
    assert_problem(stranger.get(f"/campaigns/{campaign['id']}"), 404)
    assert_problem(stranger.get(f"/campaigns/{campaign['id']}/recipients"), 404)
    assert_problem(stranger.post(f"/campaigns/{campaign['id']}/send"), 404)
    assert stranger.get("/campaigns").json()["items"] == []


def test_pause_holds_the_mails_resume_sends_them_cancel_skips_them(stack: LocalRuntime, world: dict[str, Any]) -> None:
    admin, contacts = world["admin"], world["contacts"]
    campaign = _campaign(world, tracking={"opens": False, "clicks": False})
    ids = [derived_id(campaign["once_scope"], contacts[n]) for n in ("anna", "eero")]
    assert_problem(admin.post(f"/campaigns/{campaign['id']}/pause"), 409)  # a draft is not sending
    assert_problem(admin.post(f"/campaigns/{campaign['id']}/resume"), 409)
    ok(admin.post(f"/campaigns/{campaign['id']}/send"))
    assert ok(admin.post(f"/campaigns/{campaign['id']}/pause"))["status"] == "paused"
    held = _settled(stack, admin, campaign["id"], lambda c: c["audience"]["complete"] and c["stats"]["queued"] == 2)
    drain(stack, busy_ok=True)
    assert held["status"] == "paused" and held["stats"]["sent"] == 0
    assert all(not m for m in _sent_mails(stack, ids).values())
    assert_problem(admin.patch(f"/campaigns/{campaign['id']}", json={"name": "x"}), 409)
    assert_problem(admin.delete(f"/campaigns/{campaign['id']}"), 409)
    # Eero opts out of marketing while his mail waits: the sender reads it at send time.
    created(admin.post("/email/list-types/marketing/opt-outs", json={"address": "eero@example.com"}))

    assert ok(admin.post(f"/campaigns/{campaign['id']}/resume"))["status"] == "sending"
    done = _settled(stack, admin, campaign["id"])
    stats = done["stats"]
    assert (stats["sent"], stats["opted_out"], stats["queued"]) == (1, 2, 0), stats  # bert's at staging, eero's now
    assert ok(admin.get(f"/email/messages/{ids[1]}"))["status"] == "opted_out"
    mails = _sent_mails(stack, ids)
    assert [len(m) for m in mails.values()] == [1, 0]
    removed = admin.delete("/email/list-types/marketing/opt-outs", params={"address": "eero@example.com"})
    assert removed.status_code == 204  # the module's later campaigns mail him again
    html = mails[ids[0]][0].get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "/t/" not in html and 'href="https://acme.example/x"' in html  # tracking off: links as written

    # Another campaign cancelled while paused: its mails are skipped, never sent.
    other = _campaign(world, name="Autumn")
    other_ids = [derived_id(other["once_scope"], contacts[n]) for n in ("anna", "eero")]
    ok(admin.post(f"/campaigns/{other['id']}/send"))
    ok(admin.post(f"/campaigns/{other['id']}/pause"))
    _settled(stack, admin, other["id"], lambda c: c["audience"]["complete"] and c["stats"]["queued"] == 2)
    cancelled = ok(admin.post(f"/campaigns/{other['id']}/cancel"))
    assert (
        cancelled["status"] == "cancelled" and cancelled["stats"]["skipped"] == 2 and cancelled["stats"]["queued"] == 0
    )
    assert_problem(admin.post(f"/campaigns/{other['id']}/resume"), 409)
    assert_problem(admin.post(f"/campaigns/{other['id']}/send"), 409)
    drain(stack, busy_ok=True)
    assert all(not m for m in _sent_mails(stack, other_ids).values())
    statuses = sorted(m["status"] for m in _recipients(admin, other["id"]).values())
    assert statuses == ["opted_out", "skipped", "skipped", "suppressed"]


def test_bad_input_is_refused_naming_the_field(api: Api, stack: LocalRuntime) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "admin-1", "admin")
    template = created(admin.post("/email/templates", json=TEMPLATE))
    good = {"name": "Spring", "template_id": template["id"], "list_type_id": "marketing"}
    assert_problem(
        admin.post("/campaigns", json={k: v for k, v in good.items() if k != "list_type_id"}), 422, "list_type_id"
    )
    assert_problem(admin.post("/campaigns", json={**good, "template_id": new_id()}), 422, "template_id")
    assert_problem(admin.post("/campaigns", json={**good, "list_type_id": "nope"}), 422, "list_type_id")
    assert_problem(
        admin.post("/campaigns", json={**good, "automatic_template_id": new_id()}), 422, "automatic_template_id"
    )
    assert_problem(admin.post("/campaigns", json={**good, "tracking": {"opens": "maybe"}}), 422, "tracking.opens")
    assert_problem(admin.post("/campaigns", json={**good, "name": ""}), 422, "name")
    assert admin.get("/campaigns").json()["items"] == []  # nothing was made

    campaign = created(admin.post("/campaigns", json=good))
    assert_problem(admin.patch(f"/campaigns/{campaign['id']}", json={"template_id": new_id()}), 422, "template_id")
    assert_problem(admin.patch(f"/campaigns/{campaign['id']}", json={"list_type_id": None}), 422, "list_type_id")
    read = f'"{campaign["version"]}"'
    changed = ok(admin.patch(f"/campaigns/{campaign['id']}", json={"name": "Summer"}, headers={"If-Match": read}))
    assert changed["name"] == "Summer" and changed["template_id"] == template["id"]
    assert_problem(admin.patch(f"/campaigns/{campaign['id']}", json={"name": "x"}, headers={"If-Match": read}), 412)
    assert_problem(
        admin.get(f"/campaigns/{campaign['id']}/recipients", params={"status": "bogus"}), 422, "query.status"
    )
    assert_problem(admin.post(f"/campaigns/{campaign['id']}/contacts", json={"contact_ids": []}), 422, "contact_ids")
    assert_problem(
        admin.post(f"/campaigns/{campaign['id']}/contacts", json={"contact_ids": [new_id()]}), 422, "contact_ids"
    )

    # 5 MB in all: in the input model, in what is left, and in the signed policy.
    file = {"name": "a.pdf", "content_type": "application/pdf"}
    assert_problem(
        admin.post(f"/campaigns/{campaign['id']}/attachments", json={**file, "size": 5 * MB + 1}), 422, "size"
    )
    upload = created(admin.post(f"/campaigns/{campaign['id']}/attachments", json={**file, "size": 4 * MB}))
    assert_problem(admin.post(f"/campaigns/{campaign['id']}/attachments", json={**file, "size": MB + 1}), 422, "size")
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    assert ["content-length-range", 1, 5 * MB] in policy["conditions"]
    upload_file(upload, "a.pdf", b"%PDF-1.4 x")
    confirmed = ok(admin.post(f"/campaigns/{campaign['id']}/attachments/{upload['attachment']['id']}/confirm"))
    assert [(a["status"], a["size"]) for a in confirmed["attachments"]] == [("uploaded", 10)]
    assert admin.delete(f"/campaigns/{campaign['id']}").status_code == 204
    assert_problem(admin.get(f"/campaigns/{campaign['id']}"), 404)


def test_a_missing_group_fails_the_campaign_visibly(stack: LocalRuntime, world: dict[str, Any]) -> None:
    campaign = _campaign(world, target_group_id=new_id())
    ok(world["admin"].post(f"/campaigns/{campaign['id']}/send"))
    failed = _settled(stack, world["admin"], campaign["id"], lambda c: c["status"] == "failed")
    assert failed["error"] and failed["stats"]["recipients"] == 0


def test_contacts_added_by_hand_get_the_automatic_template_once(stack: LocalRuntime, world: dict[str, Any]) -> None:
    admin, contacts = world["admin"], world["contacts"]
    campaign = _campaign(world, target_group_id=None, automatic_template_id=world["welcome"])
    first = ok(admin.post(f"/campaigns/{campaign['id']}/contacts", json={"contact_ids": [contacts["fred"]]}))
    [item] = first["items"]
    assert item["contact_id"] == contacts["fred"] and item["status"] == "queued"
    body = {"contact_ids": [contacts["fred"], contacts["dora"], contacts["bert"]]}
    again = {i["contact_id"]: i for i in ok(admin.post(f"/campaigns/{campaign['id']}/contacts", json=body))["items"]}
    assert again[contacts["fred"]]["message_id"] == item["message_id"]  # once
    assert again[contacts["dora"]]["status"] == "skipped"  # erased
    assert again[contacts["bert"]]["status"] == "opted_out"
    settle(stack, lambda: ok(admin.get(f"/campaigns/{campaign['id']}"))["stats"]["sent"] == 1, busy_ok=True)
    mails = _sent_mails(stack, [item["message_id"]])[item["message_id"]]
    assert len(mails) == 1 and mails[0]["Subject"] == "Welcome Fred" and mails[0]["List-Unsubscribe"]
    history = ok(admin.get("/email/messages", params={"contact_id": contacts["fred"]}))["items"]
    assert [(m["campaign_id"], m["subject"], m["status"]) for m in history] == [
        (campaign["id"], "Welcome Fred", "sent")
    ]
    dora = _recipients(admin, campaign["id"])[contacts["dora"]]
    assert dora["to"] == ""  # nothing of the erased contact is kept


def test_a_scheduled_campaign_sends_when_its_schedule_fires(stack: LocalRuntime, world: dict[str, Any]) -> None:
    admin, contacts = world["admin"], world["contacts"]
    campaign = _campaign(world, name="Later")
    name = f"campaign-{campaign['id']}"
    assert_problem(
        admin.post(f"/campaigns/{campaign['id']}/schedule", json={"send_at": "2020-01-01T09:00:00Z"}), 422, "send_at"
    )
    assert_problem(
        admin.post(f"/campaigns/{campaign['id']}/schedule", json={"send_at": "2031-01-01T09:00:00"}), 422, "send_at"
    )
    scheduled = ok(admin.post(f"/campaigns/{campaign['id']}/schedule", json={"send_at": "2031-01-05T09:00:00+02:00"}))
    assert scheduled["status"] == "scheduled" and scheduled["send_at"].startswith("2031-01-05T07:00:00")
    got = stack.client("scheduler").get_schedule(Name=name, GroupName="kontakt-dev")
    assert got["ScheduleExpression"] == "at(2031-01-05T07:00:00)"
    assert_problem(admin.patch(f"/campaigns/{campaign['id']}", json={"name": "x"}), 409)

    assert name not in stack.fire_schedules(datetime(2031, 1, 5, 6, 59, tzinfo=UTC))
    assert name in stack.fire_schedules(datetime(2031, 1, 5, 7, 0, tzinfo=UTC))
    done = _settled(stack, admin, campaign["id"])
    assert done["stats"]["sent"] == 2 and done["started_at"]
    ids = [derived_id(campaign["once_scope"], contacts[n]) for n in ("anna", "eero")]
    assert [len(m) for m in _sent_mails(stack, ids).values()] == [1, 1]
    # The same firing delivered again sends nothing more.
    job = {
        "job": "campaign.send",
        "tenant_id": world["tenant"],
        "campaign_id": campaign["id"],
        "scheduled_time": "2031-01-05T07:00:00Z",
    }
    sqs = stack.client("sqs")
    sqs.send_message(
        QueueUrl=sqs.get_queue_url(QueueName="kontakt-dev-email-jobs")["QueueUrl"], MessageBody=json.dumps(job)
    )
    drain(stack, busy_ok=True)
    assert [len(m) for m in _sent_mails(stack, ids).values()] == [1, 1]


def test_an_uploaded_attachment_goes_with_every_mail_of_a_target_group(
    stack: LocalRuntime, world: dict[str, Any]
) -> None:
    """The consumer stages the group's mails with the files bucket (it had none: every mail failed)."""
    admin, contacts = world["admin"], world["contacts"]
    campaign = _campaign(world, name="With a file")
    file = {"name": "offer.pdf", "content_type": "application/pdf", "size": 16}
    upload = created(admin.post(f"/campaigns/{campaign['id']}/attachments", json=file))
    content = b"%PDF-1.4 the offer"
    upload_file(upload, "offer.pdf", content)
    ok(admin.post(f"/campaigns/{campaign['id']}/attachments/{upload['attachment']['id']}/confirm"))

    ok(admin.post(f"/campaigns/{campaign['id']}/send"))
    done = _settled(stack, admin, campaign["id"], attempts=4)  # a mail that cannot be built is retried for long
    assert (done["stats"]["sent"], done["stats"]["failed"]) == (2, 0), done["stats"]

    ids = [derived_id(done["once_scope"], contacts[name]) for name in ("anna", "eero")]
    mails = _sent_mails(stack, ids)
    for message_id in ids:
        [mail] = mails[message_id]
        files = [(a.get_filename(), a.get_content_type(), a.get_content()) for a in mail.iter_attachments()]
        assert files == [("offer.pdf", "application/pdf", content)], mail["To"]


def test_a_scheduled_campaign_sends_its_templates_though_they_are_changed_or_deleted(
    stack: LocalRuntime, world: dict[str, Any]
) -> None:
    """Issue 15 part 4: scheduling (or sending) copies the campaign's templates into it; what was
    scheduled is what goes, and a template stays free to change or delete (docs/decisions.md)."""
    admin, contacts = world["admin"], world["contacts"]
    autumn = {**TEMPLATE, "name": "Autumn", "subject": "Autumn news for {{ contact.first_name }}"}
    template = created(admin.post("/email/templates", json=autumn))
    hello = {"name": "Hello", "subject": "Hello {{ contact.first_name }}", "html": "<p>Hello</p>", "text": "Hello"}
    welcome = created(admin.post("/email/templates", json=hello))
    campaign = _campaign(world, name="Autumn", template_id=template["id"], automatic_template_id=welcome["id"])
    ok(admin.post(f"/campaigns/{campaign['id']}/schedule", json={"send_at": "2031-02-01T09:00:00Z"}))
    ok(admin.patch(f"/email/templates/{template['id']}", json={"subject": "Changed after scheduling"}))
    for deleted in (template["id"], welcome["id"]):
        assert admin.delete(f"/email/templates/{deleted}").status_code == 204
        assert_problem(admin.get(f"/email/templates/{deleted}"), 404)

    ok(admin.post(f"/campaigns/{campaign['id']}/send"))
    done = _settled(stack, admin, campaign["id"])
    assert (done["status"], done["stats"]["sent"], done.get("error")) == ("sent", 2, None), done
    ids = {name: derived_id(campaign["once_scope"], contacts[name]) for name in ("anna", "eero")}
    mails = _sent_mails(stack, list(ids.values()))
    assert [m[0]["Subject"] for m in mails.values()] == ["Autumn news for Anna", "Autumn news for Eero"]
    # a contact added by hand later gets the automatic template as it was scheduled
    [added] = ok(admin.post(f"/campaigns/{campaign['id']}/contacts", json={"contact_ids": [contacts["fred"]]}))["items"]
    assert settle(stack, lambda: _sent_mails(stack, [added["message_id"]])[added["message_id"]], busy_ok=True)
    assert _sent_mails(stack, [added["message_id"]])[added["message_id"]][0]["Subject"] == "Hello Fred"

    # A draft whose template is gone is refused when sent or scheduled, naming the field; nothing goes.
    gone = created(admin.post("/email/templates", json={**autumn, "name": "Gone"}))
    draft = _campaign(world, name="Gone", template_id=gone["id"])
    assert admin.delete(f"/email/templates/{gone['id']}").status_code == 204
    assert_problem(admin.post(f"/campaigns/{draft['id']}/send"), 422, "template_id")
    send_at = {"send_at": "2031-02-01T09:00:00Z"}
    assert_problem(admin.post(f"/campaigns/{draft['id']}/schedule", json=send_at), 422, "template_id")
    assert ok(admin.get(f"/campaigns/{draft['id']}"))["status"] == "draft"
