"""Merged contacts in the SMS service (`contact.merged`, services/sms/merges.py) through
`kontakt dev`: the merged contact's messages and replies move to the survivor's history, each
once; its opt-out (STOP) holds for the survivor's number (a message to the survivor is refused);
the survivor's copy takes the merge's record; an old id resolves to the survivor; a late event of
the merged contact re-creates nothing; a crash after the marker and after the first moved message
and a second delivery leave every reference on the survivor exactly once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from infra.faults import Fault
from infra.runtime import LocalRuntime
from shared.ids import new_id
from tests.e2e.conftest import Api
from tests.e2e.helpers import (
    assert_moved,
    assert_problem,
    created,
    drain,
    envelopes,
    merge_envelope,
    new_tenant,
    put_envelope,
    quick_redelivery,
    settle,
    stored_data,
)
from tests.e2e.sms.test_sms_inbound import contact, mobile, reply, send, sent_to

TABLE = "kontakt-dev-sms"
EVENTS_QUEUE = "kontakt-dev-sms-events"


@pytest.fixture(scope="module")
def office(session_api: Api, stack: LocalRuntime) -> dict[str, Any]:
    """Anna (of Kauppa Oy) and Bea, each sent a message (Bea two), Bea's reply, then Bea's STOP;
    Puoti Oy, an account with no contact."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    assert admin.patch("/sms/settings", json={"active": True}).status_code == 200
    assert admin.post("/sms/credits", json={"credits": 20}).status_code == 201
    (anna_raw, anna_number), (bea_raw, bea_number) = mobile(), mobile()
    accounts = {n: created(admin.post("/accounts", json={"name": f"{n} Oy"}))["id"] for n in ("kauppa", "puoti")}
    anna = {"first_name": "Anna", "mobile": anna_raw, "account_id": accounts["kauppa"]}
    ids = {"anna": created(admin.post("/contacts", json=anna))["id"], "bea": contact(admin, stack, bea_raw)}
    sent = [sent_to(stack, admin, ids["anna"], anna_number)["id"]]
    sent += [sent_to(stack, admin, ids["bea"], bea_number)["id"] for _ in range(2)]
    reply(stack, bea_number, "Kiitos!")
    assert settle(stack, lambda: admin.get("/sms/inbound", params={"contact_id": ids["bea"]}).json()["items"])
    reply(stack, bea_number, "STOP")
    assert settle(stack, lambda: [o["number"] for o in admin.get("/sms/opt-outs").json()["items"]] == [bea_number])
    numbers = {"anna": anna_number, "bea": bea_number}
    return {"tenant": tenant, "admin": admin, "ids": ids, "sent": sent, "numbers": numbers, "accounts": accounts}


def history(admin: Api, path: str, contact_id: str) -> list[str]:
    return [m["id"] for m in admin.get(path, params={"contact_id": contact_id}).json()["items"]]


def state(admin: Api, ids: dict[str, str]) -> dict[str, Any]:
    return {
        "messages": {n: history(admin, "/sms/messages", i) for n, i in ids.items()},
        "replies": {n: history(admin, "/sms/inbound", i) for n, i in ids.items()},
        "opt_outs": sorted((o["number"], o["contact_id"]) for o in admin.get("/sms/opt-outs").json()["items"]),
        "balance": admin.get("/sms/balance").json(),
    }


def preview(admin: Api, contact_id: str, text: str = "Hi {{ contact.first_name }}") -> str | None:
    response = admin.post("/sms/preview", json={"text": text, "contact_id": contact_id})
    return str(response.json()["text"]) if response.status_code == 200 else None


def test_a_merge_killed_midway_moves_every_message_and_keeps_the_opt_out_once(
    office: dict[str, Any], stack: LocalRuntime
) -> None:
    admin, ids, tenant, numbers = office["admin"], office["ids"], office["tenant"], office["numbers"]
    replies = history(admin, "/sms/inbound", ids["bea"])
    survivor = admin.get(f"/contacts/{ids['anna']}").json()
    record = {**survivor, "first_name": "Anna-Bea", "version": int(survivor["version"]) + 1}
    envelope = merge_envelope(tenant, "contact", record, [ids["bea"]])
    drain(stack, busy_ok=True)
    assert stack.functions is not None
    killed = [Fault("dynamodb", "TransactWriteItems", "after") for _ in range(2)]  # each fires once, in turn
    with (
        quick_redelivery(stack, EVENTS_QUEUE),
        stack.functions.configured("SmsConsumerFunction", faults=killed) as armed,
    ):
        put_envelope(stack, envelope)
        assert settle(stack, lambda: preview(admin, ids["anna"]) == "Hi Anna-Bea", busy_ok=True)
        assert all(f.fired for f in armed)  # killed after the marker and after the first moved message

    after = state(admin, ids)
    assert Counter(after["messages"]["anna"]) == Counter(office["sent"])  # each once
    assert Counter(after["replies"]["anna"]) == Counter(replies)
    for path in ("/sms/messages", "/sms/inbound"):  # the merged contact's: 301 to the survivor's
        assert_moved(admin, path, ids["bea"], ids["anna"], contact_id=ids["bea"])
    # Bea's STOP holds for the survivor's number too, and names the survivor.
    assert after["opt_outs"] == sorted([(numbers["anna"], ids["anna"]), (numbers["bea"], ids["anna"])])

    # Delivered again: nothing changes.
    put_envelope(stack, {**envelope, "id": new_id()})
    drain(stack, busy_ok=True)
    assert state(admin, ids) == after

    # A message to the survivor, or naming the merged id (resolved to it), is refused: opted out.
    for named in (ids["anna"], ids["bea"]):
        refused = assert_problem(send(admin, named), 422, "number_field")
        assert [e["code"] for e in refused["errors"]] == ["opted_out"]
    assert preview(admin, ids["bea"]) == "Hi Anna-Bea"
    assert state(admin, ids) == after  # nothing reserved

    # A late update of the merged contact re-creates no copy of it.
    [created] = [e for e in envelopes(stack, tenant, "contact.created") if e["data"]["id"] == ids["bea"]]
    data = created["data"]
    late_update = {**data, "record": {**data["record"], "first_name": "Late", "version": 9}}
    put_envelope(stack, {**created, "id": new_id(), "type": "contact.updated", "data": late_update})
    drain(stack, busy_ok=True)
    assert stored_data(stack, TABLE, tenant, "recipient", ids["bea"]) == {"gone": "merged"}


def test_an_account_merge_refreshes_the_survivor_and_drops_the_merged_copy(
    office: dict[str, Any], stack: LocalRuntime
) -> None:
    admin, tenant, accounts = office["admin"], office["tenant"], office["accounts"]
    kept = admin.get(f"/accounts/{accounts['kauppa']}").json()
    record = {**kept, "name": "Kauppa ja Puoti Oy", "version": int(kept["version"]) + 1}
    envelope = merge_envelope(tenant, "account", record, [accounts["puoti"]])
    for _ in range(2):  # delivered twice
        put_envelope(stack, {**envelope, "id": new_id()})
    assert settle(stack, lambda: preview(admin, office["ids"]["anna"], "{{ account.name }}") == record["name"])
    assert stored_data(stack, TABLE, tenant, "recipient_account", accounts["puoti"]) == {"gone": "merged"}
