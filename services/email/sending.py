"""Sending the queued mails of one SQS batch: claim, send, settle (issue 5 "Sending").

A send-queue message is `{"tenant_id", "message_id"[, "campaign_id"]}`. One batch (up to 10):
1. one BatchGet reads the message records, the tenants' sender settings and the campaigns the
   queue messages name; a second one reads the recipients' consent (below) with the campaigns
   only the records name;
2. the mails that may go are CLAIMED in one transaction (status queued -> "sending", `claimed_at`,
   `attempts` + 1; one by one when the transaction meets a concurrent writer);
3. the batch's tokens are taken from the account-wide rate limiter (services/email/ratelimit.py)
   in that same transaction (when the second is full, the claim waits for the next one);
4. each mail goes to the tenant's transport;
5. the outcomes are recorded in one transaction: the message records, `email.sent` (id derived
   from the message id, so published once) and the campaign counters (services/email/stats.py).
   Each record is updated on the condition that it is still ours (its status, our claim), not on
   its version: a delivery report written on it meanwhile stays, and a mail that its SES proof
   settled meanwhile is left out (the others commit in one more transaction, read nothing again).

Crash safety. A crash before the claim leaves the mail "queued": the redelivery sends it. A
crash after the claim leaves it "sending"; the redelivery looks for a PROOF that SES accepted it
(services/email/proofs.py, from the SES "Send" event of the configuration set): with a proof the
mail is settled as sent without calling SES again (the proof settles it by itself once the claim is
older than the sender's timeout, `record_proof`); without
one the redelivery fails (the queue retries) until the claim is older than the proof window
(PROOF_WINDOW_SECONDS, default 5 minutes), then the mail is claimed again and sent again with the
same Message-ID header. That is the at-least-once edge: a mail SES accepted whose "Send" event
is lost or later than the window goes twice (the receiving side sees one Message-ID twice). SMTP
transports give no proof: a crash between their reply and the record resends after the window.

A transport error that says for sure the mail did not go (an SES ClientError such as throttling,
an SMTP 4xx reply) releases the claim (back to "queued") so the retry does not wait the window.
Campaign mails: a "paused" campaign leaves the mail queued and drops the queue message (resume
queues it again); a "cancelled" one marks it "skipped". A mail whose recipient was erased (GDPR,
services/email/erasure.py: `erased_at`) is marked "skipped" too, queued or claimed without a proof,
and so is a queued campaign mail a merge moved to a survivor who gets the campaign's mail already
(`duplicate_of`, services/email/merges.py).

Consent at send time. Staging checked the address's suppression and its opt-out of the mail's
list type (campaign_recipients.py, transactional.py), but an opt-out, a hard bounce or a merge
(merges.py copies a merged contact's consent to the survivor's address) may come while the mail
waits in the queue: the sender reads both again for the batch (the second BatchGet of step 1) and
a mail about to be claimed (queued, or claimed without a proof past the window) whose address is
suppressed now ends "suppressed", one opted out of its list type "opted_out", counted as a skip.
The rules are staging's: a suppression stops every mail; an opt-out only mail of that list type
(a mail without a list type, such as a requester's own, ignores opt-outs; one of "service-notices"
ignores a marketing opt-out).
"""

from __future__ import annotations

import json
import os
import random
import smtplib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError
from pynamodb.exceptions import TransactWriteError

from services.email import batch_reads, proofs, ratelimit, stats
from services.email.domain.list_types import OPTOUT, SUPPRESSION, optout_id, suppression_id
from services.email.domain.messages import (
    KIND,
    SENDER_SETTING,
    Mail,
    MessageStatus,
    Part,
    Sender,
    Unbuildable,
    attachments_too_large,
    build_mime,
    normalise,
)
from services.email.domain.tracking import instrument, links_of
from services.email.outcomes import failed_event
from services.email.proofs import Proof
from services.email.service import DEFAULTS, Caller, service_caller
from services.email.store import Record
from services.email.transports import Refused, Transport, transport_for
from services.email.unsubscribe import base_url, list_unsubscribe_headers
from shared import batched, clock
from shared.batched import first_of_each, read_by_key
from shared.contracts.messaging import EmailAttachment, EmailSent
from shared.events import Envelope
from shared.ids import derived_id
from shared.observability import logger
from shared.secrets import link_keys
from shared.service import SETTING
from shared.store import ConcurrentUpdate, OutboxItem, UnitOfWork, clean, record_key, transaction

