"""Inbound SMS: the two-way messages AWS End User Messaging SMS publishes to SmsInboundTopic, which
SNS delivers to SmsInboundQueue (handlers/inbound.py drains it). An SQS body is SNS's envelope whose
`Message` is the two-way JSON: originationNumber, destinationNumber, messageKeyword, messageBody,
inboundMessageId, previousPublishedMessageId.

The tenant: one number can serve many tenants, so the message is matched by
`previousPublishedMessageId`, the provider's id of the last message we sent that handset from that
number (the sender records it: store.ProviderMessageItem). No match: logged and dropped.

The whole body, case- and whitespace-insensitively, may be a keyword (SmsSetup.keyword_action):
- opt-out: the number's `opt_out` record (id = E.164) is written at once, and `sms.opted_out`;
  POST /sms/messages refuses the number for marketing messages from then on;
- opt-in: the record is removed;
- help: one SendTextMessage answering with the tenant's `help_text`.
Anything else is stored as an `inbound` message on the contact matched by number
(recipients.by_number; or on none) and published as `sms.received`.

A redelivered message does nothing twice: each one commits the dedupe marker of its
`inboundMessageId` with its writes (a help answer is sent after that commit: at most once).
"""

from __future__ import annotations

import json
from contextlib import suppress
from functools import cache
from typing import Any

from services.sms.domain.inbound import SmsInbound, SmsOptOut
from services.sms.domain.messages import OPT_OUT
from services.sms.events import SmsOptedOut, SmsReceived
from services.sms.recipients import PROJECTION, by_number
from services.sms.service import Caller, service_caller
from services.sms.settings import SmsSettings
from services.sms.setup import setup
from services.sms.store import ProviderMessageItem, Record
from shared import clock
from shared.ids import derived_id, new_id
from shared.observability import logger
from shared.pagination import Page
from shared.service import partition_page
from shared.settings import load
from shared.store import AlreadyApplied, UnitOfWork, tenant_key

INBOUND = "inbound"
CONSUMER = "sms-inbound"


def two_way_message(body: str) -> dict[str, Any]:
    """The two-way JSON of an SQS body: SNS's envelope (`Message`), or the JSON itself (raw delivery)."""
    outer = json.loads(body)
    return json.loads(outer["Message"]) if "Message" in outer and "Type" in outer else outer


def receive(body: str) -> None:
    message = two_way_message(body)
    previous = str(message.get("previousPublishedMessageId") or "")
    origin = None
    if previous:
        with suppress(ProviderMessageItem.DoesNotExist):
            item = ProviderMessageItem.of(previous)
            origin = ProviderMessageItem.get(item.pk, item.sk, consistent_read=True)
    if origin is None:
        extra = {"inbound_message_id": message.get("inboundMessageId"), "previous": previous or None}
        logger.warning("inbound SMS answers no message of ours: dropped", extra=extra)
        return
    caller = service_caller(origin.tenant_id, open_tenant=False)
    number = str(message["originationNumber"])
    text = str(message.get("messageBody") or "")
    inbound_id = str(message["inboundMessageId"])
    settings = setup(caller)
    action = settings.keyword_action(text)
    uow = UnitOfWork()
    uow.mark_applied(CONSUMER, inbound_id)
    now = clock.now()
    contact_id = by_number(caller.tenant, number)
    if action == "opt_out":
        _opt_out(caller, uow, number, text, contact_id, inbound_id)
    elif action == "opt_in":
        record = caller.store.get(caller.tenant, OPT_OUT, number)
        if record is not None:
            uow.delete(record, check_version=False)
    elif action != "help":
        _store(caller, uow, message, contact_id, origin.message_id)
    try:
        uow.commit()
    except AlreadyApplied:
        logger.info("inbound SMS already handled", extra={"inbound_message_id": inbound_id})
        return
    logger.info("inbound SMS", extra={"tenant_id": caller.tenant, "action": action or INBOUND, "at": clock.iso(now)})
    if action == "help":
        _answer(caller, number, settings.help_text, settings.sender_id, inbound_id)


