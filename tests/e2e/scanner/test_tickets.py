"""Tickets through `kontakt dev` (issue 21 item 4): numbered per tenant, filtered, changed with
If-Match, seen by their owners by the directory's ownership rules, requesters matched by address."""

from __future__ import annotations

from typing import Any

from infra import devpage
from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, envelopes, settle, walk
from tests.e2e.scanner.helpers import await_tickets, mailbox, message, post_raw, smtp_send


def _ticket(
    stack: LocalRuntime, admin: Api, box: dict[str, Any], subject: str, sender: str = "maija@example.fi"
) -> dict[str, Any]:
    before = {t["id"] for t in admin.get("/tickets", params={"mailbox_id": box["id"], "limit": 200}).json()["items"]}
    assert post_raw(admin, box["id"], bytes(message(box["address"], subject=subject, sender=sender))).status_code == 202
    found = await_tickets(stack, admin, box["id"], len(before) + 1)
    [new] = [t for t in found if t["id"] not in before]
    return new


def test_tickets_are_numbered_per_tenant_without_gaps(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    numbers = [_ticket(stack, admin, box, f"Asia {n}")["number"] for n in range(3)]
    assert numbers == [1, 2, 3]


def test_a_sender_with_a_contact_becomes_the_requester(stack: LocalRuntime, admin: Api) -> None:
    contact = admin.post("/contacts", json={"first_name": "Maija", "email": "Maija.M@example.fi"}).json()
    box = mailbox(admin)
    settle(stack, lambda: True)  # the scanner's contacts projection hears of the contact
    ticket = _ticket(stack, admin, box, "Tunnettu lähettäjä", sender="maija.m@example.fi")
    assert ticket["requester_contact_id"] == contact["id"]
    stranger = _ticket(stack, admin, box, "Tuntematon", sender="someone@example.org")
    assert stranger["requester_contact_id"] is None
    assert [t["id"] for t in walk(admin, "/tickets", contact_id=contact["id"])] == [ticket["id"]]


def test_filters_select_the_tickets(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    other = mailbox(admin, owner={"type": "user", "id": "agent-1"})
    first = _ticket(stack, admin, box, "Ensimmäinen")
    second = _ticket(stack, admin, box, "Toinen")
    third = _ticket(stack, admin, other, "Kolmas")
    assert admin.patch(f"/tickets/{second['id']}", json={"status": "pending"}).status_code == 200

    def ids(**params: Any) -> list[str]:
        return [t["id"] for t in walk(admin, "/tickets", **params)]

    assert ids(mailbox_id=box["id"]) == [first["id"], second["id"]]
    assert ids(status="pending") == [second["id"]]
    assert ids(status="new", mailbox_id=box["id"]) == [first["id"]]
    assert ids(owner_id="agent-1") == [third["id"]]
    assert ids(owner_id="admin-1", status="pending") == [second["id"]]
    assert ids() == [first["id"], second["id"], third["id"]]
    assert_problem(admin.get("/tickets", params={"status": "lost"}), 422, "query.status")


def test_a_change_needs_the_current_version_and_is_published(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    box = mailbox(admin)
    ticket = _ticket(stack, admin, box, "Muutos")
    read = admin.get(f"/tickets/{ticket['id']}")
    tag = read.headers["ETag"]
    changed = admin.patch(
        f"/tickets/{ticket['id']}", json={"status": "open", "priority": "high"}, headers={"If-Match": tag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "open" and changed.json()["priority"] == "high"
    assert_problem(admin.patch(f"/tickets/{ticket['id']}", json={"status": "solved"}, headers={"If-Match": tag}), 412)
    assert admin.get(f"/tickets/{ticket['id']}").json()["status"] == "open"
    updates = settle(stack, lambda: envelopes(stack, tenant, "ticket.updated"))
    assert [(e["data"]["id"], e["data"]["changed"], e["data"]["ticket"]["status"]) for e in updates] == [
        (ticket["id"], ["priority", "status"], "open")
    ]
    assert_problem(admin.patch(f"/tickets/{ticket['id']}", json={"status": None}), 422, "status")


def test_owners_see_their_tickets_and_no_one_elses(stack: LocalRuntime, api: Api, admin: Api, tenant: str) -> None:
    agents = mailbox(admin, owner={"type": "group", "id": "support"})
    private = mailbox(admin, owner={"type": "user", "id": "agent-2"})
    shared = _ticket(stack, admin, agents, "Ryhmän")
    own = _ticket(stack, admin, private, "Oma")
    member = api.as_(tenant, "agent-1", "user", groups=["support"])
    outsider = api.as_(tenant, "agent-3", "user")
    owner = api.as_(tenant, "agent-2", "user")
    manager = api.as_(tenant, "manager-1", "manager")

    assert [t["id"] for t in walk(member, "/tickets")] == [shared["id"]]
    assert [t["id"] for t in walk(owner, "/tickets")] == [own["id"]]
    assert walk(outsider, "/tickets") == []
    assert {t["id"] for t in walk(manager, "/tickets")} == {shared["id"], own["id"]}
    for ticket in (shared, own):
        assert_problem(outsider.get(f"/tickets/{ticket['id']}"), 404)
        assert_problem(outsider.get(f"/tickets/{ticket['id']}/articles"), 404)
        assert_problem(outsider.patch(f"/tickets/{ticket['id']}", json={"status": "open"}), 404)
    assert_problem(member.get(f"/tickets/{own['id']}"), 404)
    assert member.patch(f"/tickets/{shared['id']}", json={"status": "open"}).status_code == 200
    # a group member is not "the owner": it may not hand the group's ticket on
    assert_problem(member.patch(f"/tickets/{shared['id']}", json={"owner": {"type": "user", "id": "agent-1"}}), 403)
    # the owner may not hand its ticket to someone out of its reach
    assert_problem(
        owner.patch(f"/tickets/{own['id']}", json={"owner": {"type": "user", "id": "agent-3"}}), 422, "owner"
    )
    given = manager.patch(f"/tickets/{own['id']}", json={"owner": {"type": "user", "id": "agent-3"}})
    assert given.status_code == 200 and given.json()["owner"] == {"type": "user", "id": "agent-3"}
    assert [t["id"] for t in walk(outsider, "/tickets")] == [own["id"]]


def test_another_tenant_sees_no_ticket(stack: LocalRuntime, api: Api, admin: Api) -> None:
    box = mailbox(admin)
    ticket = _ticket(stack, admin, box, "Salainen")
    [article] = admin.get(f"/tickets/{ticket['id']}/articles").json()["items"]
    stranger = api.as_("other-" + ticket["id"].lower()[:12], "admin-1", "admin")
    assert_problem(stranger.get(f"/tickets/{ticket['id']}"), 404)
    assert_problem(stranger.patch(f"/tickets/{ticket['id']}", json={"status": "open"}), 404)
    assert_problem(stranger.get(f"/tickets/{ticket['id']}/articles"), 404)
    assert_problem(stranger.get(f"/tickets/{ticket['id']}/articles/{article['id']}"), 404)
    assert_problem(stranger.post(f"/tickets/{ticket['id']}/notes", json={"text": "x"}), 404)
    assert_problem(stranger.post(f"/tickets/{ticket['id']}/replies", json={"text": "x"}), 404)
    assert stranger.get("/tickets").json()["items"] == []
    assert admin.get(f"/tickets/{ticket['id']}").json()["article_count"] == 1  # nothing was added
    assert_problem(admin.get(f"/tickets/{ticket['id']}/articles/{ticket['id']}"), 404)  # not an article of it


def test_smtp_mail_to_a_mailbox_is_a_ticket_through_the_api(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    html = message(box["address"], subject="HTML-viesti")
    html.add_alternative(
        '<p>Hei <b>tuki</b><script>alert(1)</script><img src="https://tracker.example/x.png"></p>', subtype="html"
    )
    smtp_send(stack, html)
    [ticket] = await_tickets(stack, admin, box["id"])
    [summary] = admin.get(f"/tickets/{ticket['id']}/articles").json()["items"]
    assert "text" not in summary and summary["subject"] == "HTML-viesti"
    article = admin.get(f"/tickets/{ticket['id']}/articles/{summary['id']}").json()
    assert "<b>tuki</b>" in article["html"] and "script" not in article["html"]
    assert 'src="https://tracker.example' not in article["html"]  # a remote image is not loaded


def test_the_console_page_lists_the_tickets(stack: LocalRuntime, admin: Api, tenant: str) -> None:
    box = mailbox(admin)
    ticket = _ticket(stack, admin, box, "Näkyykö konsolissa?", sender="pirkko@example.fi")
    [panel] = [p for p in devpage.state(stack)["panels"] if p["name"] == "tickets"]
    mine = [row for row in panel["data"] if row["tenant"] == tenant]
    assert [(r["number"], r["subject"], r["from"], r["status"], r["articles"]) for r in mine] == [
        (ticket["number"], "Näkyykö konsolissa?", "pirkko@example.fi", ticket["status"], 1)
    ]