CAMPAIGN = "campaign"
DEFAULT_PROOF_WINDOW = 300.0  # seconds a claimed mail waits for its proof before it is sent again
DEFAULT_SENDER_TIMEOUT = 900.0  # Lambda's longest timeout: a claim older than this has no live sender
ERASED = "The recipient's data was erased."
MERGED = "The contact was merged into another that gets this campaign's mail."
SUPPRESSED = "The address is suppressed (hard bounce or complaint)."  # as staging says it
OPTED_OUT = "The recipient opted out of the list type."


class MessageMissing(Exception):
    """The queue named a message whose record is not readable yet: retry later."""


class ProofPending(Exception):
    """The mail was claimed by a delivery that did not record it; no proof yet, the window is open."""


class CampaignMissing(Exception):
    """A campaign mail whose campaign record is not readable: retry later."""


@cache
def _s3() -> Any:
    import boto3  # here: a function that stores no mail (feedback) does not load boto3 (~15-20 ms of a cold start)

    return boto3.client("s3")


def proof_window() -> timedelta:
    return timedelta(seconds=float(os.environ.get("PROOF_WINDOW_SECONDS") or DEFAULT_PROOF_WINDOW))


# ----------------------------------------------------------------------------- the batch


@dataclass
class Job(batched.Job[Record]):
    """One queue message of the batch and what became of it (shared/batched.py), with its campaign."""

    campaign_id: str | None = None
    links: list[str] | None = None  # the links its claim records (`_links`)


@dataclass
class Outcome:
    """A write to record: the message's new fields, what it must still be, its counter changes."""

    job: Job
    changes: dict[str, Any]
    expect_status: str
    expect_claim: str | None = None  # our claim's `claimed_at`; None: any
    counts: dict[str, int] = field(default_factory=dict)
    sent_at: datetime | None = None
    published: bool = False  # its email.sent is out already (a transaction found it)


@dataclass
class Batch:
    jobs: list[Job]
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    campaigns: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    consent: set[tuple[str, str]] = field(default_factory=set)  # the keys of the suppressions and opt-outs found
    callers: dict[str, Caller] = field(default_factory=dict)

    def caller(self, tenant: str) -> Caller:
        """A service caller per tenant, without the per-call tenant setup reads (the batch read them)."""
        if tenant not in self.callers:
            self.callers[tenant] = service_caller(tenant, open_tenant=False)
        return self.callers[tenant]

    def setting(self, tenant: str) -> dict[str, Any]:
        return self.settings.get(tenant) or DEFAULTS.value(SENDER_SETTING)


def _parse(body: Any) -> Job:
    message = json.loads(body) if isinstance(body, str) else body
    campaign = message.get("campaign_id")
    return Job(str(message["tenant_id"]), str(message["message_id"]), campaign_id=str(campaign) if campaign else None)


def send_batch(bodies: list[Any], deadline: float | None = None) -> list[Exception | None]:
    """Send a batch of queue messages; the error of each (None: done, delete it from the queue).

    `deadline` (epoch seconds): the rate limiter's waits end by then, or the mails that wait are
    given back (released to "queued", their queue messages failed) with a RateLimitTimeout."""
    jobs: list[Job] = []
    for body in bodies:
        try:
            jobs.append(_parse(body))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.error("malformed send-queue message dropped", extra={"error": str(exc)})
            jobs.append(Job("", "", error=None))  # nothing to send: do not retry it forever
    batch = Batch(first_of_each(jobs))
    _read(batch)
    outcomes, to_claim = _classify(batch)
    claimed, tokens_taken = _claim(batch, to_claim, deadline)
    outcomes += _send(batch, claimed, tokens_taken, deadline)
    _record_all(batch, outcomes)
    return [job.error for job in jobs]


# ----------------------------------------------------------------------------- 1. read


