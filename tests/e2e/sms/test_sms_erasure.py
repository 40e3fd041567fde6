"""GDPR erasure of a contact in the SMS service through `kontakt dev` (services/sms/erasure.py):
the contact's messages and replies lose the numbers and the texts and leave the contact's history,
a message still waiting is skipped and refunded, the accounting stays, the opt-out stays, and a
second delivery of `contact.erased` changes nothing more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import drain, new_tenant, put_envelope, settle
from tests.e2e.sms.test_sms_inbound import contact, mobile, reply, send, sent_to
from tests.e2e.sms.test_sms_sends import at_provider, group, messages_of, settled, shop, start


@pytest.fixture(scope="module")
def tenant() -> str:
    return new_tenant()


@pytest.fixture(scope="module")
def admin(session_api: Api, tenant: str) -> Api:
    admin = session_api.as_(tenant, "admin-1", "admin")
    assert admin.patch("/sms/settings", json={"active": True}).status_code == 200
    assert admin.post("/sms/credits", json={"credits": 20}).status_code == 201
    return admin


def state(admin: Api, message_ids: list[str]) -> dict[str, Any]:
    """What erasure must leave as it found it (or change once): the accounting and the records."""
    return {
        "balance": admin.get("/sms/balance").json(),
        "ledger": admin.get("/sms/ledger", params={"limit": 100}).json()["items"],
        "messages": [admin.get(f"/sms/messages/{i}").json() for i in message_ids],
        "inbound": admin.get("/sms/inbound").json()["items"],
        "opt_outs": admin.get("/sms/opt-outs").json()["items"],
    }


def test_erasure_forgets_the_person_keeps_the_accounting_and_the_opt_out(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    raw, number = mobile()
    maija = contact(admin, stack, raw)
    ours = sent_to(stack, admin, maija, number)
    reply(stack, number, "Kiitos, Maija Meikäläinen tulee!")
    assert settle(stack, lambda: admin.get("/sms/inbound", params={"contact_id": maija}).json()["items"])
    opening = (datetime.now(UTC) + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    window = {"start": f"{opening:%H:%M}", "end": f"{opening + timedelta(hours=1):%H:%M}", "time_zone": "UTC"}
    assert admin.patch("/sms/settings", json={"window": window}).status_code == 200
    held = send(admin, maija).json()["id"]  # marketing outside the window: waits
    assert settle(stack, lambda: admin.get(f"/sms/messages/{held}").json()["status"] == "waiting")
    reply(stack, number, "STOP")
    assert settle(stack, lambda: [o["number"] for o in admin.get("/sms/opt-outs").json()["items"]] == [number])
    before = state(admin, [ours["id"], held])
    assert before["balance"]["reserved"] == 1 and before["messages"][0]["to"] == number

    assert admin.post(f"/contacts/{maija}/erase").status_code == 200
    assert settle(stack, lambda: admin.get(f"/sms/messages/{ours['id']}").json()["text"] == "[erased]")
    drain(stack, busy_ok=True)
    after = state(admin, [ours["id"], held])

    sent, skipped = after["messages"]
    assert sent["to"] is None and sent["text"] == "[erased]" and sent["contact_id"] == maija
    kept = ("status", "parts", "credits", "sent_at", "created_at", "provider_message_id")
    assert {k: sent[k] for k in kept} == {k: before["messages"][0][k] for k in kept}
    assert (skipped["status"], skipped["reason"], skipped["to"], skipped["text"]) == (
        "skipped",
        "contact erased",
        None,
        "[erased]",
    )
    assert [(i["number"], i["text"], i["contact_id"]) for i in after["inbound"]] == [("[erased]", "[erased]", maija)]
    assert admin.get("/sms/messages", params={"contact_id": maija}).json()["items"] == []
    assert admin.get("/sms/inbound", params={"contact_id": maija}).json()["items"] == []
    # The waiting message's credit went back; nothing else moved; the opt-out stays.
    old, new = before["balance"], after["balance"]
    assert (new["available"], new["reserved"], new["charged"]) == (old["available"] + 1, 0, old["charged"])
    known = {e["id"] for e in before["ledger"]}
    assert {e["id"] for e in after["ledger"]} >= known
    new_entries = [(e["type"], e["credits"], e.get("message_id")) for e in after["ledger"] if e["id"] not in known]
    assert new_entries == [("refund", 1, held)]
    assert after["opt_outs"] == before["opt_outs"]

    # A second delivery (under another id, past the dedupe) changes nothing more.
    erased = {
        "id": "E-" + tenant,
        "type": "contact.erased",
        "version": 1,
        "tenant_id": tenant,
        "occurred_at": datetime.now(UTC).isoformat(),
        "actor": {"type": "user", "id": "admin-1"},
        "correlation_id": "E-" + tenant,
        "data": {"id": maija},
    }
    put_envelope(stack, erased)
    drain(stack, busy_ok=True)
    assert state(admin, [ours["id"], held]) == after


def test_a_waiting_message_of_a_send_is_skipped_counted_and_refunded(api: Api, stack: LocalRuntime) -> None:
    """A send's message held for the window when its contact is erased: skipped, the send's
    counters move from queued to skipped, its reserved credit goes back."""
    tenant, admin = shop(api, 10)
    opening = (datetime.now(UTC) + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    window = {"start": f"{opening:%H:%M}", "end": f"{opening + timedelta(hours=1):%H:%M}", "time_zone": "UTC"}
    assert admin.patch("/sms/settings", json={"window": window}).status_code == 200
    group_id, ids = group(admin, {"anna": {"mobile": mobile()[0]}})
    send_id = start(admin, group_id)["id"]
    held = settled(stack, admin, send_id, lambda s: s["status"] == "sending" and s["stats"]["queued"] == 1)
    message_id = settle(stack, lambda: [m["id"] for m in messages_of(admin, send_id).values()])[0]
    assert settle(stack, lambda: admin.get(f"/sms/messages/{message_id}").json()["status"] == "waiting")
    assert admin.get("/sms/balance").json()["reserved"] == 1

    assert admin.post(f"/contacts/{ids['anna']}/erase").status_code == 200
    after = settled(stack, admin, send_id, lambda s: s["stats"]["skipped"] == 1)
    assert (after["stats"]["queued"], after["stats"]["recipients"]) == (0, held["stats"]["recipients"])
    message = admin.get(f"/sms/messages/{message_id}").json()
    assert (message["status"], message["to"], message["text"]) == ("skipped", None, "[erased]")
    balance = admin.get("/sms/balance").json()
    assert (balance["available"], balance["reserved"], balance["charged"]) == (10, 0, 0)
    assert at_provider(stack, tenant) == []