def _opt_out(caller: Caller, uow: UnitOfWork, number: str, text: str, contact_id: str | None, inbound_id: str) -> None:
    now = clock.now()
    data = {"number": number, "keyword": text.strip(), "contact_id": contact_id, "opted_out_at": clock.iso(now)}
    record = caller.store.get(caller.tenant, OPT_OUT, number)
    if record is None:
        record = caller.store.new(caller.tenant, OPT_OUT, number, data)
        record.gsi1sk = f"{data['opted_out_at']}#{number}"
        caller.store.add(uow, record)
    else:
        caller.store.replace(uow, record, data)
    event = SmsOptedOut(number=number, keyword=text.strip(), contact_id=contact_id, at=now)
    uow.publish(caller.event("sms.opted_out", event, event_id=derived_id("sms.opted_out", caller.tenant, inbound_id)))


def _store(caller: Caller, uow: UnitOfWork, message: dict[str, Any], contact_id: str | None, reply_to: str) -> None:
    now = clock.now()
    record_id = new_id()
    data: dict[str, Any] = {
        "number": str(message["originationNumber"]),
        "to": str(message.get("destinationNumber") or ""),
        "text": str(message.get("messageBody") or ""),
        "contact_id": contact_id,
        "in_reply_to": reply_to,
        "provider_inbound_id": str(message["inboundMessageId"]),
        "received_at": clock.iso(now),
    }
    record = caller.store.new(caller.tenant, INBOUND, record_id, data)
    record.gsi1sk = f"{data['received_at']}#{record_id}"
    record.link_contact(caller.tenant, contact_id)
    caller.store.add(uow, record)
    event = SmsReceived(
        inbound_id=record_id,
        number=data["number"],
        text=data["text"],
        contact_id=contact_id,
        in_reply_to=reply_to,
        received_at=now,
    )
    event_id = derived_id("sms.received", caller.tenant, str(message["inboundMessageId"]))
    uow.publish(caller.event("sms.received", event, event_id=event_id))


@cache
def _sms() -> Any:
    import boto3  # here: a batch that answers no keyword does not load boto3 (~15-20 ms of a cold start)

    return boto3.client("pinpoint-sms-voice-v2")


def _answer(caller: Caller, number: str, text: str, sender_id: str, inbound_id: str) -> None:
    _sms().send_text_message(
        DestinationPhoneNumber=number,
        MessageBody=text,
        MessageType="TRANSACTIONAL",
        OriginationIdentity=sender_id,
        ConfigurationSetName=load(SmsSettings).configuration_set,
        Context={"tenant_id": caller.tenant, "inbound_id": inbound_id},
    )


def list_opt_outs(caller: Caller, cursor: str | None, limit: int) -> Page[SmsOptOut]:
    """The numbers opted out of the tenant's marketing SMS, newest first (admins)."""
    caller.require_admin()
    key = tenant_key(caller.tenant, OPT_OUT.upper())
    return partition_page(
        caller, "sms-opt-outs", cursor, limit, Record.by_type, key, Record.gsi1sk, SmsOptOut, newest_first=True
    )


def list_inbound(caller: Caller, contact_id: str | None, cursor: str | None, limit: int) -> Page[SmsInbound]:
    """The inbound messages, or a contact's, newest first. A user who does not see every contact
    gets the messages of contacts they see (not those matched to no contact)."""
    if contact_id and PROJECTION.hidden_from(caller, [contact_id]):
        return Page[SmsInbound](items=[], next_cursor=None)
    if contact_id:
        index, key, sort_key = (
            Record.by_contact,
            tenant_key(caller.tenant, "CONTACT", contact_id, INBOUND.upper()),
            Record.gsi2sk,
        )
    else:
        key = tenant_key(caller.tenant, INBOUND.upper())
        index, sort_key = Record.by_type, Record.gsi1sk

    def visible(records: list[Record]) -> list[Record]:
        ids = [str(r.data["contact_id"]) for r in records if r.data.get("contact_id")]
        hidden = PROJECTION.hidden_from(caller, ids)
        return [r for r in records if r.data.get("contact_id") and r.data["contact_id"] not in hidden]

    return partition_page(
        caller,
        f"sms-inbound:{contact_id or ''}",
        cursor,
        limit,
        index,
        key,
        sort_key,
        SmsInbound,
        newest_first=True,
        keep=None if caller.sees_every_contact or contact_id else visible,
    )
