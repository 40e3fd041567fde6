"""Scanner rules through `kontakt dev` (issue 21 item 3): admins write and reorder a mailbox's rules;
the inbound function applies them, in order, to each mail that opens a ticket."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import created, settle
from tests.e2e.scanner.helpers import await_tickets, mailbox, message, post_raw, smtp_send, tickets_of


def _rule(admin: Api, box: dict[str, Any], **body: Any) -> dict[str, Any]:
    return created(admin.post(f"/scanner/mailboxes/{box['id']}/rules", json={"name": "Sääntö", **body}))


def _names(admin: Api, box: dict[str, Any]) -> list[str]:
    answer = admin.get(f"/scanner/mailboxes/{box['id']}/rules")
    assert answer.status_code == 200, answer.text
    return [r["name"] for r in answer.json()["items"]]


def test_admins_write_rules_in_order_and_reorder_them_with_if_match(api: Api, admin: Api, tenant: str) -> None:
    box = mailbox(admin)
    first = _rule(admin, box, name="a")
    _rule(admin, box, name="b")
    _rule(admin, box, name="c", position=1)
    assert _names(admin, box) == ["c", "a", "b"]
    path = f"/scanner/mailboxes/{box['id']}/rules/{first['id']}"
    stale = admin.get(path).headers["ETag"]
    moved = admin.patch(path, json={"position": 3}, headers={"If-Match": stale})
    assert moved.status_code == 200 and moved.json()["position"] == 3
    assert _names(admin, box) == ["c", "b", "a"]
    refused = admin.patch(path, json={"position": 1}, headers={"If-Match": stale})
    assert refused.status_code == 412  # the move changed the rule: the old ETag no longer holds
    page = admin.get(f"/scanner/mailboxes/{box['id']}/rules", params={"limit": 2}).json()
    assert [r["position"] for r in page["items"]] == [1, 2] and page["next_cursor"]
    rest = admin.get(f"/scanner/mailboxes/{box['id']}/rules", params={"limit": 2, "cursor": page["next_cursor"]})
    assert [r["name"] for r in rest.json()["items"]] == ["a"] and rest.json()["next_cursor"] is None
    assert admin.delete(path).status_code == 204
    assert _names(admin, box) == ["c", "b"]
    user = api.as_(tenant, "user-1", "user")
    assert user.get(f"/scanner/mailboxes/{box['id']}/rules").status_code == 200
    assert user.post(f"/scanner/mailboxes/{box['id']}/rules", json={"name": "x"}).status_code == 403


def test_an_invalid_pattern_is_refused_naming_its_field(admin: Api) -> None:
    box = mailbox(admin)
    conditions = [
        {"field": "subject", "operator": "contains", "value": "("},
        {"field": "subject", "operator": "regex", "value": "(unclosed"},
    ]
    answer = admin.post(f"/scanner/mailboxes/{box['id']}/rules", json={"name": "x", "conditions": conditions})
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["conditions.1.value"]
    header = [{"field": "header", "operator": "contains", "value": "x"}]  # no header named
    assert (
        admin.post(f"/scanner/mailboxes/{box['id']}/rules", json={"name": "x", "conditions": header}).status_code == 422
    )


def test_rules_set_the_ticket_in_order_with_stop_and_skip(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    invoice = {"field": "subject", "operator": "contains", "value": "lasku"}
    _rule(
        admin,
        box,
        name="spam",
        conditions=[{"field": "header", "header": "X-Spam-Flag", "operator": "equals", "value": "YES"}],
        actions={"skip": True},
    )
    _rule(
        admin,
        box,
        name="vip",
        match="any",
        conditions=[
            {"field": "from", "operator": "regex", "value": r"@vip\.example\.fi$"},
            {"field": "cc", "operator": "starts_with", "value": "ceo@"},
        ],
        actions={"priority": "urgent", "tags": ["vip"]},
    )
    _rule(
        admin,
        box,
        name="billing",
        conditions=[invoice, {"field": "body", "operator": "contains", "value": "eur"}],
        actions={
            "category": "billing",
            "owner": {"type": "group", "id": "finance"},
            "tags": ["invoice"],
            "status": "open",
        },
        stop=True,
    )
    _rule(admin, box, name="never", conditions=[invoice], actions={"priority": "low", "tags": ["late"]})
    _rule(
        admin,
        box,
        name="to",
        conditions=[{"field": "to", "operator": "equals", "value": box["address"]}],
        actions={"tags": ["to"]},
    )

    spam = message(box["address"], subject="Halpaa", sender="spam@example.org")
    spam["X-Spam-Flag"] = "YES"
    smtp_send(stack, spam)
    smtp_send(stack, message(box["address"], subject="Lasku 12", sender="boss@vip.example.fi", body="Summa 10 EUR\n"))
    smtp_send(stack, message(box["address"], subject="Kysymys", sender="maija@example.fi"))
    tickets = await_tickets(stack, admin, box["id"], 2)
    settle(stack, lambda: True)
    by_subject = {t["subject"]: t for t in tickets_of(admin, box["id"])}
    assert sorted(by_subject) == ["Kysymys", "Lasku 12"], tickets  # the spam opened none
    billing = by_subject["Lasku 12"]
    assert (billing["priority"], billing["category"], billing["status"]) == ("urgent", "billing", "open")
    assert billing["owner"] == {"type": "group", "id": "finance"} and billing["tags"] == ["vip", "invoice"]
    plain = by_subject["Kysymys"]
    assert plain["tags"] == ["to"] and plain["priority"] == "normal" and plain["category"] is None


def test_a_catastrophic_pattern_is_cut_off_and_the_mail_still_opens_a_ticket(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    for n in range(5):
        _rule(
            admin,
            box,
            name=f"slow {n}",
            conditions=[{"field": "body", "operator": "regex", "value": "(a+)+$"}],
            actions={"skip": True},
        )
    _rule(admin, box, name="after", actions={"tags": ["reached"]})
    started = time.monotonic()
    smtp_send(stack, message(box["address"], subject="aaa", body="a" * 60_000 + "b\n"))
    [ticket] = await_tickets(stack, admin, box["id"])
    assert time.monotonic() - started < 60
    assert ticket["tags"] == ["reached"]  # the cut-off rules did not match (no skip), the next one did


def test_a_reply_is_not_ruled_again(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin)
    first = message(box["address"], subject="Alku")
    smtp_send(stack, first)
    [ticket] = await_tickets(stack, admin, box["id"])
    _rule(admin, box, name="skip all", actions={"skip": True})
    reply = message(box["address"], subject="Re: Alku")
    reply["In-Reply-To"] = first["Message-ID"]
    assert post_raw(admin, box["id"], reply.as_bytes()).status_code == 202
    count = settle(stack, lambda: admin.get(f"/tickets/{ticket['id']}").json()["article_count"] == 2)
    assert count


def test_the_sender_is_linked_to_their_contact_and_account(stack: LocalRuntime, admin: Api) -> None:
    account = created(admin.post("/accounts", json={"name": "Acme"}))
    contact = created(
        admin.post("/contacts", json={"first_name": "Olli", "email": "Olli@Acme.example", "account_id": account["id"]})
    )
    settle(stack, lambda: True)  # the scanner's contacts projection hears contact.created
    box = mailbox(admin)
    smtp_send(stack, message(box["address"], sender="olli@acme.example"))
    [ticket] = await_tickets(stack, admin, box["id"])
    assert (ticket["requester_contact_id"], ticket["requester_account_id"]) == (contact["id"], account["id"])
    assert [t["id"] for t in tickets_of(admin, box["id"])] == [ticket["id"]]
    listed = admin.get("/tickets", params={"contact_id": contact["id"]}).json()["items"]
    assert [t["id"] for t in listed] == [ticket["id"]]


def test_a_rule_creates_the_contact_of_an_unknown_sender(stack: LocalRuntime, admin: Api) -> None:
    box = mailbox(admin, owner={"type": "group", "id": "support"})
    _rule(admin, box, name="new customers", actions={"create_contact": True})
    smtp_send(stack, message(box["address"], sender="uusi.asiakas@example.fi"))
    [ticket] = await_tickets(stack, admin, box["id"])
    contact_id = ticket["requester_contact_id"]
    assert contact_id
    answer = settle(stack, lambda: (a := admin.get(f"/contacts/{contact_id}")).status_code == 200 and a)
    assert answer, "the directory did not create the contact"
    made = answer.json()
    assert made["email"] == "uusi.asiakas@example.fi" and made["last_name"] == "Meikäläinen"
    assert made["first_name"] == "Maija" and made["owner"] == {"type": "group", "id": "support"}
    smtp_send(stack, message(box["address"], subject="Toinen", sender="uusi.asiakas@example.fi"))
    tickets = await_tickets(stack, admin, box["id"], 2)
    assert {t["requester_contact_id"] for t in tickets} == {contact_id}  # one contact per address


def test_concurrent_moves_keep_every_rule_once(admin: Api) -> None:
    box = mailbox(admin)
    made = [_rule(admin, box, name=f"r{n}") for n in range(6)]

    def move(n: int) -> int:
        rule = made[n]
        path = f"/scanner/mailboxes/{box['id']}/rules/{rule['id']}"
        return int(admin.patch(path, json={"position": 1 + (n * 5) % 6}).status_code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(move, range(6)))
    assert statuses == [200] * 6
    listed = admin.get(f"/scanner/mailboxes/{box['id']}/rules").json()["items"]
    assert sorted(r["name"] for r in listed) == [f"r{n}" for n in range(6)]  # none lost, none twice
    assert [r["position"] for r in listed] == [1, 2, 3, 4, 5, 6]
