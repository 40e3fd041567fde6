"""The sender: a batch of send-queue messages (up to 10) goes to AWS End User Messaging SMS, one
provider call a message and a handful of DynamoDB calls for the whole batch.

A send-queue message is `{"tenant_id", "message_id"}` (messages.py queues it). Per batch
(`send_batch`; the generic half is the kernel's shared/batched.py: `Job`, `first_of_each`,
`read_by_key`, which the email sender uses too, and `commit_together`):
1. READ: one consistent BatchGetItem for the messages and their tenants' SMS settings (the sender
   id, the window); a second one for the opt-outs of their numbers (below);
2. HOLD: the marketing messages found outside their tenant's sending window (below) are held, all
   in one transaction;
3. RATE: the rest take their parts from the account-wide limiter (one UpdateItem per second's
   worth of parts; more than a second's parts are taken, claimed and sent group by group);
4. CLAIM: status queued/waiting -> "sending" with `claimed_at` and `attempts` + 1, version-checked
   writes in one transaction (a message another delivery claimed first, or a receipt settled, is
   left out; the others commit);
5. SEND: SendTextMessage for each, through the stage's configuration set, from the tenant's sender
   id, with `Context` {tenant_id, message_id} (the provider's delivery events echo it);
6. SETTLE: the outcomes in one transaction (`commit_together`: at most 100 items a transaction;
   a message takes 4, a tenant's balance 1): accepted -> "sent", `provider_message_id`, `sent_at`, the parts charged
   (credits.charge: the charges of a tenant's messages summed into ONE update of its balance) and
   `sms.sent` (event id derived from the message id, so published once); refused by the provider
   -> "failed" with its reason and the parts refunded (credits.refund, summed the same way). Each
   message's update is conditioned on its status and our claim, not on its version: a message
   its receipt settled meanwhile (below) is left out, the others commit in one more transaction.
   An accepted send also writes store.ProviderMessageItem (provider id -> tenant, message):
   inbound.py finds an answer's tenant by it. `stage_settled` is the one place for any other
   per-message write of a settlement.
For a batch of 10 one-part messages of a tenant: 2 BatchGetItem (+ the opt-outs) + 1 UpdateItem (rate) + 2
TransactWriteItems + 10 SendTextMessage (it was 20 GetItem + 10 UpdateItem + 20 TransactWriteItems:
tests/integration/test_sms_sender.py prints it). A message's failure is its own: its queue
message alone fails (shared.batch.whole_batch answers the partial batch).

Crash safety (issue 19 item 6), as the email sender's. A crash before the claim leaves the message
"queued": the redelivery sends it. A crash after the claim leaves it "sending". Its PROOF that the
provider accepted it is the provider's delivery receipt, whose context names the message: a
receipt for a message still "sending" settles it as sent exactly as step 6 does (`stage_sent`,
services/sms/receipts.py), so the sender need not live to record it. A redelivery that finds the
message "sending" fails (ProofPending: the queue delivers it again) while the claim is younger than
the proof window (PROOF_WINDOW_SECONDS, default 5 minutes), then claims it again and sends again.
That is the at-least-once edge: a message the provider accepted but whose every receipt comes later
than the window goes twice. A send whose outcome is unknown (a timeout) keeps its claim the same way.

The account's rate (issue 19 item 5): before their claim, messages take their parts from the
account-wide limiter (shared/send_rate.py, windows `RATE#sms-voice#<second>` in the sms table):
End User Messaging SMS throttles message PARTS per second (MPS) per account and origination
identity. The rate is MAX_SMS_RATE (template.yaml): pinpoint-sms-voice-v2 exposes no throughput
through its API (DescribeAccountLimits lists resource counts, DescribeSpendLimits money,
DescribePhoneNumbers no MPS), so it is configuration; DEFAULT_MAX_SMS_RATE when unset. A wait that
would pass the handler's deadline raises RateLimitTimeout before anything of that group is
claimed: its messages (and the later groups') stay as they were and the queue delivers them again.

The tenant's sending window (domain/window.py): a MARKETING message found outside it is held
instead of claimed: status "waiting", `due_at` = the window's next opening, listed in `by_due` at
that time (a version-checked write: a concurrent delivery that held or claimed it first wins).
The jobs' sweep (sweep.py) queues it again when it falls due; the sender then finds it "waiting"
inside the window and claims it like a queued one (the claim takes it out of `by_due`).
Transactional messages ignore the window: an OTP or a reminder must not wait until morning. A
message still "sending" is never held: its receipt may yet come.

Opt-outs at send time. Staging checked the number's opt-out (send_recipients.py, messages.py), but
a STOP (inbound.py) or a merge (merges.py copies a merged contact's opt-out to the survivor's
numbers) may come while the message waits in the queue or for the window: the sender reads the
opt-outs of the batch's numbers again, and a message it would claim (queued, waiting, or claimed
without a receipt past the window) whose number opted out ends "opted_out" (`stage_opted_out`: its
parts refunded, counted, `sms.failed`). Staging's rule holds: a transactional message ignores
opt-outs when its tenant's `transactional_to_opted_out` is on.

A message settled "sent" is listed in `by_due` at `sent_at` + RECEIPT_DEADLINE (72 h): the sweep
makes it "unknown" if no final receipt took it out of the index by then (receipts.py).
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from services.sms import credits, send_stats
from services.sms.domain.messages import KIND, OPT_OUT, SmsMessageStatus
from services.sms.domain.setup import SmsSetup
from services.sms.domain.window import is_open, next_opening
from services.sms.events import SmsFailed
from services.sms.service import DEFAULTS, Caller, service_caller
from services.sms.settings import SmsSettings
from services.sms.setup import SETTING as SMS_SETTING
from services.sms.store import ProviderMessageItem, Record
from shared import batched, clock
from shared.batched import commit_together, first_of_each, packed, read_by_key
from shared.contracts.messaging import SmsSent
from shared.ids import derived_id
from shared.observability import logger
from shared.send_rate import CachedRate, RateLimitTimeout, SendRate
from shared.service import SETTING
from shared.settings import load
from shared.store import AlreadyApplied, ConcurrentUpdate, UnitOfWork, clean, record_key

SUBJECT_WORDS = 60  # characters of the text `sms.sent` carries as its subject
DEFAULT_MAX_SMS_RATE = 10  # message parts a second when MAX_SMS_RATE is unset (a conservative MPS)
RECEIPT_DEADLINE = timedelta(hours=72)  # a sent message without a final receipt by then becomes "unknown"
OPTED_OUT = "The number opted out of this tenant's SMS."  # as staging says it
LIMITER = SendRate("sms-voice", CachedRate("MAX_SMS_RATE", DEFAULT_MAX_SMS_RATE))  # the account's MPS (see the module)


class MessageMissing(Exception):
    """The queue named a message whose record is not readable yet: retry later."""


class ProofPending(Exception):
    """The message was claimed by a delivery that did not record it; no receipt yet, the window is open."""


class Settled(Exception):
    """The message is no longer as the writer read it (another writer recorded it): nothing written."""


@cache
def _sms() -> Any:
    import boto3  # here: a function that sends no SMS (receipts) does not load boto3 (~15-20 ms of a cold start)

    return boto3.client("pinpoint-sms-voice-v2")


def proof_window() -> timedelta:
    return timedelta(seconds=load(SmsSettings).proof_window_seconds)


# ----------------------------------------------------------------------------- the batch


Job = batched.Job[Record]


@dataclass
class Batch:
    """The batch's messages, and per tenant its SMS settings (read with them) and a service caller."""

    jobs: list[Job]
    setups: dict[str, SmsSetup] = field(default_factory=dict)
    callers: dict[str, Caller] = field(default_factory=dict)
    opted_out: set[tuple[str, str]] = field(default_factory=set)  # the keys of the numbers' opt-outs found


