"""SES feedback [issue 5 item 6]: deliveries, bounces, complaints, rejections and delays of our mails
(and, through `apply`, the opens and clicks of Kontakt's own tracking links).

SES events reach the default bus (a configuration set's EventBridge destination), a rule puts them
on the feedback queue, and `handle_event` records each report once per (message, kind,
recipient[, link]): a "feedback" record with that derived id commits in the same transaction as the
message's history, the suppression or soft-bounce count, and the published `email.<kind>` event, so
a redelivered SES event finds the record and changes nothing.

A hard bounce or a complaint writes the address's "suppression" record (every list type); soft
bounces are counted per address and suppress at the tenant's `soft_bounce_limit` (tenant setting
"email", default 3); a delivery to the address starts the count again.

A Reject or Rendering Failure means SES did not send the mail after all: the message turns from
"sent" to "failed" with the reason (its campaign's counts move from sent to failed) and
`email.rejected` is published; the address is not suppressed (the mail was refused, not the
address). A report that arrives while the sender has not yet recorded the mail ("sending") is
retried later (`NotSettledYet`), so the two never overwrite each other. A DeliveryDelay is noted
in the message's history (`delayed_at`, and `delivery` "delayed" while nothing else is known):
no event, no count, no suppression; SES goes on trying and reports the delivery or the bounce.

The sender tags every mail with its tenant and message id (services/email/sending.py); SES gives
the tags back in each report. A report without a tenant tag is not ours (or from before the tags)
and is skipped with a warning. A report costs one BatchGet (its feedback record, the message, the
address's soft-bounce count and suppression) and one transaction; the reads of a whole SQS batch
are one BatchGet (`prefetch`, issue 18), and its reports one transaction where they touch no item
twice (`apply_batch`: the campaign counts are additions summed per shard), else one by one.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

from pydantic import BaseModel

from services.email import batch_reads, proofs, sending, stats
from services.email.domain.feedback import DEFAULT_SOFT_BOUNCE_LIMIT, Feedback, Kind, classify, soft_limit_reached
from services.email.domain.messages import KIND as MESSAGE
from services.email.domain.messages import SENDER_SETTING, MessageStatus
from services.email.service import Caller, service_caller
from services.email.store import EmailStore, Record
from shared import batch_scope, clock
from shared.contracts.messaging import EmailBounced, EmailClicked, EmailFeedback, EmailRejected
from shared.ids import derived_id
from shared.observability import logger
from shared.service import ensure_tenant
from shared.store import MAX_TRANSACTION_ITEMS, ConcurrentUpdate, UnitOfWork, record_key

FEEDBACK = "feedback"
SOFT_BOUNCES = "soft_bounces"
SUPPRESSION = "suppression"
STORE = EmailStore()
HISTORY_LIMIT = 50  # the message keeps its latest reports; every one is also an event
_READY: set[str] = set()  # tenants whose default settings this process has seen installed
UNCOUNTED = (Kind.rejected, Kind.delayed)  # not a campaign counter: a rejection moves the mail from sent to failed
UNPUBLISHED = (Kind.delayed,)


class NotSettledYet(Exception):
    """The report is about a mail whose sender has not recorded it yet: let the queue deliver it again."""


def handle_event(event: dict[str, Any]) -> None:
    """One EventBridge event from the feedback queue: an SES report of one of our mails."""
    if event.get("source") != "aws.ses":  # e.g. an email.sent the retired lookup rule queued
        logger.info("not an SES event, skipped", extra={"detail_type": event.get("detail-type")})
        return
    detail = event.get("detail") or {}
    if detail.get("eventType") == "Send":
        sending.record_proof(detail)  # SES accepted a mail: the sender's proof that it went
        return
    for feedback in classify(detail):
        apply(feedback)


def apply(feedback: Feedback) -> None:
    if not feedback.tenant_id or not feedback.message_id:
        logger.warning("SES event for a mail that is not ours, skipped", extra={"kind": feedback.kind.value})
        return
    caller = _caller(feedback.tenant_id)
    for _ in range(5):
        try:
            _apply_once(caller, feedback)
            return
        except ConcurrentUpdate:  # another delivery or report changed the same records: read again
            continue
    raise ConcurrentUpdate()


def _caller(tenant: str) -> Caller:
    """The service's caller for the tenant; its settings are installed once, not read per report."""
    caller = service_caller(tenant, open_tenant=False)
    if tenant not in _READY:
        ensure_tenant(caller)
        _READY.add(tenant)
    return caller