def _read(batch: Batch) -> None:
    """One BatchGet for messages, settings and named campaigns; one more for the recipients'
    consent and the campaigns found later."""
    keys: list[tuple[str, str]] = []
    for job in batch.jobs:
        keys.append((record_key(job.tenant, KIND, job.message_id), KIND.upper()))
        keys.append((record_key(job.tenant, SETTING, SENDER_SETTING), SETTING.upper()))
        if job.campaign_id:
            keys.append((record_key(job.tenant, CAMPAIGN, job.campaign_id), CAMPAIGN.upper()))
    found = _batch_get(keys)
    for job in batch.jobs:
        job.record = found.get((record_key(job.tenant, KIND, job.message_id), KIND.upper()))
        setting = found.get((record_key(job.tenant, SETTING, SENDER_SETTING), SETTING.upper()))
        if setting is not None:
            batch.settings[job.tenant] = setting.data
        if job.record is not None and not job.campaign_id and job.record.data.get("campaign_id"):
            job.campaign_id = str(job.record.data["campaign_id"])
    _read_more(batch, found)


def _read_more(batch: Batch, found: dict[tuple[str, str], Record]) -> None:
    """The campaigns the first read did not hold and the consent of the mails that may go: one BatchGet."""
    wanted = {(j.tenant, j.campaign_id) for j in batch.jobs if j.campaign_id}
    keys = {(t, c): (record_key(t, CAMPAIGN, c), CAMPAIGN.upper()) for t, c in wanted}
    missing = [key for pair, key in keys.items() if key not in found]
    consent = [key for job in batch.jobs for key in _consent_keys(job)]
    if missing or consent:
        found = {**found, **_batch_get(missing + consent)}
    for pair, key in keys.items():
        if key in found:
            batch.campaigns[pair] = found[key].data  # type: ignore[index]
    batch.consent = {key for key in consent if key in found}


def _consent_keys(job: Job) -> list[tuple[str, str]]:
    """The keys of the suppression of a mail's address and of its opt-out of the mail's list type
    (services/email/domain/list_types.py keys them), for a mail that may still go; none for any other."""
    data = job.record.data if job.record is not None else {}
    address = normalise(str(data.get("to") or ""))
    if data.get("status") not in (MessageStatus.queued, MessageStatus.sending) or not address:
        return []
    keys = [(record_key(job.tenant, SUPPRESSION, suppression_id(address)), SUPPRESSION.upper())]
    if data.get("list_type_id"):
        optout = optout_id(address, str(data["list_type_id"]))
        keys.append((record_key(job.tenant, OPTOUT, optout), OPTOUT.upper()))
    return keys


def _refusal(batch: Batch, job: Job, status: str) -> Outcome | None:
    """The mail's end when its address is suppressed or opted out of its list type now, else None."""
    keys = _consent_keys(job)
    if keys and keys[0] in batch.consent:
        return _skipped(job, SUPPRESSED, status, MessageStatus.suppressed)
    if len(keys) > 1 and keys[1] in batch.consent:
        return _skipped(job, OPTED_OUT, status, MessageStatus.opted_out)
    return None


def _batch_get(keys: list[tuple[str, str]]) -> dict[tuple[str, str], Record]:
    return read_by_key(Record, keys)


# ----------------------------------------------------------------------------- 2. decide and claim


def _classify(batch: Batch) -> tuple[list[Outcome], list[Job]]:
    """What each mail needs: nothing, a record without sending (skip, proof), or a claim."""
    outcomes: list[Outcome] = []
    to_claim: list[Job] = []
    now = clock.now()
    for job in batch.jobs:
        record = job.record
        if record is None:
            job.error = MessageMissing(job.message_id)
            continue
        status = record.data.get("status")
        erased = bool(record.data.get("erased_at"))  # the recipient's data was erased: not sent now
        if status == MessageStatus.queued and erased:
            outcomes.append(_skipped(job, ERASED))
        elif status == MessageStatus.queued and record.data.get("duplicate_of"):  # services/email/merges.py
            outcomes.append(_skipped(job, MERGED))
        elif status == MessageStatus.queued:
            campaign = batch.campaigns.get((job.tenant, job.campaign_id)) if job.campaign_id else None
            if job.campaign_id and campaign is None:
                job.error = CampaignMissing(job.campaign_id)
            elif campaign is not None and campaign.get("status") == "paused":
                logger.info("campaign paused: mail left queued", extra={"message_id": job.message_id})
            elif campaign is not None and campaign.get("status") == "cancelled":
                outcomes.append(_skipped(job))
            elif (refused := _refusal(batch, job, MessageStatus.queued)) is not None:
                outcomes.append(refused)
            else:
                to_claim.append(job)
        elif status == MessageStatus.sending:
            proof = proofs.get(job.message_id)
            expired = now - _claimed_at(record) >= proof_window()  # no live sender, no proof: it may go again
            if proof is not None:
                outcomes.append(_proven(job, proof))
            elif expired and erased:
                outcomes.append(_skipped(job, ERASED, MessageStatus.sending))
            elif expired and (refused := _refusal(batch, job, MessageStatus.sending)) is not None:
                outcomes.append(refused)
            elif expired:
                logger.warning("claimed mail without proof: sent again", extra={"message_id": job.message_id})
                to_claim.append(job)
            else:
                job.error = ProofPending(job.message_id)
        else:
            logger.info("message not queued, skipped", extra={"message_id": job.message_id, "status": status})
    return outcomes, to_claim