def send_batch(bodies: list[Any], deadline: float | None = None) -> list[Exception | None]:
    """Send the messages a batch of send-queue messages names (see the module); per queue message
    its error (None: done, delete it from the queue). The rate's waits end by `deadline` (epoch
    seconds): the messages still waiting then are given back unclaimed (RateLimitTimeout)."""
    jobs = [_parse(body) for body in bodies]
    batch = Batch(first_of_each(jobs))
    _read(batch)
    to_claim = _hold_or_claim(batch, _classify(batch))
    groups = _rate_groups(to_claim)
    for n, group in enumerate(groups):
        try:
            LIMITER.acquire(sum(_parts(job) for job in group), deadline=deadline)  # the group's parts, within the MPS
        except RateLimitTimeout as exc:  # this group and the later ones go back to the queue unclaimed
            waiting = [job for later in groups[n:] for job in later]
            logger.warning("send rate full until the deadline: messages given back", extra={"messages": len(waiting)})
            for job in waiting:
                job.error = exc
            break
        _settle(batch, _send(batch, _claim(batch, group)))
    return [job.error for job in jobs]


def _parse(body: Any) -> Job:
    try:
        named = json.loads(body) if isinstance(body, str) else body
        return Job(str(named["tenant_id"]), str(named["message_id"]))
    except (ValueError, KeyError, TypeError) as exc:
        logger.error("malformed send-queue message dropped", extra={"error": str(exc)})
        return Job("", "")  # nothing to send: not retried forever