def soft_bounce_limit(caller: Caller) -> int:
    return int(caller.setting(SENDER_SETTING).get("soft_bounce_limit") or DEFAULT_SOFT_BOUNCE_LIMIT)


def _apply_once(caller: Caller, feedback: Feedback) -> None:
    tenant, key = caller.tenant, derived_id(*feedback.key)
    reads = _read(tenant, key, str(feedback.message_id), feedback.recipient)
    uow = UnitOfWork()
    shards: Shards = defaultdict(lambda: defaultdict(int))
    if _stage_report(caller, uow, feedback, reads, shards):
        _stage_shards(uow, shards)
        uow.commit()


Shards = dict[tuple[str, str, str], dict[str, int]]  # (tenant, campaign, shard) -> counter additions


def _stage_report(
    caller: Caller, uow: UnitOfWork, feedback: Feedback, reads: dict[str, Record], shards: Shards
) -> bool:
    """The report's writes in `uow`, its campaign counts added to `shards`; False when it has none
    (recorded already, or about a message we do not know). `reads`: what `_read` finds for it."""
    tenant, key = caller.tenant, derived_id(*feedback.key)
    if reads.get(FEEDBACK) is not None:
        logger.info("SES report already recorded", extra={"feedback_id": key})
        return False
    message = reads.get(MESSAGE)
    if message is None:
        logger.warning("SES event for an unknown message, skipped", extra={"message_id": feedback.message_id})
        return False
    if feedback.not_sent and message.data.get("status") == MessageStatus.sending:
        raise NotSettledYet(f"message {message.record_id} is still being sent")
    at = clock.iso(feedback.at)
    shown = _without_person(feedback) if message.data.get("erased_at") else feedback
    report = {"kind": shown.kind.value, "recipient": shown.recipient, "at": at}
    if shown.bounce_type:
        report["bounce_type"] = shown.bounce_type
    if shown.url:
        report["url"] = shown.url
    if shown.reason:
        report["reason"] = shown.reason
    caller.store.add(uow, caller.store.new(tenant, FEEDBACK, key, {**report, "message_id": message.record_id}))
    _count_campaign(shards, caller.tenant, message, feedback)  # reads the stamps before this report's
    caller.store.replace(uow, message, _with_report(message.data, report))
    suppressed = _stage_address(caller, uow, feedback, at, reads.get(SOFT_BOUNCES), reads.get(SUPPRESSION))
    if feedback.kind not in UNPUBLISHED:
        payload = _payload(message, shown, suppressed)
        uow.publish(caller.event(f"email.{feedback.kind.value}", payload, event_id=key))
    return True


def _without_person(feedback: Feedback) -> Feedback:
    """A report about a mail whose recipient was erased (GDPR, erasure.py): recorded and published
    without the address, the link or the provider's reason (the suppression still takes the address)."""
    return feedback.model_copy(update={"recipient": "", "url": None, "reason": None})


def _stage_shards(uow: UnitOfWork, shards: Shards) -> None:
    """The campaign counts of the reports in `uow`: one addition per shard item, however many reports."""
    for (tenant, campaign_id, shard), deltas in shards.items():
        stats.stage_shard_counts(uow, tenant, campaign_id, shard, dict(deltas))


def _report_keys(tenant: str, feedback_id: str, message_id: str, address: str) -> list[tuple[str, str]]:
    address_id = derived_id(address)
    ids = {FEEDBACK: feedback_id, MESSAGE: message_id, SOFT_BOUNCES: address_id, SUPPRESSION: address_id}
    return [(record_key(tenant, kind, record_id), kind.upper()) for kind, record_id in ids.items()]


def _read(tenant: str, feedback_id: str, message_id: str, address: str) -> dict[str, Record]:
    """The report's record (if seen), the message, the address's soft-bounce count and suppression:
    one consistent BatchGet, by kind (or what the batch's read found of them, each item once)."""
    return {item.kind: item for item in batch_reads.read_once(_report_keys(tenant, feedback_id, message_id, address))}


# ----------------------------------------------------------------------------- the batch's one read

BODIES = "email-feedback-bodies"  # the batch's message bodies, kept by the handler (handlers/feedback.py)


