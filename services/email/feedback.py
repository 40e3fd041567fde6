"""SES feedback [issue 5 item 6]: deliveries, bounces, complaints, opens and clicks of our mails.

SES events reach the default bus (a configuration set's EventBridge destination), a rule puts them
on the feedback queue, and `handle_event` records each report once per (message, kind,
recipient[, link]): a "feedback" record with that derived id commits in the same transaction as the
message's history, the suppression or soft-bounce count, and the published `email.<kind>` event, so
a redelivered SES event finds the record and changes nothing.

A hard bounce or a complaint writes the address's "suppression" record (every list type); soft
bounces are counted per address and suppress at the tenant's `soft_bounce_limit` (tenant setting
"email", default 3); a delivery to the address starts the count again.

SES reports carry our message id (the Message-ID header) but no tenant: `email.sent` is routed to
the same queue and leaves a "message_tenant" record keyed by the message id alone.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from services.email import proofs, stats
from services.email.domain.feedback import DEFAULT_SOFT_BOUNCE_LIMIT, Feedback, Kind, classify, soft_limit_reached
from services.email.events import EmailBounced, EmailClicked, EmailFeedback
from services.email.service import Caller, service_caller
from services.email.store import EmailStore, Record
from services.email.transactional import KIND as MESSAGE
from services.email.transactional import SENDER_SETTING
from shared import clock
from shared.events import Envelope
from shared.ids import derived_id
from shared.observability import logger
from shared.store import ConcurrentUpdate, UnitOfWork

FEEDBACK = "feedback"
SOFT_BOUNCES = "soft_bounces"
SUPPRESSION = "suppression"
MESSAGE_TENANT = "message_tenant"
LOOKUP_TENANT = "_"  # the lookup records of message id -> tenant belong to no tenant
STORE = EmailStore()
HISTORY_LIMIT = 50  # the message keeps its latest reports; every one is also an event
RACE_WINDOW = timedelta(minutes=10)  # an SES report may overtake our email.sent by this much


class TenantUnknown(Exception):
    """An SES report came before the record of its mail's send: the queue retries it."""


def handle_event(event: dict[str, Any]) -> None:
    """One EventBridge event from the feedback queue: an SES report, or our own `email.sent`."""
    if event.get("source") == "aws.ses":
        detail = event.get("detail") or {}
        if detail.get("eventType") == "Send":
            proofs.record(detail)  # SES accepted a mail: the sender's proof that it went
            return
        for feedback in classify(detail):
            apply(feedback)
    elif event.get("detail-type") == "email.sent":
        envelope = Envelope.model_validate(event["detail"])
        remember_tenant(str(envelope.data["message_id"]), envelope.tenant_id)


def remember_tenant(message_id: str, tenant: str) -> None:
    """The tenant of a sent mail, keyed by the message id alone (SES reports name no tenant of ours)."""
    uow = UnitOfWork()
    STORE.add(uow, STORE.new(LOOKUP_TENANT, MESSAGE_TENANT, message_id, {"tenant_id": tenant}))
    with suppress(ConcurrentUpdate):  # a redelivered email.sent: already remembered
        uow.commit()


def tenant_of(feedback: Feedback) -> str | None:
    """The mail's tenant; None for a mail we never recorded as sent (not ours, or long gone)."""
    if feedback.tenant_id:  # the mail's SES tag, when the sender sets one
        return feedback.tenant_id
    record = STORE.get(LOOKUP_TENANT, MESSAGE_TENANT, str(feedback.message_id))
    if record is not None:
        return str(record.data["tenant_id"])
    if clock.now() - feedback.sent_at < RACE_WINDOW:
        raise TenantUnknown(feedback.message_id)  # email.sent is probably still on its way
    return None


def apply(feedback: Feedback) -> None:
    tenant = tenant_of(feedback) if feedback.message_id else None
    if tenant is None:
        logger.warning("SES event for a mail that is not ours, skipped", extra={"kind": feedback.kind.value})
        return
    caller = service_caller(tenant)
    for _ in range(5):
        try:
            _apply_once(caller, feedback)
            return
        except ConcurrentUpdate:  # another delivery or report changed the same records: read again
            continue
    raise ConcurrentUpdate()