def _claimed_at(record: Record) -> datetime:
    value = record.data.get("claimed_at")
    return datetime.fromisoformat(value) if value else datetime.min.replace(tzinfo=clock.now().tzinfo)


def _claim_data(record: Record, now: datetime, links: list[str] | None = None) -> dict[str, Any]:
    """The claimed record, with the mail's `links` when it records them (`_links`)."""
    data = record.data
    claimed = {
        **data,
        "status": MessageStatus.sending.value,
        "claimed_at": clock.iso(now),
        "attempts": int(data.get("attempts") or 0) + 1,
    }
    if links is not None:
        claimed["links"] = links
    return claimed


def _links(data: dict[str, Any]) -> list[str] | None:
    """A mail whose clicks are tracked records its links when it is claimed (`links_of`): a click's
    `/t/` token names its link by position in that list, and redirects only to it. A mail claimed
    again keeps the list it first recorded (a mail that may have gone carries its positions)."""
    if "links" in data or not _tracking(data.get("tracking"))[1] or not data.get("html"):
        return None
    return links_of(data["html"], base_url())


def _tracking(tracking: dict[str, Any] | None) -> tuple[bool, bool]:
    """Whether a message's `tracking` asks for (opens, clicks)."""
    if not tracking:
        return False, False
    return bool(tracking.get("opens", True)), bool(tracking.get("clicks", True))


def _claim(batch: Batch, jobs: list[Job], deadline: float | None = None) -> tuple[list[Job], bool]:
    """Claim the mails (and their send tokens) in one transaction; one by one when another writer
    got in between. Returns the claimed mails and whether their tokens were taken with them.
    When the rate would keep the claim waiting past the deadline, nothing is claimed."""
    if not jobs:
        return [], True
    now = clock.now()
    before = {id(j): j.record.data for j in jobs if j.record is not None}
    for job in jobs:  # once, though the claim may be tried again
        job.links = _links(job.record.data) if job.record is not None else None
    tokens = len(_ses_jobs(batch, jobs))
    limit = ratelimit.max_rate() if tokens else 0
    together = tokens if tokens <= limit else 0  # more than a window holds: taken in several, later
    while True:
        outcome = _claim_together(jobs, now, together, limit)
        if outcome == "claimed":
            return jobs, tokens == together
        if outcome == "conflict":
            break
        if outcome == "rate_busy":
            wait = random.uniform(0.005, 0.05)
        else:
            wait = ratelimit.seconds_to_next_window(clock.epoch()) + 0.001  # this second's sends are taken
        if ratelimit.past_deadline(wait, deadline, clock.epoch()):
            return _given_back(jobs), True
        clock.sleep(wait)
    claimed = []
    for job in jobs:
        assert job.record is not None
        job.record.data = before[id(job)]
        own = UnitOfWork()
        batch.caller(job.tenant).store.replace(own, job.record, _claim_data(job.record, now, job.links))
        try:
            own.commit()
            claimed.append(job)
        except ConcurrentUpdate as exc:  # another delivery has it: the retry sees what became of it
            job.error = exc
    return claimed, False