def _read(batch: Batch) -> None:
    """One consistent BatchGetItem: the messages and their tenants' SMS settings; one more for the
    opt-outs of the numbers of the messages that may go."""
    tenants = {job.tenant for job in batch.jobs}
    settings = {t: (record_key(t, SETTING, SMS_SETTING), SETTING.upper()) for t in tenants}
    messages = {id(job): (record_key(job.tenant, KIND, job.message_id), KIND.upper()) for job in batch.jobs}
    found = read_by_key(Record, [*messages.values(), *settings.values()])
    for job in batch.jobs:
        job.record = found.get(messages[id(job)])
    for tenant, key in settings.items():
        data = found[key].data if key in found else DEFAULTS.value(SMS_SETTING)
        batch.setups[tenant] = SmsSetup.model_validate(data)
        batch.callers[tenant] = service_caller(tenant, open_tenant=False)
    opt_outs = [k for job in batch.jobs if (k := _opt_out_key(batch, job)) is not None]
    if opt_outs:
        batch.opted_out = set(read_by_key(Record, opt_outs))


def _opt_out_key(batch: Batch, job: Job) -> tuple[str, str] | None:
    """The key of the opt-out of a message's number, for a message that may still go and is subject
    to opt-outs (staging's rule: not a transactional one when the tenant sends those to opted-out
    numbers); None for any other."""
    data = job.record.data if job.record is not None else {}
    going = (SmsMessageStatus.queued, SmsMessageStatus.waiting, SmsMessageStatus.sending)
    if data.get("status") not in going or not data.get("to"):
        return None
    if data.get("transactional") and batch.setups[job.tenant].transactional_to_opted_out:
        return None
    return record_key(job.tenant, OPT_OUT, str(data["to"])), OPT_OUT.upper()


