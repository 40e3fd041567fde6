"""Inbound SMS through `kontakt dev` (issue 19 item 4, and item 5's handset): a reply posted to
/dev/sms/inbound reaches SmsInboundQueue in SNS's envelope, is matched to its tenant by the message
it answers, and is a keyword (opt-out, opt-in, help) or an inbound message stored and published."""

from __future__ import annotations

import random
from typing import Any

import pytest
import requests

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, created, drain, envelopes, new_tenant, settle

TEXT = "Tervetuloa kevätmyyjäisiin lauantaina!"


def mobile() -> tuple[str, str]:
    """A Finnish mobile number of this test alone: (as a contact holds it, E.164)."""
    digits = f"{random.randrange(10**7):07d}"
    return f"040 {digits}", f"+35840{digits}"


def reply(stack: LocalRuntime, number: str, text: str) -> dict[str, Any]:
    answer = requests.post(stack.api_url + "/dev/sms/inbound", json={"from": number, "text": text}, timeout=10)
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


def handset(stack: LocalRuntime, number: str) -> list[dict[str, Any]]:
    """What the provider (the emulator) sent to the number, oldest first."""
    drain(stack, busy_ok=True)
    listed = requests.get(stack.api_url + "/dev/sms", params={"limit": 500}, timeout=10).json()
    return [m for m in reversed(listed) if m["to"] == number]


def send(api: Api, contact_id: str, **fields: Any) -> requests.Response:
    return api.post("/sms/messages", json={"contact_id": contact_id, "number_field": "mobile", "text": TEXT, **fields})


def sent_to(stack: LocalRuntime, api: Api, contact_id: str, number: str, **fields: Any) -> dict[str, Any]:
    """A message the provider accepted for the number (so a reply answers it)."""
    answer = settle(stack, lambda: (r := send(api, contact_id, **fields)).status_code == 201 and r)
    assert answer, "the SMS service never heard of the contact"
    message = dict(answer.json())
    assert settle(stack, lambda: any(m["context"].get("message_id") == message["id"] for m in handset(stack, number)))
    assert settle(stack, lambda: api.get(f"/sms/messages/{message['id']}").json()["status"] == "sent")
    return message


@pytest.fixture(scope="module")
def tenant() -> str:
    return new_tenant()


@pytest.fixture(scope="module")
def admin(session_api: Api, tenant: str) -> Api:
    admin = session_api.as_(tenant, "admin-1", "admin")
    assert admin.patch("/sms/settings", json={"active": True, "help_text": "Apua: 09 123 4567."}).status_code == 200
    assert admin.post("/sms/credits", json={"credits": 100}).status_code == 201
    return admin


def contact(admin: Api, stack: LocalRuntime, raw: str) -> str:
    contact_id = str(created(admin.post("/contacts", json={"first_name": "Maija", "mobile": raw}))["id"])
    drain(stack, busy_ok=True)
    return contact_id


def test_stop_opts_the_number_out_of_marketing_sms_and_start_back_in(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    raw, number = mobile()
    maija = contact(admin, stack, raw)
    sent_to(stack, admin, maija, number)

    reply(stack, number, "  sToP ")
    assert settle(stack, lambda: send(admin, maija).status_code == 422), "the opt-out never took effect"
    refused = assert_problem(send(admin, maija), 422, "number_field")
    assert [e["code"] for e in refused["errors"]] == ["opted_out"]
    balance = admin.get("/sms/balance").json()
    assert send(admin, maija).status_code == 422 and admin.get("/sms/balance").json() == balance  # nothing reserved
    opted = settle(stack, lambda: envelopes(stack, tenant, "sms.opted_out"))
    assert [(e["data"]["number"], e["data"]["contact_id"]) for e in opted] == [(number, maija)]

    # Transactional messages reach an opted-out number only when the tenant says so.
    assert_problem(send(admin, maija, transactional=True), 422, "number_field")
    assert admin.patch("/sms/settings", json={"transactional_to_opted_out": True}).status_code == 200
    assert send(admin, maija, transactional=True).status_code == 201
    assert_problem(send(admin, maija), 422, "number_field")  # marketing still not
    assert admin.patch("/sms/settings", json={"transactional_to_opted_out": False}).status_code == 200

    # The tenant's own words and START: back in.
    reply(stack, number, "Start")
    assert settle(stack, lambda: send(admin, maija).status_code == 201), "the opt-in never took effect"