def _given_back(jobs: list[Job]) -> list[Job]:
    """Nothing claimed: every mail stays queued and its queue message fails (SQS redelivers it)."""
    logger.warning("send rate full until the deadline: batch given back", extra={"mails": len(jobs)})
    for job in jobs:
        job.error = ratelimit.RateLimitTimeout(job.message_id)
    return []


def _claim_together(jobs: list[Job], now: datetime, tokens: int, limit: int) -> str:
    """One transaction: every claim and the rate window's tokens; "claimed", "rate_full", "rate_busy" or "conflict"."""
    claimed = [job for job in jobs if job.record is not None]
    records = [job.record for job in claimed if job.record is not None]
    before = [record.data for record in records]
    try:
        with transaction() as tx:
            for job, record in zip(claimed, records, strict=True):
                record.data = _claim_data(record, now, job.links)
                tx.save(record)  # with its version condition: nobody wrote it since our read
            if tokens:
                item, actions, condition = ratelimit.take_update(ratelimit.window_of(clock.epoch()), tokens, limit)
                tx.update(item, actions, condition=condition)  # the last item of the transaction
        return "claimed"
    except TransactWriteError as exc:
        for record, data in zip(records, before, strict=True):
            record.data = data
        reasons = [r.code if r is not None else None for r in getattr(exc, "cancellation_reasons", None) or []]
        if tokens and len(reasons) == len(records) + 1 and reasons[-1] and not any(reasons[:-1]):
            # only the rate window failed: full for this second, or another sender's take at the same time
            return "rate_full" if reasons[-1] == "ConditionalCheckFailed" else "rate_busy"
        return "conflict"


def _ses_jobs(batch: Batch, jobs: list[Job]) -> list[Job]:
    return [j for j in jobs if transport_for(batch.setting(j.tenant)).name == "ses"]


# ----------------------------------------------------------------------------- 3-4. send


def _send(batch: Batch, jobs: list[Job], tokens_taken: bool, deadline: float | None = None) -> list[Outcome]:
    ses = _ses_jobs(batch, jobs)
    outcomes = []
    if ses and not tokens_taken:
        try:
            ratelimit.acquire(len(ses), deadline=deadline)
        except ratelimit.RateLimitTimeout as exc:  # claimed but not sent: release the claims, retry later
            logger.warning("send rate full until the deadline: mails released", extra={"mails": len(ses)})
            for job in ses:
                assert job.record is not None
                job.error = exc
                release = {"status": MessageStatus.queued.value}
                outcomes.append(Outcome(job, release, MessageStatus.sending.value, job.record.data["claimed_at"]))
            released = {id(job) for job in ses}
            jobs = [job for job in jobs if id(job) not in released]
    for job in jobs:
        outcome = _send_one(batch, job)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def _send_one(batch: Batch, job: Job) -> Outcome | None:
    record = job.record
    assert record is not None
    claim = record.data["claimed_at"]
    counts = {"queued": -1}
    release = Outcome(job, {"status": MessageStatus.queued.value}, MessageStatus.sending.value, claim)
    try:
        parts = _read_attachments(record.data.get("attachments", []))
        if parts is None:  # the declared sizes were under the limit, the files are not
            error = {"status": MessageStatus.failed.value, "error": "Attachments exceed 25 MB in all."}
            return Outcome(job, error, MessageStatus.sending.value, claim, {**counts, "failed": 1})
        setting = batch.setting(job.tenant)
        transport: Transport = transport_for(setting)
        built = _built(record, parts, setting)
    except Exception as exc:  # S3 unreadable ...: nothing went, the rest of the batch still does
        logger.exception("mail not built: released for a retry", extra={"message_id": job.message_id})
        job.error = exc
        return release
    if isinstance(built, str):  # it never will be built: this recipient fails, the others still go
        logger.warning("mail cannot be built: failed", extra={"message_id": job.message_id, "reason": built})
        failed = {"status": MessageStatus.failed.value, "error": built}
        return Outcome(job, failed, MessageStatus.sending.value, claim, {**counts, "failed": 1})
    sender, raw = built
    try:
        tags = {"tenant": job.tenant, "message": job.message_id}  # SES's events (the proof) name both
        provider_id = transport.send(raw, sender.from_address, [record.data["to"]], tags=tags)
    except Refused as exc:
        failed = {"status": MessageStatus.failed.value, "error": str(exc)}
        return Outcome(job, failed, MessageStatus.sending.value, claim, {**counts, "failed": 1})
    except (ClientError, smtplib.SMTPException, ConnectionRefusedError) as exc:
        if isinstance(exc, smtplib.SMTPServerDisconnected):  # perhaps after DATA: it may have gone
            _unknown(job, exc)
            return None
        job.error = exc  # the provider answered: the mail did not go; release the claim and retry
        return release
    except Exception as exc:  # (a timeout, a dropped connection: it may have gone)
        _unknown(job, exc)
        return None
    id_field = "ses_message_id" if transport.name == "ses" else "provider_message_id"
    sent = {"status": MessageStatus.sent.value, "transport": transport.name, id_field: provider_id}
    return Outcome(job, sent, MessageStatus.sending.value, claim, {**counts, "sent": 1}, sent_at=clock.now())


