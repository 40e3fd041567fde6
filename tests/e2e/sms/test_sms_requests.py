"""`sms.send_requested` through `kontakt dev` (issue 19 item 3c): another service asks on the bus
for one SMS to one contact; it goes through the checks of `POST /sms/messages`, once per request id
however often it is delivered, and a request that cannot be sent is recorded with its status and
answered with `sms.failed` (nothing at the provider, no credits taken)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from infra.runtime import LocalRuntime
from shared.ids import derived_id, new_id
from tests.e2e.conftest import Api
from tests.e2e.helpers import created, drain, envelopes, put_envelope, put_stored, settle, table_name, walk
from tests.e2e.sms.test_sms_messages import contact, provider_sent, ready, status_of

TEXT = "Muistutus: huomenna klo 10, {{ contact.first_name }}."


def request(tenant: str, contact_id: str, requester: str = "workflows", **data: Any) -> dict[str, Any]:
    """An `sms.send_requested` envelope from `requester` (a new request id unless `data` names one)."""
    return {
        "id": new_id(),
        "type": "sms.send_requested",
        "version": 1,
        "tenant_id": tenant,
        "occurred_at": datetime.now(UTC).isoformat(),
        "actor": {"type": "service", "id": requester},
        "correlation_id": new_id(),
        "data": {"request_id": new_id(), "contact_id": contact_id, "text": TEXT, **data},
    }


def message_id_of(envelope: dict[str, Any]) -> str:
    """The id of the message a request makes (services/sms/requests.py: tenant and request id)."""
    return derived_id("sms.send_requested", envelope["tenant_id"], envelope["data"]["request_id"])


def failures(stack: LocalRuntime, tenant: str) -> dict[str, dict[str, Any]]:
    """The `sms.failed` events of the tenant by their request id."""
    return {e["data"]["request_id"]: e["data"] for e in envelopes(stack, tenant, "sms.failed")}


def test_a_request_sends_one_sms_however_often_it_is_delivered(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    ready(admin, 10)
    maija = contact(admin, stack, mobile="040 765 4321")
    envelope = request(tenant, maija, transactional=True)
    message_id = message_id_of(envelope)
    put_envelope(stack, envelope)
    put_envelope(stack, envelope)  # delivered twice: still one message
    put_envelope(stack, {**envelope, "id": new_id()})  # the same request again as a new event: still one
    assert settle(stack, lambda: status_of(admin, message_id) == "delivered"), status_of(admin, message_id)
    drain(stack, busy_ok=True)
    put_envelope(stack, {**envelope, "id": new_id()})  # and once more after it went out
    drain(stack, busy_ok=True)

    assert provider_sent(stack, tenant) == [message_id]
    sent = settle(stack, lambda: envelopes(stack, tenant, "sms.sent"))
    assert [e["data"]["message_id"] for e in sent] == [message_id]
    message = admin.get(f"/sms/messages/{message_id}").json()
    assert (message["to"], message["text"], message["request_id"], message["transactional"]) == (
        "+358407654321",
        "Muistutus: huomenna klo 10, Maija.",
        envelope["data"]["request_id"],
        True,
    )
    assert message["created_by"] == "service:workflows"
    assert [m["id"] for m in walk(admin, "/sms/messages", contact_id=maija)] == [message_id]  # its history
    assert admin.get("/sms/balance").json() == {"available": 9, "reserved": 0, "charged": 1}
    assert failures(stack, tenant) == {}


def test_requests_that_cannot_be_sent_are_recorded_and_answered(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    maija = contact(admin, stack, mobile="040 111 2222", phone="09 1234567")
    off = request(tenant, maija)  # SMS not active yet
    put_envelope(stack, off)
    assert settle(stack, lambda: off["data"]["request_id"] in failures(stack, tenant))
    ready(admin, 2)
    user = admin.as_(tenant, "user-1", "user")  # maija is the admin's: the user may not see her
    nobody = contact(admin, stack, first_name="Ei numeroa")
    opted = contact(admin, stack, mobile="050 999 8888")
    put_stored(stack, table_name(stack, "SmsTable"), tenant, "opt_out", "+358509998888", {"number": "+358509998888"})
    acting = {"user_id": "user-1", "role": "user", "groups": []}
    cases = {
        "invalid_number": [
            request(tenant, nobody),  # no number
            request(tenant, maija, number_field="phone"),  # a landline
        ],
        "opted_out": [request(tenant, opted)],
        "failed": [
            request(tenant, maija, text="x" * 400),  # 3 parts, 2 credits: short
            request(tenant, "01JUNKNOWN0000000000000000"),  # no such contact
            request(tenant, maija, requested_by=acting),  # a contact the acting user may not see
            request(tenant, maija, text="{{ nothing.here }}"),  # an unknown tag
            request(tenant, maija, text="   "),  # a blank text
            request(tenant, maija, number_field="fax"),  # what the contract refuses
        ],
    }
    for envelopes_ in cases.values():
        for envelope in envelopes_:
            put_envelope(stack, envelope)
            put_envelope(stack, envelope)  # redelivered: one record, one answer
    every = [e for envelopes_ in cases.values() for e in envelopes_]
    wanted = {e["data"]["request_id"] for e in every}
    assert settle(stack, lambda: wanted <= set(failures(stack, tenant))), wanted - set(failures(stack, tenant))
    drain(stack, busy_ok=True)

    answered = failures(stack, tenant)
    for status, envelopes_ in {**cases, "failed": [off, *cases["failed"]]}.items():
        for envelope in envelopes_:
            message_id = message_id_of(envelope)
            event = answered[envelope["data"]["request_id"]]
            assert (event["message_id"], event["status"], event["receipt"]) == (message_id, status, None), event
            assert event["reason"], event
            message = admin.get(f"/sms/messages/{message_id}")
            assert message.status_code == 200, (envelope["data"], message.text)
            body = message.json()
            assert (body["status"], body["reason"], body["credits"]) == (status, event["reason"], 0), body
    assert len(envelopes(stack, tenant, "sms.failed")) == len(every) + 1  # one answer each, redelivered or not
    assert answered[cases["opted_out"][0]["data"]["request_id"]]["to"] == "+358509998888"
    assert provider_sent(stack, tenant) == []
    assert admin.get("/sms/balance").json() == {"available": 2, "reserved": 0, "charged": 0}
    assert [e for e in walk(admin, "/sms/ledger") if e["type"] == "reservation"] == []
    assert user.get(f"/sms/messages/{message_id_of(cases['failed'][2])}").status_code == 404


def test_a_request_acting_for_a_user_reaches_their_contacts(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    ready(admin, 5)
    user = admin.as_(tenant, "user-1", "user")
    own = str(created(user.post("/contacts", json={"first_name": "Oma", "mobile": "050 555 0101"}))["id"])
    drain(stack, busy_ok=True)
    envelope = request(tenant, own, requested_by={"user_id": "user-1", "role": "user", "groups": []})
    put_envelope(stack, envelope)
    message_id = message_id_of(envelope)
    assert settle(stack, lambda: user.get(f"/sms/messages/{message_id}").status_code == 200)
    message = user.get(f"/sms/messages/{message_id}").json()
    assert message["created_by"] == "user-1" and message["status"] in ("queued", "sending", "sent", "delivered")
    assert settle(stack, lambda: provider_sent(stack, tenant) == [message_id])


def test_a_requested_sms_the_handset_never_gets_is_answered_with_its_request_id(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    ready(admin, 5)
    unreachable = contact(admin, stack, mobile="+3584573979111")  # AWS's failing simulator number for Finland
    envelope = request(tenant, unreachable)
    put_envelope(stack, envelope)
    message_id = message_id_of(envelope)
    answered = settle(stack, lambda: failures(stack, tenant).get(envelope["data"]["request_id"]))
    assert answered, status_of(admin, message_id)
    assert (answered["message_id"], answered["status"], answered["receipt"]) == (
        message_id,
        "failed",
        "TEXT_UNREACHABLE",
    )
    assert provider_sent(stack, tenant) == [message_id]  # it was sent: the parts stay charged
    assert admin.get(f"/sms/messages/{message_id}").json()["reason"] == answered["reason"]
