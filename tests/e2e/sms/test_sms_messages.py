"""One SMS to one contact through `kontakt dev` (issue 19 item 3b) and the balance under concurrent
sends (item 1): the contact from the SMS service's contacts projection, the number from its field,
credits reserved with the message or nothing written at all."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, created, drain, envelopes, settle, walk

TEXT = "Hei! Tilauksesi on noudettavissa."


def provider_sent(stack: LocalRuntime, tenant: str) -> list[str]:
    """The message ids of this tenant's SMS the provider (the emulator) accepted, from `/dev/sms`."""
    drain(stack, busy_ok=True)
    listed = requests.get(stack.api_url + "/dev/sms", params={"limit": 500}, timeout=10).json()
    return [m["context"]["message_id"] for m in listed if m["context"].get("tenant_id") == tenant]


def status_of(api: Api, message_id: str) -> str:
    return str(api.get(f"/sms/messages/{message_id}").json()["status"])


def ready(admin: Api, credits: int) -> None:
    assert admin.patch("/sms/settings", json={"active": True}).status_code == 200
    if credits:
        assert admin.post("/sms/credits", json={"credits": credits}).status_code == 201


def contact(admin: Api, stack: LocalRuntime, **fields: Any) -> str:
    """A contact the SMS service has heard of (its projection row written by the consumer)."""
    contact_id = str(created(admin.post("/contacts", json={"first_name": "Maija", **fields}))["id"])
    drain(stack, busy_ok=True)
    return contact_id


def send(api: Api, contact_id: str, **fields: Any) -> Any:
    return api.post("/sms/messages", json={"contact_id": contact_id, "number_field": "mobile", "text": TEXT, **fields})


