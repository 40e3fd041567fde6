"""Inbound SMS through `kontakt dev` (issue 19 item 4, and item 5's handset): a reply posted to
/dev/sms/inbound reaches SmsInboundQueue in SNS's envelope, is matched to its tenant by the message
it answers, and is a keyword (opt-out, opt-in, help) or an inbound message stored and published."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import requests

from infra import cli, sms_emulation
from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, created, drain, envelopes, new_tenant, settle, walk

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
    assert settle(stack, lambda: api.get(f"/sms/messages/{message['id']}").json()["status"] in ("sent", "delivered"))
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


def delivered_twice(stack: LocalRuntime, number: str, text: str) -> dict[str, Any]:
    """One inbound SMS that SNS delivers twice (at-least-once): the same two-way message, two envelopes."""
    message = sms_emulation.two_way_message(stack.emulator.sms_dir, number, text)
    assert stack.stack is not None
    url = stack.stack.queues["SmsInboundQueue"].url
    for _ in range(2):
        body = json.dumps(sms_emulation.sns_envelope(message, "sms-inbound"))
        stack.client("sqs").send_message(QueueUrl=url, MessageBody=body)
    return message


def test_help_answers_once_with_the_tenants_help_text(admin: Api, stack: LocalRuntime) -> None:
    raw, number = mobile()
    maija = contact(admin, stack, raw)
    sent_to(stack, admin, maija, number)

    delivered_twice(stack, number, "apua")  # the tenant's own help word, in lower case
    assert settle(stack, lambda: len(handset(stack, number)) >= 2), "no answer to HELP"
    drain(stack, busy_ok=True)
    answers = handset(stack, number)[1:]
    assert [(m["text"], m["type"]) for m in answers] == [("Apua: 09 123 4567.", "TRANSACTIONAL")]


def test_any_other_message_is_stored_on_the_contact_and_published_once(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    raw, number = mobile()
    maija = contact(admin, stack, raw)
    ours = sent_to(stack, admin, maija, number)

    message = delivered_twice(stack, number, "Kiitos, tulen paikalle! STOP")  # a keyword only as the whole text
    received = settle(
        stack, lambda: [e for e in envelopes(stack, tenant, "sms.received") if e["data"]["number"] == number]
    )
    drain(stack, busy_ok=True)
    received = [e for e in envelopes(stack, tenant, "sms.received") if e["data"]["number"] == number]
    assert [(e["data"]["text"], e["data"]["contact_id"], e["data"]["in_reply_to"]) for e in received] == [
        (message["messageBody"], maija, ours["id"])
    ]
    assert send(admin, maija).status_code == 201  # not opted out


def test_a_reply_goes_to_the_tenant_whose_message_it_answers(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    """One number serves many tenants: the answered message tells them apart."""
    other_tenant = new_tenant()
    other = admin.as_(other_tenant, "admin-1", "admin")
    assert other.patch("/sms/settings", json={"active": True}).status_code == 200
    assert other.post("/sms/credits", json={"credits": 10}).status_code == 201
    raw, number = mobile()
    mine, theirs = contact(admin, stack, raw), contact(other, stack, raw)
    sent_to(stack, admin, mine, number)
    sent_to(stack, other, theirs, number)  # the last message the handset got

    reply(stack, number, "STOPP")
    assert settle(stack, lambda: send(other, theirs).status_code == 422), "the other tenant's opt-out never took effect"
    assert send(admin, mine).status_code == 201  # this tenant's messages still go out
    assert [e for e in envelopes(stack, tenant, "sms.opted_out") if e["data"]["number"] == number] == []


def test_a_reply_to_no_message_of_ours_is_dropped(stack: LocalRuntime) -> None:
    _, number = mobile()
    message = reply(stack, number, "STOP")
    assert message["previousPublishedMessageId"] == ""
    drain(stack, busy_ok=True)
    assert not [e for e in stack.events(None) if number in json.dumps(e)]


def test_the_lists_of_opt_outs_and_inbound_messages(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    raw, number = mobile()
    maija = contact(admin, stack, raw)
    ours = sent_to(stack, admin, maija, number)
    reply(stack, number, "Mikä on osoitteenne?")
    reply(stack, number, "lopeta")  # the tenant's own opt-out word
    assert settle(stack, lambda: any(o["id"] == number for o in walk(admin, "/sms/opt-outs")))
    listed = [o for o in walk(admin, "/sms/opt-outs") if o["id"] == number]
    assert [(o["number"], o["keyword"], o["contact_id"]) for o in listed] == [(number, "lopeta", maija)]
    inbound = settle(stack, lambda: [m for m in walk(admin, "/sms/inbound") if m["number"] == number])
    assert [(m["text"], m["contact_id"], m["in_reply_to"]) for m in inbound] == [
        ("Mikä on osoitteenne?", maija, ours["id"])
    ]
    assert [m["id"] for m in walk(admin, "/sms/inbound", contact_id=maija)] == [inbound[0]["id"]]

    # Opt-outs are the admins'; a user sees the inbound messages of the contacts they see only.
    user = admin.as_(tenant, "user-9", "user")
    assert_problem(user.get("/sms/opt-outs"), 403)
    assert user.get("/sms/inbound").status_code == 200
    assert [m for m in walk(user, "/sms/inbound") if m["number"] == number] == []
    assert walk(user, "/sms/inbound", contact_id=maija) == []


def test_kontakt_sms_reply_plays_the_handset(
    admin: Api, stack: LocalRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, number = mobile()
    maija = contact(admin, stack, raw)
    ours = sent_to(stack, admin, maija, number)
    (tmp_path / ".kontakt").mkdir()
    (tmp_path / ".kontakt" / "dev.json").write_text(json.dumps({"api_url": stack.api_url}))
    monkeypatch.setattr(cli, "find_project_root", lambda: tmp_path)

    assert cli.main(["sms", "reply", number, "Nähdään", "huomenna"]) == 0
    printed = capsys.readouterr().out
    assert f"{number} -> " in printed and "'Nähdään huomenna'" in printed
    inbound = settle(stack, lambda: [m for m in walk(admin, "/sms/inbound", contact_id=maija)])
    assert [(m["text"], m["in_reply_to"]) for m in inbound] == [("Nähdään huomenna", ours["id"])]
    assert cli.main(["sms", "reply", "0401234567", "STOP"]) == 1  # not E.164: refused, nothing sent