def _built(record: Record, parts: list[Part], setting: dict[str, Any]) -> tuple[Sender, bytes] | str:
    """The sender and the raw mail; or, when what is stored can never make a mail (a From name or
    a recipient's name holding a line break, a record that is not a mail), why not. Errors of
    reading (the signing secret ...) are raised: those may pass, the mail is retried."""
    try:
        sender = Sender.model_validate(setting)
        if record.data.get("from_address"):  # a requester's own From (a scanner mailbox): no Reply-To of the tenant's
            own = {"from_address": record.data["from_address"], "from_name": record.data.get("from_name")}
            sender = Sender.model_validate(own)
        mail = _mail(record, parts)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in error["loc"]) for error in exc.errors())
        return f"The mail cannot be built: the stored {fields} is not valid."
    try:
        return sender, build_mime(mail, sender).as_bytes()
    except Unbuildable as exc:
        return str(exc)
    except (ValueError, TypeError, LookupError) as exc:  # as_bytes: a header the policy cannot write
        return f"The mail cannot be built: {exc}"


def _unknown(job: Job, exc: Exception) -> None:
    """The send's outcome is unknown: the claim stays, a proof (or the window) decides."""
    logger.exception("send outcome unknown: the claim waits for a proof", extra={"message_id": job.message_id})
    job.error = exc


def _skipped(
    job: Job,
    why: str = "The campaign was cancelled.",
    status: str = MessageStatus.queued,
    ends: MessageStatus = MessageStatus.skipped,
) -> Outcome:
    """A mail that will not go (`ends`: skipped, or suppressed / opted_out), from `status`; counted so."""
    changes = {"status": ends.value, "error": why}
    return Outcome(job, changes, str(status), None, {"queued": -1, ends.value: 1})


def _proven(job: Job, proof: Proof) -> Outcome:
    changes = {"status": MessageStatus.sent.value, "transport": "ses", "ses_message_id": proof.ses_message_id}
    return Outcome(job, changes, MessageStatus.sending.value, None, {"queued": -1, "sent": 1}, sent_at=proof.at)


def _mail(record: Record, parts: list[Part]) -> Mail:
    data = record.data
    tenant = record.pk.split("#")[1]
    headers: dict[str, str] = dict(data.get("headers") or {})  # a requester's (loop safety: Auto-Submitted ...)
    if data.get("list_type_id"):  # the link names the mail; its record says whose and which list type
        headers |= list_unsubscribe_headers(tenant, record.record_id)
    return Mail.model_validate(
        {
            **data,
            "html": _tracked(tenant, record.record_id, data.get("html"), data.get("tracking"), data.get("links")),
            "message_id": record.record_id,
            "subject": data.get("subject") or "",
            "headers": headers,
            "attachments": parts,
            "date": clock.now(),
        }
    )


def _tracked(
    tenant: str, message_id: str, html: str | None, tracking: dict[str, Any] | None, links: list[str] | None
) -> str | None:
    """The HTML with the open pixel and click links its `tracking` asks for; only the `links` the
    claim recorded become click links (none recorded: none do).

    Done here, not when the mail is staged: the sender knows the public address of the links
    (an API function cannot name its own HTTP API in the template).
    """
    opens, clicks = _tracking(tracking)
    if html is None or not (opens or clicks):
        return html
    return instrument(html, base_url(), tenant, message_id, opens, clicks, link_keys(), links=list(links or []))