def test_a_message_to_a_contact_reserves_its_parts_and_is_queued(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    ready(admin, 10)
    maija = contact(admin, stack, mobile="040 123 4567", phone="09 1234567")
    answer = settle(stack, lambda: (r := send(admin, maija, transactional=True)).status_code == 201 and r)
    assert answer, "the SMS service never heard of the contact"
    message = answer.json()
    assert answer.headers["Location"].endswith(f"/sms/messages/{message['id']}")
    assert message["to"] == "+358401234567" and message["status"] == "queued"
    assert (message["parts"], message["credits"], message["encoding"], message["transactional"]) == (
        1,
        1,
        "GSM-7",
        True,
    )
    assert message["text"] == TEXT and message["created_by"] == "admin-1"
    assert admin.get("/sms/balance").json()["available"] == 9  # reserved (then charged when sent)
    reservations = [e for e in walk(admin, "/sms/ledger") if e["type"] == "reservation"]
    assert [(e["credits"], e["message_id"]) for e in reservations] == [(1, message["id"])]

    # The sender hands it to the provider: sent, its part charged; the provider's receipt: delivered.
    assert settle(stack, lambda: status_of(admin, message["id"]) == "delivered"), status_of(admin, message["id"])
    sent = admin.get(f"/sms/messages/{message['id']}").json()
    assert (
        sent["provider_message_id"]
        and sent["sent_at"]
        and sent["delivered_at"]
        and {**sent, "status": "queued"}
        == {
            **message,
            "provider_message_id": sent["provider_message_id"],
            "sent_at": sent["sent_at"],
            "delivered_at": sent["delivered_at"],
            "version": sent["version"],
        }
    )
    assert admin.get("/sms/balance").json() == {"available": 9, "reserved": 0, "charged": 1}
    charges = [e for e in walk(admin, "/sms/ledger") if e["type"] == "charge"]
    assert [(e["credits"], e["message_id"]) for e in charges] == [(1, message["id"])]
    assert provider_sent(stack, tenant) == [message["id"]]
    # `sms.sent` reaches the activities service: a marketing activity of type sms on the contact.
    marketing = settle(stack, lambda: walk(admin, "/marketing-activities", contact_id=maija, type="sms"))
    assert [a["type"] for a in marketing] == ["sms"], marketing
    assert [m["id"] for m in walk(admin, "/sms/messages")] == [message["id"]]
    assert [m["id"] for m in walk(admin, "/sms/messages", contact_id=maija)] == [message["id"]]
    assert walk(admin, "/sms/messages", status="queued") == []

    # A long text takes parts (UCS-2: 67 units each) and credits alike.
    long = send(admin, maija, text="Ä€ ✓ " * 40)
    assert long.status_code == 201 and long.json()["parts"] == 3 and long.json()["encoding"] == "UCS-2"
    newest = walk(admin, "/sms/messages")
    assert [m["id"] for m in newest] == [long.json()["id"], message["id"]]

    # A retry with the same Idempotency-Key gets the first answer: one message, one reservation.
    key = {"Idempotency-Key": f"sms-{tenant}"}
    first = admin.post("/sms/messages", json={"contact_id": maija, "number_field": "mobile", "text": TEXT}, headers=key)
    again = admin.post("/sms/messages", json={"contact_id": maija, "number_field": "mobile", "text": TEXT}, headers=key)
    assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    ids = [message["id"], long.json()["id"], first.json()["id"]]
    assert settle(stack, lambda: sorted(provider_sent(stack, tenant)) == sorted(ids)), provider_sent(stack, tenant)
    assert settle(stack, lambda: admin.get("/sms/balance").json() == {"available": 5, "reserved": 0, "charged": 5})
    delivered = lambda: sorted(m["id"] for m in walk(admin, "/sms/messages", status="delivered"))  # noqa: E731
    assert settle(stack, lambda: delivered() == sorted(ids)), delivered()

    # A deleted contact is gone from the SMS service too (its row a tombstone): as if unknown.
    assert admin.delete(f"/contacts/{maija}").status_code == 204
    assert settle(stack, lambda: send(admin, maija).status_code == 422), "the deletion never reached the SMS service"
    assert_problem(send(admin, maija), 422, "contact_id")
    assert admin.get("/sms/balance").json() == {"available": 5, "reserved": 0, "charged": 5}


def test_refused_messages_name_the_field_and_reserve_nothing(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    maija = contact(admin, stack, mobile="123", phone="09 1234567")
    assert_problem(send(admin, maija), 403, "active")  # SMS off
    ready(admin, 2)
    settle(stack, lambda: send(admin, maija).json().get("errors", [{}])[0].get("field") == "number_field")
    assert_problem(send(admin, maija), 422, "number_field")  # an invalid number
    assert_problem(send(admin, maija, number_field="phone"), 422, "number_field")  # a landline
    assert_problem(send(admin, maija, number_field="fax"), 422, "number_field")
    nobody = contact(admin, stack, first_name="Ei numeroa")
    assert_problem(send(admin, nobody), 422, "number_field")  # no number at all
    assert_problem(send(admin, "01JUNKNOWN0000000000000000"), 422, "contact_id")
    assert_problem(send(admin, maija, text="   "), 422, "text")
    good = contact(admin, stack, first_name="Hyvä", mobile="050 555 0101")
    assert_problem(send(admin, good, text="x" * 400), 402)  # 3 parts, 2 credits left: nothing written
    admin.patch("/sms/settings", json={"max_parts": 1})
    assert_problem(send(admin, good, text="x" * 161), 422, "text")  # two parts over a limit of one
    assert admin.get("/sms/balance").json() == {"available": 2, "reserved": 0, "charged": 0}
    assert walk(admin, "/sms/messages") == []
    assert provider_sent(stack, tenant) == []


def test_a_user_sends_only_to_contacts_they_see(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    ready(admin, 10)
    user = admin.as_(tenant, "user-1", "user")
    hidden = contact(admin, stack, mobile="040 123 4567")  # owned by the admin
    own = str(created(user.post("/contacts", json={"first_name": "Oma", "mobile": "050 555 0101"}))["id"])
    sent = settle(stack, lambda: (r := send(user, own)).status_code == 201 and r)
    assert sent, "the SMS service never heard of the user's contact"
    assert_problem(send(user, hidden), 422, "contact_id")  # as if unknown
    theirs = send(admin, hidden).json()
    assert_problem(user.get(f"/sms/messages/{theirs['id']}"), 404)
    assert [m["id"] for m in walk(user, "/sms/messages")] == [sent.json()["id"]]
    assert walk(user, "/sms/messages", contact_id=hidden) == []
    stranger = admin.as_("other-" + tenant, "admin-1", "admin")
    assert_problem(stranger.get(f"/sms/messages/{theirs['id']}"), 404)
    assert settle(stack, lambda: admin.get("/sms/balance").json()["charged"] == 2)


def test_twenty_concurrent_sends_take_exactly_what_the_balance_covers(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    ready(admin, 7)  # covers 7 one-part messages of the 20
    maija = contact(admin, stack, mobile="040 123 4567")
    assert settle(stack, lambda: _known(admin, maija)), "the SMS service never heard of the contact"
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: send(admin, maija), range(20)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 7 + [402] * 13, [a.text for a in answers if a.status_code not in (201, 402)]
    for refused in (a for a in answers if a.status_code == 402):
        assert_problem(refused, 402)
        assert refused.json()["code"] == "insufficient_credits"
    accepted = {a.json()["id"] for a in answers if a.status_code == 201}
    balance = admin.get("/sms/balance").json()
    assert balance["available"] == 0 and balance["reserved"] + balance["charged"] == 7, balance
    reservations = [e for e in walk(admin, "/sms/ledger", limit=200) if e["type"] == "reservation"]
    assert sorted(e["message_id"] for e in reservations) == sorted(accepted)
    assert {m["id"] for m in walk(admin, "/sms/messages", limit=200)} == accepted
    # Only the accepted ones go out, each once, and each is charged.
    assert settle(stack, lambda: sorted(provider_sent(stack, tenant)) == sorted(accepted)), provider_sent(stack, tenant)
    assert {e["data"]["message_id"] for e in envelopes(stack, tenant, "sms.created")} == accepted  # the refused: none
    assert settle(stack, lambda: admin.get("/sms/balance").json() == {"available": 0, "reserved": 0, "charged": 7})
    assert time.monotonic() - started < 60


def _known(admin: Api, contact_id: str) -> bool:
    """Whether the SMS service has the contact: a send to its (empty) phone field is refused for the
    number, not for the contact, and writes nothing."""
    probe = admin.post("/sms/messages", json={"contact_id": contact_id, "number_field": "phone", "text": TEXT})
    return any(e.get("field") == "number_field" for e in probe.json().get("errors", []))


def test_a_message_the_provider_refuses_is_failed_and_refunded(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    ready(admin, 3)
    maija = contact(admin, stack, mobile="040 123 4567")
    assert settle(stack, lambda: _known(admin, maija)), "the SMS service never heard of the contact"
    sms = stack.client("pinpoint-sms-voice-v2")
    sms.delete_configuration_set(ConfigurationSetName="kontakt-dev-sms")  # the provider now refuses every send
    try:
        message = created(send(admin, maija))
        assert settle(stack, lambda: status_of(admin, message["id"]) == "failed"), status_of(admin, message["id"])
    finally:
        sms.create_configuration_set(ConfigurationSetName="kontakt-dev-sms")
    failed = admin.get(f"/sms/messages/{message['id']}").json()
    assert "ResourceNotFoundException" in failed["reason"] and failed["provider_message_id"] is None
    assert admin.get("/sms/balance").json() == {"available": 3, "reserved": 0, "charged": 0}
    ledger = [(e["type"], e["credits"], e.get("message_id")) for e in walk(admin, "/sms/ledger")]
    assert ledger[1:] == [("reservation", 1, message["id"]), ("refund", 1, message["id"])]
    assert provider_sent(stack, tenant) == []