def _classify(batch: Batch) -> list[Job]:
    """The messages that may be claimed: queued or waiting, or "sending" past the proof window; of
    those, the ones whose number opted out end so (one transaction for the batch's)."""
    claimable = []
    refusals: list[UnitOfWork] = []
    for job in batch.jobs:
        record = job.record
        if record is None:
            job.error = MessageMissing(f"no message {job.message_id} yet")
            continue
        status = record.data.get("status")
        if status == SmsMessageStatus.sending:
            claimed = datetime.fromisoformat(str(record.data["claimed_at"]))
            if clock.now() - claimed < proof_window():
                job.error = ProofPending(f"message {job.message_id} is claimed and has no receipt yet")
                continue
            if record.data.get("erased_at"):  # its contact was erased (erasure.py): never sent again
                _fail_erased(batch, job)
                continue
            logger.warning("claimed message without a receipt: sent again", extra={"message_id": job.message_id})
        elif status not in (SmsMessageStatus.queued, SmsMessageStatus.waiting):
            logger.info("message not queued", extra={"message_id": job.message_id, "status": status})
            continue
        if _opt_out_key(batch, job) in batch.opted_out:
            uow = UnitOfWork()
            stage_opted_out(batch.callers[job.tenant], uow, record)
            refusals.append(uow)
            continue
        claimable.append(job)
    for error in commit_together(refusals):
        if error is not None and not isinstance(error, (Settled, AlreadyApplied)):
            raise error  # the batch is delivered again: what the commit left decides
    return claimable


def stage_opted_out(caller: Caller, uow: UnitOfWork, record: Record) -> None:
    """Stage in `uow` a message not sent because its number opted out since it was staged:
    "opted_out", out of the sweep's index, its parts refunded and `sms.failed` (its status says
    why), only while it is as read (its status; a claim's too), else the commit raises Settled."""
    data = record.data
    condition = Record.fields["status"] == str(data.get("status"))
    if data.get("status") == SmsMessageStatus.sending:
        condition &= Record.fields["claimed_at"] == str(data["claimed_at"])
    fields = {"status": SmsMessageStatus.opted_out.value, "reason": OPTED_OUT}
    stage_fields(uow, record, fields, condition, record.due_actions(caller.tenant, None))
    if int(data.get("credits") or 0):
        credits.refund(caller, uow, int(data["credits"]), None, record.record_id)
    failed = SmsFailed(
        message_id=record.record_id,
        contact_id=data.get("contact_id"),
        to=data.get("to"),
        at=clock.now(),
        status=SmsMessageStatus.opted_out.value,
        reason=OPTED_OUT,
        request_id=data.get("request_id"),
    )
    uow.publish(caller.event("sms.failed", failed, event_id=derived_id("sms.failed", record.record_id)))


def _fail_erased(batch: Batch, job: Job) -> None:
    """A claimed message of an erased contact without a receipt past its proof window: failed,
    its credits refunded (unless its receipt or another delivery settled it meanwhile)."""
    record = job.record
    assert record is not None
    uow = UnitOfWork()
    stage_failed(batch.callers[job.tenant], uow, record, str(record.data["claimed_at"]), "contact erased")
    with suppress(Settled, AlreadyApplied):
        uow.commit()


def _hold_or_claim(batch: Batch, jobs: list[Job]) -> list[Job]:
    """Hold the marketing messages outside their tenant's window (one transaction for the batch's
    holds, see the module); the others are to be claimed. Never a message still "sending": its
    receipt may yet come."""
    holds: list[UnitOfWork] = []
    to_claim = []
    for job in jobs:
        assert job.record is not None
        data = job.record.data
        held = data.get("status") != SmsMessageStatus.sending and not data.get("transactional")
        hold = _hold(batch, job) if held else None
        if hold is None:
            to_claim.append(job)
        elif len(hold):
            holds.append(hold)
    for error in commit_together(holds):
        if error is not None:  # another delivery held or claimed it first
            logger.info("message held or claimed by another delivery", extra={"error": str(error)})
    return to_claim


def _hold(batch: Batch, job: Job) -> UnitOfWork | None:
    """The hold of a message outside its tenant's window until the next opening; None when the
    window is open (or there is none); an empty unit when it is held for that opening already."""
    record = job.record
    assert record is not None
    window = batch.setups[job.tenant].window
    now = clock.now()
    if window is None or is_open(window, now):
        return None
    due = clock.iso(next_opening(window, now))
    uow = UnitOfWork()
    if record.data.get("status") == SmsMessageStatus.waiting and record.data.get("due_at") == due:
        return uow  # held already (a second queue message): the sweep sends it
    record.set_due(job.tenant, due)
    held = {**record.data, "status": SmsMessageStatus.waiting.value, "due_at": due}
    batch.callers[job.tenant].store.replace(uow, record, held)
    logger.info("message held for the sending window", extra={"message_id": record.record_id, "due_at": due})
    return uow


