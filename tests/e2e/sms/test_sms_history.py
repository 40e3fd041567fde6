"""A contact's history lists its SMS (issue 19 item 3): the messages sent to it (from the API and
from `sms.send_requested`) and the replies it sent, through `GET /sms/messages?contact_id=` and
`GET /sms/inbound?contact_id=`, by the kernel's rule of who sees a contact."""

from __future__ import annotations

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, created, drain, put_envelope, settle, walk
from tests.e2e.sms.test_sms_inbound import mobile, reply, sent_to
from tests.e2e.sms.test_sms_messages import ready
from tests.e2e.sms.test_sms_requests import message_id_of, request


def ids(api: Api, path: str, **params: str) -> list[str]:
    return [str(m["id"]) for m in walk(api, path, **params)]


def test_a_contacts_sms_are_listed_to_those_who_see_the_contact(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    ready(admin, 20)
    user = admin.as_(tenant, "user-1", "user")
    other = admin.as_(tenant, "user-2", "user")
    raw, number = mobile()
    own = str(created(user.post("/contacts", json={"first_name": "Oma", "mobile": raw}))["id"])
    drain(stack, busy_ok=True)
    first = sent_to(stack, user, own, number)
    asked = request(tenant, own, requested_by={"user_id": "user-1", "role": "user", "groups": []})
    put_envelope(stack, asked)
    requested = message_id_of(asked)
    assert settle(stack, lambda: user.get(f"/sms/messages/{requested}").status_code == 200)
    reply(stack, number, "Selvä, kiitos!")
    received = settle(stack, lambda: ids(user, "/sms/inbound", contact_id=own))

    assert ids(user, "/sms/messages", contact_id=own) == [requested, first["id"]]  # newest first
    assert len(received) == 1 and user.get("/sms/inbound", params={"contact_id": own}).json()["items"][0]["text"] == (
        "Selvä, kiitos!"
    )
    assert ids(admin, "/sms/messages", contact_id=own) == [requested, first["id"]]
    assert ids(admin, "/sms/inbound", contact_id=own) == received
    # Another user does not see the contact: its history is empty for them, as an unknown contact's.
    assert ids(other, "/sms/messages", contact_id=own) == [] and ids(other, "/sms/inbound", contact_id=own) == []
    assert ids(other, "/sms/messages") == [] and ids(other, "/sms/inbound") == []
    assert_problem(other.get(f"/sms/messages/{first['id']}"), 404)


def test_a_deleted_contacts_sms_are_not_opened_to_every_user(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    ready(admin, 20)
    user = admin.as_(tenant, "user-1", "user")
    raw, number = mobile()
    theirs = str(created(admin.post("/contacts", json={"first_name": "Salainen", "mobile": raw}))["id"])
    drain(stack, busy_ok=True)
    message = sent_to(stack, admin, theirs, number)
    reply(stack, number, "Älkää soittako.")
    received = settle(stack, lambda: ids(admin, "/sms/inbound", contact_id=theirs))
    assert ids(user, "/sms/messages", contact_id=theirs) == [] and ids(user, "/sms/inbound") == []

    assert admin.delete(f"/contacts/{theirs}").status_code == 204
    probe = {"contact_id": theirs, "number_field": "mobile", "text": "Hei"}
    assert settle(stack, lambda: admin.post("/sms/messages", json=probe).status_code == 422), "never heard of it"
    # Its owner is gone with it: still out of the user's sight, while an admin keeps the history.
    assert ids(user, "/sms/messages", contact_id=theirs) == [] and ids(user, "/sms/messages") == []
    assert ids(user, "/sms/inbound", contact_id=theirs) == [] and ids(user, "/sms/inbound") == []
    assert_problem(user.get(f"/sms/messages/{message['id']}"), 404)
    assert ids(admin, "/sms/messages", contact_id=theirs) == [message["id"]]
    assert ids(admin, "/sms/inbound", contact_id=theirs) == received