def prefetch(bodies: list[Any]) -> dict[tuple[str, str], Record | None]:
    """Read, in one consistent BatchGet, the items every report and proof of an SQS batch reads.

    Each item read is handed out once (`read_once`): a second report about the same message in the
    batch, or a retry after a conflict, reads it again, after the first one's write."""
    keys: list[tuple[str, str]] = []
    for body in bodies:
        detail = (body.get("detail") or {}) if isinstance(body, dict) and body.get("source") == "aws.ses" else {}
        if detail.get("eventType") == "Send":
            proof = proofs.proof_of(detail)
            if proof is not None and proof.tenant_id:
                keys.append((record_key(proof.tenant_id, MESSAGE, proof.message_id), MESSAGE.upper()))
            continue
        for feedback in classify(detail):
            if feedback.tenant_id and feedback.message_id:
                key = derived_id(*feedback.key)
                keys += _report_keys(feedback.tenant_id, key, str(feedback.message_id), feedback.recipient)
    unique = list(dict.fromkeys(keys))[:100]  # BatchGetItem's limit; the rest are read when used
    found: dict[tuple[str, str], Record | None] = dict.fromkeys(unique)
    if unique:
        for item in Record.batch_get(unique, consistent_read=True):
            found[(item.pk, item.sk)] = item
    return found


def apply_batch(bodies: list[Any]) -> set[int]:
    """The SQS batch's SES events taken before one by one: the Send proofs first (SES reports a
    mail's Send before anything else about it), then the reports together: staged from one read
    and committed in one transaction with the proofs to keep (`sending.record_proof`: a proof of a
    mail its sender may still be recording is only kept), issue 18. The indexes of the bodies done; the others go
    one by one (`handle_event`), each with its own outcome.

    A report goes together when no other report of the batch touches its message or its address
    (one item once a transaction), and all the reports of its SES event go. A transaction that
    is refused commits nothing; after a conflict (the sender or another worker wrote a message
    in between) the reports are read again and tried once more, then left one by one."""
    done: set[int] = set()
    kept: list[tuple[int, UnitOfWork]] = []  # proofs to keep, committed with the reports
    for index, body in enumerate(bodies):
        detail = _ses_detail(body)
        if detail is not None and detail.get("eventType") == "Send":
            staged = UnitOfWork()
            try:
                sending.record_proof(detail, keep_in=staged)
            except Exception:  # one by one again, where a failure is the message's own
                continue
            if len(staged):
                kept.append((index, staged))
            else:
                done.add(index)
    reports: list[tuple[int, list[Feedback]]] = []
    messages: set[tuple[str, str]] = set()
    addresses: set[tuple[str, str]] = set()
    for index, body in enumerate(bodies):
        detail = _ses_detail(body)
        if detail is None or index in done or detail.get("eventType") == "Send":
            continue
        feedbacks = classify(detail)
        if not feedbacks or any(not f.tenant_id or not f.message_id for f in feedbacks):
            continue  # not ours: one by one says so
        touched = {(str(f.tenant_id), str(f.message_id)) for f in feedbacks}
        mailboxes = {(str(f.tenant_id), f.recipient) for f in feedbacks}
        if len(touched) < len(feedbacks) or touched & messages or mailboxes & addresses:
            continue  # after the others, one by one
        if len(mailboxes) < len(feedbacks):
            continue
        messages |= touched
        addresses |= mailboxes
        reports.append((index, feedbacks))
    for attempt in range(2):
        if len(reports) < 2 and not kept:
            break  # one report alone: one by one costs the same
        try:
            done |= _commit_together(reports, kept, fresh=attempt > 0)
            break
        except ConcurrentUpdate:
            continue
        except Exception as exc:
            logger.info("batch transaction refused, reports one by one", extra={"reason": type(exc).__name__})
            break
    return done


def _batch_caller(tenant: str) -> Caller:
    """The tenant's caller, one per batch (its settings read once)."""
    return batch_scope.kept(("email-feedback", tenant), lambda: _caller(tenant))


def _ses_detail(body: Any) -> dict[str, Any] | None:
    if not isinstance(body, dict) or body.get("source") != "aws.ses":
        return None
    detail = body.get("detail")
    return detail if isinstance(detail, dict) else None