def _read_attachments(items: list[dict[str, Any]]) -> list[Part] | None:
    """The attachments' bytes from S3; None once they pass the limit (stop reading, fail the mail)."""
    parts = []
    total = 0
    for item in items:
        attachment = EmailAttachment.model_validate(item)
        body = _s3().get_object(Bucket=attachment.bucket, Key=attachment.key)["Body"].read()
        total += len(body)
        if attachments_too_large([total]):
            return None
        parts.append(Part(name=attachment.name, content_type=attachment.content_type, content=body))
    return parts


# ----------------------------------------------------------------------------- 5. record

RECORD_ATTEMPTS = 5
REFUSED = "ConditionalCheckFailed"


def _record_all(batch: Batch, outcomes: list[Outcome]) -> None:
    """All outcomes in one transaction, with no read before it and none mail by mail after it.

    Each mail's outcome is an update of the fields it sets, on the condition that the mail is
    still as the outcome expects (its status, and our claim) -- not on the record's version: a
    delivery report that feedback wrote on the mail meanwhile neither fails the transaction nor is
    overwritten (the update adds one to the version, so a writer that read before it fails and
    reads again). A mail whose condition fails was recorded by someone else (its SES proof settled
    it, or another delivery of its queue message): it is left out with its counts and its event,
    and the others commit in one more transaction. A conflict with a concurrent transaction is
    tried again; after RECORD_ATTEMPTS the batch fails (SQS delivers it again: the claims and the
    proofs decide what the redelivery does)."""
    pending = list(outcomes)
    for attempt in range(RECORD_ATTEMPTS):
        if not pending:
            return
        done, refused, conflict = _commit_outcomes(batch, pending)
        if done:
            return
        for outcome in pending:
            if id(outcome) in refused:
                logger.info("mail recorded by another writer", extra={"message_id": outcome.job.message_id})
        pending = [outcome for outcome in pending if id(outcome) not in refused]
        if conflict:
            clock.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
    raise ConcurrentUpdate()


def _commit_outcomes(batch: Batch, outcomes: list[Outcome]) -> tuple[bool, set[int], bool]:
    """One transaction of the outcomes: whether it committed, the outcomes whose mail is no longer
    as they expect (by `id`), and whether another writer's transaction got in the way."""
    puts: list[Outcome] = []  # whose email.sent each put is, in the order the transaction sends them
    updates: list[Outcome | None] = []  # whose mail each update is; None: a campaign's counter shard
    shards: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    try:
        with transaction() as tx:  # pynamodb sends the puts first, then the updates
            for outcome in outcomes:
                record, actions, condition, event = _outcome_write(batch.caller(outcome.job.tenant), outcome, shards)
                tx.update(record, actions, condition=condition, add_version_condition=False)
                updates.append(outcome)
                if event is not None and not outcome.published:
                    tx.save(OutboxItem.of(event), condition=OutboxItem.pk.does_not_exist())
                    puts.append(outcome)
            for (tenant, campaign_id, shard), deltas in shards.items():
                counted = stats.shard_update(tenant, campaign_id, shard, dict(deltas))
                if counted is not None:
                    tx.update(*counted)
                    updates.append(None)
    except TransactWriteError as exc:
        try:
            reasons = [r.code if r is not None else None for r in exc.cancellation_reasons or []]
        except AttributeError:  # not a cancellation: a transport or validation error
            raise exc from None
        if not any(reasons):
            raise
        refused = {id(o) for o, r in zip(updates, reasons[len(puts) :], strict=False) if o is not None and r == REFUSED}
        published = {id(o) for o, r in zip(puts, reasons, strict=False) if r == REFUSED}
        for outcome in outcomes:  # its event is out already while its mail is as expected: record it without
            if id(outcome) in published - refused:
                outcome.published = True
        conflict = any(r not in (None, REFUSED) for r in reasons)
        return False, refused, conflict
    for outcome in outcomes:
        assert outcome.job.record is not None
        outcome.job.record.data = {**outcome.job.record.data, **_fields(outcome)}
    return True, set(), False


def _fields(outcome: Outcome) -> dict[str, Any]:
    """The mail's fields the outcome sets."""
    fields = dict(outcome.changes)
    if outcome.sent_at is not None:
        fields["sent_at"] = clock.iso(outcome.sent_at)
    return clean(fields)