def _parts(job: Job) -> int:
    return max(1, int((job.record.data if job.record else {}).get("parts") or 1))


def _rate_groups(jobs: list[Job]) -> list[list[Job]]:
    """The messages in order, packed into groups of at most one second's parts (a message of more
    parts than that alone): each group takes its parts from the limiter, then is claimed and sent."""
    return packed(jobs, _parts, LIMITER.max_rate())


def _claim(batch: Batch, jobs: list[Job]) -> list[Job]:
    """Claim the messages in one transaction (version-checked: one that another delivery claimed
    or a receipt settled since the read is left out, the others commit); the claimed ones."""
    now = clock.iso(clock.now())
    claims = []
    for job in jobs:
        record = job.record
        assert record is not None
        attempts = int(record.data.get("attempts") or 0) + 1
        claimed = {**record.data, "status": SmsMessageStatus.sending.value, "claimed_at": now, "attempts": attempts}
        record.set_due(job.tenant, None)  # a held message leaves the sweep's index with its claim
        uow = UnitOfWork()
        batch.callers[job.tenant].store.replace(uow, record, claimed)
        claims.append(uow)
    errors = commit_together(claims)
    for job, error in zip(jobs, errors, strict=True):
        if isinstance(error, ConcurrentUpdate):  # another delivery claimed it (or a receipt settled it)
            logger.info("message claimed by another delivery", extra={"message_id": job.message_id})
        elif error is not None:
            job.error = error
    return [job for job, error in zip(jobs, errors, strict=True) if error is None]


def _send(batch: Batch, jobs: list[Job]) -> list[tuple[Job, UnitOfWork]]:
    """SendTextMessage for each claimed message; the settlement of each that has an answer."""
    settlements = []
    for job in jobs:
        record = job.record
        assert record is not None
        caller, data, claim = batch.callers[job.tenant], record.data, str(record.data["claimed_at"])
        requested = clock.now()  # `sent_at`: when the provider was asked, as its receipts' messageRequestTimestamp
        uow = UnitOfWork()
        try:
            answer = _sms().send_text_message(
                DestinationPhoneNumber=data["to"],
                MessageBody=data["text"],
                MessageType="TRANSACTIONAL" if data.get("transactional") else "PROMOTIONAL",
                OriginationIdentity=batch.setups[job.tenant].sender_id,
                ConfigurationSetName=load(SmsSettings).configuration_set,
                Context={"tenant_id": job.tenant, "message_id": job.message_id},
            )
        except ClientError as error:  # the provider refused it: failed, its parts refunded
            details = error.response.get("Error", {})
            reason = f"{details.get('Code', 'Error')}: {details.get('Message', '')}".strip()
            logger.info("message refused by the provider", extra={"message_id": job.message_id, "reason": reason})
            stage_failed(caller, uow, record, claim, reason)
        except Exception as exc:  # a timeout, a dropped connection: it may have gone; the claim stays
            logger.exception("send outcome unknown: the claim waits", extra={"message_id": job.message_id})
            job.error = exc
            continue
        else:
            stage_sent(caller, uow, record, str(answer["MessageId"]), requested, claim=claim)
        settlements.append((job, uow))
    return settlements


def _settle(batch: Batch, settlements: list[tuple[Job, UnitOfWork]]) -> None:
    """The outcomes in as few transactions as the batch allows (shared/batched.py); a message its
    receipt (or a later claim) recorded first is left out, the others commit."""
    errors = commit_together([uow for _, uow in settlements])
    for (job, _), error in zip(settlements, errors, strict=True):
        if isinstance(error, (Settled, AlreadyApplied)):
            logger.info("message recorded by another writer", extra={"message_id": job.message_id})
        elif error is not None:  # its queue message fails: the redelivery finds it "sending" (the receipt decides)
            job.error = error