def _commit_together(
    reports: list[tuple[int, list[Feedback]]], kept: list[tuple[int, UnitOfWork]], fresh: bool
) -> set[int]:
    """Stage `reports` from one read (`fresh`: from the table, not the batch's first read) and the
    `kept` proofs' writes (no condition: they refuse nothing), commit them in one transaction; the
    indexes of their bodies. Raises what the commit raises."""
    keys: list[tuple[str, str]] = []
    for _, feedbacks in reports:
        for f in feedbacks:
            keys += _report_keys(str(f.tenant_id), derived_id(*f.key), str(f.message_id), f.recipient)
    keys = list(dict.fromkeys(keys))
    found = (Record.batch_get(keys, consistent_read=True) if fresh else batch_reads.read_once(keys)) if keys else []
    items = {(item.pk, item.sk): item for item in found}
    uow, shards, done = UnitOfWork(), cast(Shards, defaultdict(lambda: defaultdict(int))), set()
    for index, proof in kept:
        uow.absorb(proof)
        done.add(index)
    for index, feedbacks in reports:
        staged, counted = UnitOfWork(), cast(Shards, defaultdict(lambda: defaultdict(int)))
        try:
            for f in feedbacks:
                caller = _batch_caller(str(f.tenant_id))
                own = _report_keys(caller.tenant, derived_id(*f.key), str(f.message_id), f.recipient)
                reads = {items[key].kind: items[key] for key in own if key in items}
                _stage_report(caller, staged, f, reads, counted)
        except Exception:  # e.g. not settled yet: one by one, with its own outcome
            continue
        if len(uow) + len(staged) + len(set(shards) | set(counted)) > MAX_TRANSACTION_ITEMS:
            break  # the rest one by one
        uow.absorb(staged)
        for cell, deltas in counted.items():
            for name, delta in deltas.items():
                shards[cell][name] += delta
        done.add(index)
    _stage_shards(uow, shards)
    uow.commit()
    return done


def _count_campaign(shards: Shards, tenant: str, message: Record, feedback: Feedback) -> None:
    """A campaign counts each kind once per recipient (the first open, not every open); a rejected
    mail moves from the campaign's sent to its failed. Additions, so reports of one batch that fall
    on one shard commit in one transaction."""
    campaign_id, kind = message.data.get("campaign_id"), feedback.kind
    if not campaign_id:
        return
    deltas: dict[str, int] = {}
    if feedback.not_sent and message.data.get("status") == MessageStatus.sent:
        deltas = {"sent": -1, "failed": 1}
    elif kind not in UNCOUNTED and not message.data.get(f"{kind.value}_at"):
        deltas = {kind.value: 1}
    for name, delta in deltas.items():
        shards[(tenant, str(campaign_id), stats.shard_of(message.record_id))][name] += delta


def _with_report(data: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    changed = {**data, "feedback": [*data.get("feedback", []), report][-HISTORY_LIMIT:]}
    kind = report["kind"]
    if kind in (Kind.delivered, Kind.bounced, Kind.complained, Kind.rejected):
        changed["delivery"] = kind  # the latest word on delivery; opens and clicks do not change it
    elif kind == Kind.delayed and not data.get("delivery"):
        changed["delivery"] = kind  # a delay is the word only while nothing else is known
    if kind == Kind.rejected and data.get("status") == MessageStatus.sent:
        changed["status"] = MessageStatus.failed.value  # SES did not send it after all
        changed["error"] = report.get("reason")
    changed[f"{kind}_at"] = data.get(f"{kind}_at") or report["at"]  # the first of each kind
    return changed


def _stage_address(
    caller: Caller, uow: UnitOfWork, feedback: Feedback, at: str, counter: Record | None, suppression: Record | None
) -> bool:
    """Suppression and the soft-bounce count of the recipient; whether the address is now suppressed."""
    address = feedback.recipient
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
    if suppression is None:
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
        "requester": message.data.get("requester"),  # a requested mail's: its requester follows it
        "request_id": message.data.get("request_id"),
    }
    if feedback.kind == Kind.bounced:
        return EmailBounced(**base, bounce_type=feedback.bounce_type or "soft", suppressed=suppressed)
    if feedback.kind == Kind.clicked:
        return EmailClicked(**base, url=feedback.url or "")
    if feedback.kind == Kind.rejected:
        return EmailRejected(**base, reason=feedback.reason or "")
    return EmailFeedback(**base)


batch_reads.fill_with(lambda: prefetch(batch_scope.kept(BODIES, list)))