def _outcome_write(
    caller: Caller, outcome: Outcome, shards: dict[tuple[str, str, str], dict[str, int]]
) -> tuple[Record, list[Any], Any, Envelope | None]:
    """The mail's update (its fields set, on the condition that it is still as the outcome
    expects), its counts added to `shards`, and its email.sent when it went."""
    record = outcome.job.record
    assert record is not None
    fields = _fields(outcome)
    actions: list[Any] = [Record.fields[name].set(value) for name, value in fields.items()]
    condition = Record.fields["status"] == outcome.expect_status
    if outcome.expect_claim is not None:
        condition &= Record.fields["claimed_at"] == outcome.expect_claim
    data = {**record.data, **fields}
    campaign_id = data.get("campaign_id")
    if campaign_id and outcome.counts:
        shard = (caller.tenant, str(campaign_id), stats.shard_of(record.record_id))
        for name, value in outcome.counts.items():
            shards[shard][name] += value
    if outcome.sent_at is None:
        return record, actions, condition, failed_event(caller, record.record_id, data)
    event = EmailSent(
        message_id=record.record_id,
        contact_id=data.get("contact_id"),
        account_id=data.get("account_id"),
        to=data["to"],
        subject=data.get("subject"),
        campaign_id=data.get("campaign_id"),
        sent_by=data.get("sent_by"),
        sent_at=outcome.sent_at,
        requester=data.get("requester"),
        request_id=data.get("request_id"),
    )
    envelope = caller.event("email.sent", event, event_id=derived_id("email.sent", record.record_id))
    return record, actions, condition, envelope


# ----------------------------------------------------------------------------- a proof settles by itself


def record_proof(detail: dict[str, Any], keep_in: UnitOfWork | None = None) -> None:
    """An SES "Send" event (from the feedback queue): SES accepted one of our mails.

    A mail recorded already (the usual case in AWS) needs nothing. A mail still "sending" is settled
    from the proof only when its claim is older than the sender's timeout (SENDER_TIMEOUT_SECONDS):
    that sender is gone. While the sender may still be at work (it sends the rest of its batch,
    then records all of it) the proof is only kept, in `keep_in` (the feedback batch's
    transaction) when given: the sender's own record settles the mail, and if it died, the
    redelivery of its queue message settles it from the kept proof (`_classify`). Settling it here
    would cost a transaction a mail and refuse the mail in the sender's record (one more
    transaction); either way the conditions on the mail's status record it once (issue 18).
    A proof without a tenant is kept for the redelivery."""
    proof = proofs.proof_of(detail)
    if proof is None:
        logger.info("SES send event for a mail that is not ours", extra={"ses_message_id": detail.get("mail")})
        return
    if proof.tenant_id:
        key = (record_key(proof.tenant_id, KIND, proof.message_id), KIND.upper())
        found = batch_reads.read_once([key], keep=True)  # the delivery report of the same batch reads it too
        record = found[0] if found else None
        if record is None or record.data.get("status") != MessageStatus.sending:
            return  # recorded already (the usual case), or not ours
        if clock.now() - _claimed_at(record) > sender_timeout():
            batch_reads.forget([key])
            settle_from_proof(proof.tenant_id, proof, record)
            return
    if keep_in is not None:
        proofs.stage(keep_in, proof)
    else:
        proofs.keep(proof)


def sender_timeout() -> timedelta:
    """The sender function's timeout (template.yaml gives feedback the sender's): a claim older
    than this is no live sender's. Without it, Lambda's longest (900 s)."""
    return timedelta(seconds=float(os.environ.get("SENDER_TIMEOUT_SECONDS") or DEFAULT_SENDER_TIMEOUT))


def settle_from_proof(tenant: str, proof: Proof, record: Record) -> None:
    """SES accepted a mail still "sending" whose sender is gone (`record`, as read): record it as
    sent, unless someone else did meanwhile (the conditions on its status)."""
    caller = service_caller(tenant, open_tenant=False)
    job = Job(tenant, proof.message_id, record=record)
    _record_all(Batch([job], callers={tenant: caller}), [_proven(job, proof)])
