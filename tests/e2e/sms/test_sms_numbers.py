"""Inbound replies find their contact by either number (issue 19 item 4): the mobile number and the
phone number are both indexed, the mobile number wins when the two match different contacts, and
contacts projected before the index existed are placed once per tenant before its first lookup."""

from __future__ import annotations

from typing import Any

from infra import devpage
from infra.runtime import LocalRuntime
from shared.store import record_key
from tests.e2e.conftest import Api
from tests.e2e.helpers import created, drain, settle, table_name, walk
from tests.e2e.sms.test_sms_inbound import mobile, reply, sent_to
from tests.e2e.sms.test_sms_messages import ready


def person(admin: Api, stack: LocalRuntime, **numbers: str) -> str:
    contact_id = str(created(admin.post("/contacts", json={"first_name": "Maija", **numbers}))["id"])
    drain(stack, busy_ok=True)
    return contact_id


def inbound_of(admin: Api, stack: LocalRuntime, number: str, text: str) -> dict[str, Any]:
    """The stored inbound message `text` from `number`, once the inbound function handled it."""
    found = settle(
        stack, lambda: [m for m in walk(admin, "/sms/inbound") if (m["number"], m["text"]) == (number, text)]
    )
    assert found, f"the reply from {number} was never stored"
    return dict(found[0])


def test_a_reply_finds_its_contact_by_phone_and_mobile_wins(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    ready(admin, 20)
    raw, number = mobile()
    anna = person(admin, stack, mobile=raw)
    bert = person(admin, stack, phone=raw)  # the same number in another contact's phone field
    raw_c, number_c = mobile()
    cecilia = person(admin, stack, phone=raw_c)  # a mobile number kept in the phone field only
    sent_to(stack, admin, anna, number)
    sent_to(stack, admin, cecilia, number_c, number_field="phone")

    reply(stack, number_c, "Kiitos, tulen paikalle.")
    assert inbound_of(admin, stack, number_c, "Kiitos, tulen paikalle.")["contact_id"] == cecilia
    assert [m["text"] for m in walk(admin, "/sms/inbound", contact_id=cecilia)] == ["Kiitos, tulen paikalle."]
    reply(stack, number, "Kenelle tämä kuuluu?")
    assert inbound_of(admin, stack, number, "Kenelle tämä kuuluu?")["contact_id"] == anna  # mobile before phone
    assert walk(admin, "/sms/inbound", contact_id=bert) == []

    # Anna's mobile changes: the number is Bert's phone only, and finds him.
    assert admin.patch(f"/contacts/{anna}", json={"mobile": "050 000 0001"}).status_code == 200
    drain(stack, busy_ok=True)
    reply(stack, number, "Bert tässä.")
    assert settle(stack, lambda: inbound_of(admin, stack, number, "Bert tässä.")["contact_id"] == bert)
    # Cecilia's phone is removed: her companion entry goes with it.
    assert admin.patch(f"/contacts/{cecilia}", json={"phone": None}).status_code == 200
    drain(stack, busy_ok=True)
    reply(stack, number_c, "Vielä yksi.")
    assert inbound_of(admin, stack, number_c, "Vielä yksi.")["contact_id"] is None


def test_rows_projected_before_the_index_are_indexed_before_the_first_lookup(
    admin: Api, stack: LocalRuntime, tenant: str
) -> None:
    ready(admin, 20)
    raw_m, number_m = mobile()
    raw_p, number_p = mobile()
    dora = person(admin, stack, mobile=raw_m, phone=raw_p)
    sent_to(stack, admin, dora, number_m)
    sent_to(stack, admin, dora, number_p, number_field="phone")
    # As the sms table held it before: no number in the index, no phone entry, no note of the tenant's index.
    table, dynamodb = table_name(stack, "SmsTable"), stack.client("dynamodb")
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": record_key(tenant, "recipient", dora)}, "sk": {"S": "RECIPIENT"}},
        UpdateExpression="REMOVE gsi2pk, gsi2sk, #data.phone_index",
        ExpressionAttributeNames={"#data": "data"},
    )
    for kind in ("recipient_phone", "number_index"):
        record_id = dora if kind == "recipient_phone" else "number_index"
        dynamodb.delete_item(
            TableName=table, Key={"pk": {"S": record_key(tenant, kind, record_id)}, "sk": {"S": kind.upper()}}
        )

    reply(stack, number_m, "Mobiilista.")
    assert inbound_of(admin, stack, number_m, "Mobiilista.")["contact_id"] == dora
    reply(stack, number_p, "Lankapuhelimen kentästä.")
    assert inbound_of(admin, stack, number_p, "Lankapuhelimen kentästä.")["contact_id"] == dora
    marker = dynamodb.get_item(
        TableName=table,
        Key={"pk": {"S": record_key(tenant, "number_index", "number_index")}, "sk": {"S": "NUMBER_INDEX"}},
    )["Item"]
    assert marker["data"]["M"]["version"] == {"N": "2"} and "after" not in marker["data"]["M"]
    row = dynamodb.get_item(
        TableName=table, Key={"pk": {"S": record_key(tenant, "recipient", dora)}, "sk": {"S": "RECIPIENT"}}
    )["Item"]
    version = row["version"]
    reply(stack, number_m, "Taas.")  # the index is done: nothing is placed again
    assert inbound_of(admin, stack, number_m, "Taas.")["contact_id"] == dora
    again = dynamodb.get_item(
        TableName=table, Key={"pk": {"S": record_key(tenant, "recipient", dora)}, "sk": {"S": "RECIPIENT"}}
    )["Item"]
    assert again["version"] == version


def test_the_local_console_lists_inbound_messages_and_opt_outs(admin: Api, stack: LocalRuntime, tenant: str) -> None:
    ready(admin, 5)
    raw, number = mobile()
    eero = person(admin, stack, mobile=raw)
    sent_to(stack, admin, eero, number)
    reply(stack, number, "Soitan illalla.")
    inbound_of(admin, stack, number, "Soitan illalla.")
    reply(stack, number, "STOP")
    assert settle(stack, lambda: any(o["id"] == number for o in walk(admin, "/sms/opt-outs")))

    [panel] = [p for p in devpage.state(stack)["panels"] if p["name"] == "sms-inbound"]
    assert panel["title"] == "Inbound SMS and opt-outs", panel
    inbound = [m for m in panel["data"]["inbound"] if m["tenant"] == tenant]
    assert [(m["from"], m["text"], m["contact"]) for m in inbound] == [(number, "Soitan illalla.", eero)]
    opted = [o for o in panel["data"]["opt_outs"] if o["tenant"] == tenant]
    assert [(o["number"], o["keyword"], o["contact"]) for o in opted] == [(number, "STOP", eero)]
    reply(stack, number, "START")  # opted back in: no longer listed
    assert settle(stack, lambda: not any(o["id"] == number for o in walk(admin, "/sms/opt-outs")))
    [panel] = [p for p in devpage.state(stack)["panels"] if p["name"] == "sms-inbound"]
    assert [o for o in panel["data"]["opt_outs"] if o["tenant"] == tenant] == []