def stage_sent(
    caller: Caller,
    uow: UnitOfWork,
    record: Record,
    provider_message_id: str,
    sent_at: datetime,
    claim: str | None = None,
    then: dict[str, Any] | None = None,
) -> None:
    """Stage in `uow` a message "sending" settled as sent: its fields (and `then`'s, a receipt's
    final status), the charge of its parts and `sms.sent`; the update only while the message is
    still "sending" (and, given `claim`, still ours), else the commit raises Settled."""
    data = record.data
    fields = {
        "status": SmsMessageStatus.sent.value,
        "provider_message_id": provider_message_id,
        "sent_at": clock.iso(sent_at),
        **(then or {}),
    }
    condition = Record.fields["status"] == SmsMessageStatus.sending.value
    if claim is not None:
        condition &= Record.fields["claimed_at"] == claim
    deadline = None if then else clock.iso(sent_at + RECEIPT_DEADLINE)  # a final receipt ends the wait
    stage_fields(uow, record, fields, condition, record.due_actions(caller.tenant, deadline))
    uow.save(ProviderMessageItem.of(provider_message_id, caller.tenant, record.record_id))  # inbound.py's lookup
    credits.charge(caller, uow, int(data["credits"]), None, record.record_id)
    stage_settled(uow, record, SmsMessageStatus.sent)
    event = SmsSent(
        message_id=record.record_id,
        contact_id=data.get("contact_id"),
        to=data["to"],
        subject=data["text"][:SUBJECT_WORDS],
        sent_by=data.get("created_by"),
        sent_at=sent_at,
    )
    uow.publish(caller.event("sms.sent", event, event_id=derived_id("sms.sent", record.record_id)))


def stage_fields(
    uow: UnitOfWork, record: Record, fields: dict[str, Any], condition: Any, extra: list[Any] | None = None
) -> None:
    """The message's `fields` set in `uow` (with `extra` actions) on `condition` alone (its status),
    not on its version: a condition that fails makes the commit raise Settled."""
    if "status" in fields:  # a send's counters move with the status
        send_stats.count(uow, record, str(fields["status"]))
    actions = [Record.fields[name].set(value) for name, value in clean(fields).items()] + (extra or [])
    uow.update(record, actions, condition=condition, on_conflict=Settled, check_version=False)
    record.data = {**record.data, **fields}


def stage_failed(caller: Caller, uow: UnitOfWork, record: Record, claim: str, reason: str) -> None:
    """Stage in `uow` a message the provider refused: "failed" with the reason, its parts
    refunded and `sms.failed` (no receipt: it was never sent; a requester learns the outcome of its
    request), only while it is still "sending" under our claim (else the commit raises Settled)."""
    fields = {"status": SmsMessageStatus.failed.value, "reason": reason[:500]}
    condition = (Record.fields["status"] == SmsMessageStatus.sending.value) & (Record.fields["claimed_at"] == claim)
    stage_fields(uow, record, fields, condition)
    credits.refund(caller, uow, int(record.data["credits"]), None, record.record_id)
    stage_settled(uow, record, SmsMessageStatus.failed)
    data = record.data
    failed = SmsFailed(
        message_id=record.record_id,
        contact_id=data.get("contact_id"),
        to=data.get("to"),
        at=clock.now(),
        reason=reason[:500],
        request_id=data.get("request_id"),
    )
    uow.publish(caller.event("sms.failed", failed, event_id=derived_id("sms.failed", record.record_id)))


def stage_settled(uow: UnitOfWork, record: Record, status: SmsMessageStatus) -> None:
    """THE place for a message's own writes that go with its settlement (`status`: sent -- by the
    sender or by its first receipt, `stage_sent` -- or failed), staged once per message in the
    same transaction. Nothing yet. A write to an item other messages of the batch share (a send's
    counters) must be an addition (`uow.add_to`): the batch's transaction sums those into one
    update per item (shared/batched.py); two updates of one item in a transaction are refused."""