def soft_bounce_limit(caller: Caller) -> int:
    return int(caller.setting(SENDER_SETTING).get("soft_bounce_limit") or DEFAULT_SOFT_BOUNCE_LIMIT)


def _apply_once(caller: Caller, feedback: Feedback) -> None:
    tenant, key = caller.tenant, derived_id(*feedback.key)
    if caller.store.get(tenant, FEEDBACK, key) is not None:
        logger.info("SES report already recorded", extra={"feedback_id": key})
        return
    message = caller.store.get(tenant, MESSAGE, str(feedback.message_id))
    if message is None:
        logger.warning("SES event for an unknown message, skipped", extra={"message_id": feedback.message_id})
        return
    at = clock.iso(feedback.at)
    uow = UnitOfWork()
    report = {"kind": feedback.kind.value, "recipient": feedback.recipient, "at": at}
    if feedback.bounce_type:
        report["bounce_type"] = feedback.bounce_type
    if feedback.url:
        report["url"] = feedback.url
    caller.store.add(uow, caller.store.new(tenant, FEEDBACK, key, {**report, "message_id": message.record_id}))
    _stage_campaign_count(uow, caller.tenant, message, feedback.kind)  # reads the stamps before this report's
    caller.store.replace(uow, message, _with_report(message.data, report))
    suppressed = _stage_address(caller, uow, feedback, at)
    uow.publish(caller.event(f"email.{feedback.kind.value}", _payload(message, feedback, suppressed), event_id=key))
    uow.commit()


def _stage_campaign_count(uow: UnitOfWork, tenant: str, message: Record, kind: Kind) -> None:
    """A campaign counts each kind once per recipient (the first open, not every open)."""
    campaign_id = message.data.get("campaign_id")
    if campaign_id and not message.data.get(f"{kind.value}_at"):
        stats.stage_counts(uow, tenant, str(campaign_id), message.record_id, {kind.value: 1})


def _with_report(data: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    changed = {**data, "feedback": [*data.get("feedback", []), report][-HISTORY_LIMIT:]}
    kind = report["kind"]
    if kind in (Kind.delivered, Kind.bounced, Kind.complained):
        changed["delivery"] = kind  # the latest word on delivery; opens and clicks do not change it
    changed[f"{kind}_at"] = data.get(f"{kind}_at") or report["at"]  # the first of each kind
    return changed


def _stage_address(caller: Caller, uow: UnitOfWork, feedback: Feedback, at: str) -> bool:
    """Suppression and the soft-bounce count of the recipient; whether the address is now suppressed."""
    address = feedback.recipient
    counter = caller.store.get(caller.tenant, SOFT_BOUNCES, derived_id(address))
    if feedback.kind == Kind.delivered and counter is not None:
        caller.store.remove(uow, counter)
        return False
    reason = {Kind.complained: "complaint", Kind.bounced: "hard_bounce"}.get(feedback.kind)
    if feedback.soft_bounce:
        count = int(counter.data.get("count", 0)) + 1 if counter else 1
        data = {"address": address, "count": count, "last_at": at}
        if counter is None:
            caller.store.add(uow, caller.store.new(caller.tenant, SOFT_BOUNCES, derived_id(address), data))
        else:
            caller.store.replace(uow, counter, data)
        reason = "soft_bounces" if soft_limit_reached(count, soft_bounce_limit(caller)) else None
    if not feedback.suppresses and reason != "soft_bounces":
        return False
    if caller.store.get(caller.tenant, SUPPRESSION, derived_id(address)) is None:
        record = caller.store.new(
            caller.tenant, SUPPRESSION, derived_id(address), {"address": address, "reason": reason, "at": at}
        )
        caller.store.add(uow, record)
    return True


def _payload(message: Record, feedback: Feedback, suppressed: bool) -> BaseModel:
    base = {
        "message_id": message.record_id,
        "contact_id": message.data.get("contact_id"),
        "campaign_id": message.data.get("campaign_id"),
        "to": feedback.recipient,
        "at": feedback.at,
    }
    if feedback.kind == Kind.bounced:
        return EmailBounced(**base, bounce_type=feedback.bounce_type or "soft", suppressed=suppressed)
    if feedback.kind == Kind.clicked:
        return EmailClicked(**base, url=feedback.url or "")
    return EmailFeedback(**base)
