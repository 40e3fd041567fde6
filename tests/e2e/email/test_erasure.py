"""GDPR erasure of a contact in the email service (`contact.erased`, services/email/erasure.py).

A campaign mail to the contact goes the real way (email.send_requested -> sender -> SES on moto)
and is made a campaign's tracked mail as campaign staging writes it (as tests/e2e/email/
test_tracking.py does); it is opened and clicked through its /t/ links; the address bounced hard
once before (its suppression). A second mail to the contact waits on the send queue. The admin
erases the contact: the email API shows neither the address nor the content of the mails, nothing
lists under the contact, the campaign's counters stay, the waiting mail is never sent, the erasure
delivered again changes nothing, and the address stays suppressed.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from boto3.dynamodb.types import TypeDeserializer

from infra.runtime import LocalRuntime
from services.email.domain.messages import message_id_header
from services.email.domain.tracking import instrument, links_of
from shared.clock import iso, now
from shared.ids import derived_id, new_id
from shared.store import tenant_key
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import (
    TABLE,
    campaign_counts,
    link_keys,
    put_record,
    request_mail,
    sent_mails,
    stored_message,
)
from tests.e2e.helpers import drain, envelopes, put_envelope, put_stored, record_item_key, settle

ADDRESS = "maija.erased@example.fi"
SUBJECT = "Offer for Maija Meikäläinen"
HTML = '<html><body><p>Dear Maija</p><a href="https://shop.example/offer">Offer</a></body></html>'


def _settle(stack: LocalRuntime, ready: Any) -> Any:
    return settle(stack, ready, attempts=12, timeout=10, busy_ok=True)


def _tenant_items(stack: LocalRuntime, tenant: str) -> list[dict[str, Any]]:
    """Every item of the tenant in the email table, as plain values (an operator's view)."""
    found, start = [], None
    while True:
        page = stack.client("dynamodb").scan(TableName=TABLE, **({"ExclusiveStartKey": start} if start else {}))
        found += [i for i in page["Items"] if i["pk"]["S"].startswith(f"T#{tenant}#")]
        start = page.get("LastEvaluatedKey")
        if not start:
            return [{k: TypeDeserializer().deserialize(v) for k, v in item.items()} for item in found]


def _mails(stack: LocalRuntime, tenant: str) -> dict[str, dict[str, Any]]:
    """The tenant's message and feedback items, by key, as stored (version included)."""
    return {i["pk"]: i for i in _tenant_items(stack, tenant) if i.get("kind") in ("message", "feedback")}


def _queued_mail(stack: LocalRuntime, tenant: str, contact_id: str) -> str:
    """A mail to the contact staged and not yet sent (as `new_message_record` writes one)."""
    message_id, created = new_id(), iso(now())
    data = {"id": message_id, "to": ADDRESS, "contact_id": contact_id, "subject": SUBJECT, "html": HTML}
    data["message_id_header"] = message_id_header(message_id)
    put_stored(stack, TABLE, tenant, "message", message_id, {**data, "status": "queued", "created_at": created})
    stack.client("dynamodb").update_item(
        TableName=TABLE,
        Key=record_item_key(tenant, "message", message_id),
        UpdateExpression="SET gsi1sk = :s, gsi2pk = :c, gsi2sk = :s",
        ExpressionAttributeValues={
            ":s": {"S": f"{created}#{message_id}"},
            ":c": {"S": tenant_key(tenant, "CONTACT", contact_id, "MESSAGE")},
        },
    )
    return message_id


def test_erasure_forgets_the_person_in_mails_keeps_stats_and_suppression(
    stack: LocalRuntime, admin: Api, tenant: str
) -> None:
    contact = admin.post("/contacts", json={"first_name": "Maija", "email": ADDRESS}).json()
    cid = contact["id"]
    message_id = request_mail(
        stack, tenant, "newsletter", to=ADDRESS, to_name="Maija", contact_id=cid, subject=SUBJECT, html=HTML
    )
    assert _settle(stack, lambda: stored_message(stack, tenant, message_id).get("status") == "sent")
    campaign_id = new_id()
    stack.client("dynamodb").update_item(  # made a campaign's tracked mail, as staging writes it
        TableName=TABLE,
        Key=record_item_key(tenant, "message", message_id),
        UpdateExpression="SET #d.campaign_id = :c, #d.tracking = :t, #d.links = :l ADD #v :one",
        ExpressionAttributeNames={"#d": "data", "#v": "version"},
        ExpressionAttributeValues={
            ":c": {"S": campaign_id},
            ":t": {"M": {"opens": {"BOOL": True}, "clicks": {"BOOL": True}}},
            ":l": {"L": [{"S": link} for link in links_of(HTML, stack.api_url)]},
            ":one": {"N": "1"},
        },
    )
    html = instrument(HTML, stack.api_url, tenant, message_id, opens=True, clicks=True, keys=link_keys(stack))
    click, pixel = [u for u in html.split('"') if u.startswith(f"{stack.api_url}/t/")]
    assert requests.get(pixel, timeout=30).status_code == 200
    assert requests.get(click, allow_redirects=False, timeout=30).status_code == 302
    assert _settle(stack, lambda: envelopes(stack, tenant, "email.clicked"))
    assert _settle(stack, lambda: envelopes(stack, tenant, "email.opened"))
    put_record(stack, tenant, "suppression", derived_id(ADDRESS), {"address": ADDRESS, "reason": "hard_bounce"})
    waiting = _queued_mail(stack, tenant, cid)
    drain(stack, timeout=120)
    counts = campaign_counts(stack, tenant, campaign_id)
    assert counts.get("opened") == counts.get("clicked") == 1, counts
    assert [m["id"] for m in admin.get("/email/messages", params={"contact_id": cid}).json()["items"]] == [
        waiting,
        message_id,
    ]

    assert admin.post(f"/contacts/{cid}/erase").status_code == 200
    assert _settle(stack, lambda: stored_message(stack, tenant, message_id).get("erased_at"))
    drain(stack, timeout=120)

    mail = admin.get(f"/email/messages/{message_id}").json()
    assert mail["to"] == "" and mail["subject"] is None and mail["contact_id"] is None and mail["erased_at"]
    assert (mail["status"], mail["campaign_id"]) == ("sent", campaign_id)
    assert mail["opened_at"] and mail["clicked_at"] and mail["sent_at"]  # the stats' times stay
    assert admin.get("/email/messages", params={"contact_id": cid}).json()["items"] == []
    listed = {m["id"]: m for m in admin.get("/email/messages").json()["items"]}
    assert listed[message_id]["to"] == "" and listed[waiting]["to"] == ""
    assert campaign_counts(stack, tenant, campaign_id) == counts
    # Nowhere in the email table but the address-keyed suppression: not the address, nor the content.
    for item in _tenant_items(stack, tenant):
        text = json.dumps(item, default=str)
        assert "Meik" not in text and "Dear Maija" not in text, item
        assert ADDRESS not in text or item["kind"] == "suppression", item

    # The mail that waited is never sent: the sender marks it skipped.
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName="kontakt-dev-email-send")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"tenant_id": tenant, "message_id": waiting}))
    assert _settle(stack, lambda: stored_message(stack, tenant, waiting).get("status") == "skipped")
    assert waiting not in sent_mails(stack)
    assert admin.get(f"/email/messages/{waiting}").json()["subject"] is None

    # The erasure delivered again (a new delivery of the same event) changes nothing more.
    before = _mails(stack, tenant)
    [erased] = envelopes(stack, tenant, "contact.erased")
    put_envelope(stack, {**erased, "id": new_id()})
    drain(stack, timeout=120)
    assert _mails(stack, tenant) == before

    # A request that still names the contact (another service's, made before it heard) is not sent
    # nor recorded with the person or under the contact.
    late = request_mail(stack, tenant, "scanner", to="other.box@example.fi", contact_id=cid, subject=SUBJECT)
    assert _settle(stack, lambda: stored_message(stack, tenant, late).get("status") == "skipped")
    shown = admin.get(f"/email/messages/{late}").json()
    assert (shown["to"], shown["subject"], shown["contact_id"]) == ("", None, None), shown
    assert admin.get("/email/messages", params={"contact_id": cid}).json()["items"] == []
    assert late not in sent_mails(stack)

    # The address stays suppressed: a new mail to it is not sent.
    again = request_mail(stack, tenant, "scanner", to=ADDRESS, subject="Hello")
    assert _settle(stack, lambda: stored_message(stack, tenant, again).get("status") == "suppressed")
    assert admin.get(f"/email/messages/{again}").json()["status"] == "suppressed"
