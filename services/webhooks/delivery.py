"""The delivery of webhook messages (WebhooksDeliveryFunction on WebhooksDeliveryQueue).

Each queue message names `{tenant_id, message_id, attempt}`. Per SQS batch: one consistent
BatchGetItem reads the messages, one their endpoints with the endpoints' health items; then per
message:

1. decide: a message gone, or not pending for exactly this attempt, is a stale queue message (a
   duplicate, or one the sweep queued again meanwhile): dropped. An endpoint deleted or disabled
   meanwhile fails the message (`endpoint_deleted` / `endpoint_disabled`) without a request;
2. the slow lane: a message to an endpoint marked slow (a request of it waited SLOW_AFTER_SECONDS
   or timed out, `slow_until` on its health item) moves unclaimed to WebhooksSlowQueue, which the
   same function drains, so its waits never hold the delivery queue's pumps;
   the endpoint's `rate_limit` (requests/s, the kernel's one-second windows, shared/send_rate.py):
   a message over it goes back on the queue a second later, not failed;
3. claim: status pending -> sending, attempts n-1 -> n, `claimed_at`, due at the claim's deadline
   (CLAIM_TIMEOUT), so a crashed claim is found by the sweep; the batch's claims in one
   TransactWriteItems, each conditioned on its own message; when that is refused (all or nothing:
   a stale or duplicate queue message, a race) one conditional UpdateItem each, so a bad queue
   message never blocks the others;
4. send (transport.py), every claimed message of the batch in its own thread: an endpoint that
   hangs for the whole timeout holds its own request only (the others' receivers have theirs at
   once; the batch's records wait for its answer, as its function's return always did);
5. record: each attempt record and its message's next state conditioned on the claim (status
   sending, attempts n), with the endpoint's health item and, when it comes to that, the
   endpoint's disabling and its events. The batch's attempts in ONE TransactWriteItems once every
   answer came (`_record_together`; each endpoint's health item updated once for all its answers,
   `_health_of_all`); one transaction each (`settle`) when that is refused (all or nothing), when
   only one is left, and for an attempt that disables its endpoint.

A crash after sending and before recording leaves the message `sending` in the due index at its
claim's deadline: the sweep (sweep.py) then records attempt n as `interrupted` and schedules n+1,
so no attempt is made twice (n is never claimed again) and none is lost.

Outcomes (domain/messages.py `outcome_of`): 2xx delivered; 410 failed (`gone`) and the endpoint
disabled with `webhook.endpoint_disabled`; 429, 5xx, a timeout or a connection error retry on the
schedule (`retry_delay`; delays up to 15 min go on the queue with DelaySeconds, longer ones wait in
the due index for the sweep); any other answer failed (`rejected`); the schedule's end failed
(`exhausted`) with `webhook.exhausted`. An endpoint with no success for FAILING_DAYS and at least
FAILING_ATTEMPTS failed attempts is disabled too (`failing`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from pynamodb.exceptions import UpdateError

from services.webhooks import messages, transport
from services.webhooks.domain.messages import (
    ATTEMPT,
    MESSAGE,
    WebhookAttemptError,
    WebhookAttemptOutcome,
    WebhookFailReason,
    WebhookMessageStatus,
    attempt_id,
    outcome_of,
    retry_after_seconds,
    retry_delay,
    signatures,
    valid_secrets,
)
from services.webhooks.endpoints import ENDPOINT
from services.webhooks.events import WebhookEndpointDisabled, WebhookExhausted
from services.webhooks.store import HealthItem, Record, batch_get_mixed
from shared import clock
from shared.events import Actor, new_event
from shared.observability import logger
from shared.send_rate import SendRate, window_of
from shared.store import (
    MAX_TRANSACTION_ITEMS,
    ConcurrentUpdate,
    UnitOfWork,
    record_key,
    run_with_retries,
    tenant_key,
    transaction,
)

CLAIM_TIMEOUT = timedelta(minutes=2)  # past the delivery function's 60 s: a claim this old died with its process
FAILING_DAYS = timedelta(days=5)
FAILING_ATTEMPTS = 10
RATE_RETRY_SECONDS = 1
SLOW_AFTER_SECONDS = 0.5  # a request unanswered this long marks its endpoint slow at once
SLOW_LANE = timedelta(minutes=10)  # an endpoint that timed out takes the slow lane this long, unless it answers
USER_AGENT = "Kontakt-Webhooks/1.0"
ACTOR = Actor(type="service", id="webhooks")
PENDING, SENDING = WebhookMessageStatus.pending.value, WebhookMessageStatus.sending.value


@dataclass(frozen=True)
class Job:
    tenant_id: str
    message_id: str
    attempt: int
    slow: bool = False  # on the slow lane already


@dataclass
class Claimed:
    job: Job
    record: Record
    endpoint: Record
    health: HealthItem | None


@dataclass(frozen=True)
class Sent:
    """A claimed message's request made: its answer, to be recorded."""

    claimed: Claimed
    answer: transport.Answer
    started: datetime


class Stale(Exception):
    """The message moved since it was read (another delivery, the sweep, a resend): nothing to record."""


class _EndpointMoved(Exception):
    """The endpoint was disabled by another writer since it was read."""


def job_of(body: Any) -> Job:
    document = json.loads(body) if isinstance(body, str) else body
    slow = bool(document.get("slow", False))
    return Job(str(document["tenant_id"]), str(document["message_id"]), int(document["attempt"]), slow)


# ----------------------------------------------------------------------------- the batch


def deliver_batch(bodies: list[Any], send: Callable[..., transport.Answer] = transport.post) -> list[Exception | None]:
    """Deliver an SQS batch's messages; an error for each queue message to retry (None: done)."""
    errors: list[Exception | None] = [None] * len(bodies)
    jobs: list[tuple[int, Job]] = []
    for index, body in enumerate(bodies):
        try:
            jobs.append((index, job_of(body)))
        except (KeyError, TypeError, ValueError) as exc:
            logger.error("unreadable delivery message", extra={"body": str(body)[:200]})
            errors[index] = exc
    if not jobs:
        return errors
    records, healths = _read_records([j for _, j in jobs])
    now = clock.now()
    claims: list[tuple[int, Claimed]] = []
    for index, job in jobs:
        record = records.get(_mkey(job))
        if (
            record is None
            or record.data.get("status") != PENDING
            or int(record.data.get("attempts", 0)) != job.attempt - 1
        ):
            logger.info("stale delivery message dropped", extra={"message_id": job.message_id, "attempt": job.attempt})
            continue
        endpoint = records.get((record_key(job.tenant_id, ENDPOINT, str(record.data["endpoint_id"])), ENDPOINT.upper()))
        try:
            if endpoint is None or not endpoint.data.get("enabled", True):
                reason = WebhookFailReason.endpoint_deleted if endpoint is None else WebhookFailReason.endpoint_disabled
                _fail_unsent(job, record, reason)
                continue
            claims.append((index, Claimed(job, record, endpoint, healths.get((job.tenant_id, endpoint.record_id)))))
        except Exception as exc:
            logger.exception("webhook message not settled", extra={"message_id": job.message_id})
            errors[index] = exc
    claims = _off_the_slow(claims, errors, now)
    claims = _within_rate(claims, errors)
    ready = _claim_together(claims, now)
    if ready is None:  # refused (a stale or duplicate queue message, a race): each alone, a bad one blocks none
        ready = []
        for index, claimed in claims:
            try:
                if _claim(claimed, now):
                    ready.append((index, claimed))
            except Exception as exc:
                logger.exception("webhook claim failed", extra={"message_id": claimed.job.message_id})
                errors[index] = exc
    if not ready:
        return errors
    with ThreadPoolExecutor(max_workers=len(ready)) as pool:
        futures = [(index, pool.submit(_send, claimed, send)) for index, claimed in ready]
    answered: list[tuple[int, Sent]] = []
    for index, future in futures:
        error = future.exception()
        if error is not None:
            logger.error("webhook attempt not made", extra={"error": repr(error)})
            errors[index] = error if isinstance(error, Exception) else RuntimeError(repr(error))
        else:
            answered.append((index, future.result()))
    for index, sent in _record_together(answered):  # refused, or one alone: each in its own transaction
        try:
            _settle_alone(sent)
        except Stale:
            pass
        except Exception as exc:
            logger.error("webhook attempt not recorded", extra={"error": repr(exc)})
            errors[index] = exc
    return errors


def _mkey(job: Job) -> tuple[str, str]:
    return record_key(job.tenant_id, MESSAGE, job.message_id), MESSAGE.upper()


def _read_records(jobs: list[Job]) -> tuple[dict[tuple[str, str], Record], dict[tuple[str, str], HealthItem]]:
    """The messages, then their endpoints with the endpoints' health items: two consistent
    BatchGetItems (100 keys a call). The records by key; the health items by (tenant, endpoint id)."""
    keys = list(dict.fromkeys(_mkey(j) for j in jobs))
    found: dict[tuple[str, str], Record] = {(r.pk, r.sk): r for r in Record.batch_get(keys, consistent_read=True)}
    tenants = {j.message_id: j.tenant_id for j in jobs}
    endpoints = {(tenants[r.record_id], str(r.data["endpoint_id"])) for r in found.values() if r.record_id in tenants}
    wanted = [(record_key(t, ENDPOINT, e), ENDPOINT.upper()) for t, e in sorted(endpoints)]
    wanted += [(HealthItem.of(t, e).pk, "HEALTH") for t, e in sorted(endpoints)]
    healths: dict[tuple[str, str], HealthItem] = {}
    for item in batch_get_mixed(wanted):
        if isinstance(item, HealthItem):
            _, tenant, _, endpoint_id = item.pk.split("#", 3)
            healths[(tenant, endpoint_id)] = item
        else:
            found[(item.pk, item.sk)] = item
    return found, healths


def _off_the_slow(
    claims: list[tuple[int, Claimed]], errors: list[Exception | None], now: datetime
) -> list[tuple[int, Claimed]]:
    """The claims to make here; the messages to an endpoint whose last attempt timed out move to the
    slow lane (unclaimed, the same attempt), so its wait never holds this queue's batches."""
    kept = []
    for index, claimed in claims:
        health, job = claimed.health, claimed.job
        if job.slow or health is None or not health.slow_until or datetime.fromisoformat(health.slow_until) <= now:
            kept.append((index, claimed))
            continue
        try:
            messages.enqueue(job.tenant_id, [(job.message_id, job.attempt)], slow=True)
        except Exception as exc:
            errors[index] = exc
    return kept


def _within_rate(claims: list[tuple[int, Claimed]], errors: list[Exception | None]) -> list[tuple[int, Claimed]]:
    """The claims within their endpoints' rate limits this second; the others queued again shortly."""
    by_endpoint: dict[tuple[str, str], list[tuple[int, Claimed]]] = {}
    for index, claimed in claims:
        by_endpoint.setdefault((claimed.job.tenant_id, claimed.endpoint.record_id), []).append((index, claimed))
    kept: list[tuple[int, Claimed]] = []
    for (tenant, endpoint_id), group in by_endpoint.items():
        limit = group[0][1].endpoint.data.get("rate_limit")
        if not limit:
            kept += group
            continue
        rate = SendRate(f"WEBHOOK#{tenant}#{endpoint_id}", _constant(int(limit)))
        window = window_of(clock.epoch())
        taken = 0
        # at most the limit in one take: a window's first take is not checked against it (shared/send_rate.py)
        for size in (min(len(group), int(limit)), 1):
            while taken < len(group) and rate.take(window, min(size, len(group) - taken), int(limit)):
                taken += min(size, len(group) - taken)
            if taken == len(group):
                break
        kept += group[:taken]
        for index, claimed in group[taken:]:
            try:
                job = claimed.job
                messages.enqueue(job.tenant_id, [(job.message_id, job.attempt)], RATE_RETRY_SECONDS)
            except Exception as exc:
                errors[index] = exc
    return kept


def _constant(value: int) -> Callable[[], int]:
    return lambda: value


def _claim_actions(claimed: Claimed, now: datetime) -> tuple[list[Any], Any]:
    """The claim's update and its condition: pending with attempts n-1 -> sending with attempts n,
    listed in the due index at the claim's deadline."""
    record, job = claimed.record, claimed.job
    deadline = clock.iso(now + CLAIM_TIMEOUT)
    actions = [
        Record.fields["status"].set(SENDING),
        Record.fields["attempts"].set(job.attempt),
        Record.fields["claimed_at"].set(clock.iso(now)),
        *record.due_actions(job.tenant_id, deadline),
    ]
    condition = (Record.fields["status"] == PENDING) & (Record.fields["attempts"] == job.attempt - 1)
    return actions, condition


def _claim_together(claims: list[tuple[int, Claimed]], now: datetime) -> list[tuple[int, Claimed]] | None:
    """Every claim of the batch in one TransactWriteItems, each conditioned as `_claim`'s: all of
    them, or None when the transaction was refused (then `_claim` takes them one by one)."""
    if len(claims) < 2 or len(claims) > MAX_TRANSACTION_ITEMS:
        return None
    try:
        with transaction() as tx:
            for _, claimed in claims:
                actions, condition = _claim_actions(claimed, now)
                tx.update(claimed.record, actions, condition=condition, add_version_condition=False)
    except Exception as exc:
        logger.info("batch claim refused, claims one by one", extra={"reason": type(exc).__name__})
        return None
    for _, claimed in claims:  # what the transaction wrote (a single claim's UpdateItem reads it back)
        data = claimed.record.data
        claimed.record.data = {**data, "status": SENDING, "attempts": claimed.job.attempt, "claimed_at": clock.iso(now)}
    return claims


def _claim(claimed: Claimed, now: datetime) -> bool:
    """Pending with attempts n-1 -> sending with attempts n; False when another got there first."""
    record = claimed.record
    actions, condition = _claim_actions(claimed, now)
    try:
        record.update(actions=actions, condition=condition, add_version_condition=False)
    except UpdateError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True


# ----------------------------------------------------------------------------- one attempt


def request_headers(endpoint: dict[str, Any], message_id: str, body: str, now: datetime) -> dict[str, str]:
    """The endpoint's custom headers, then Kontakt's own (Standard Webhooks)."""
    timestamp = int(now.timestamp())
    return {
        **{str(k): str(v) for k, v in (endpoint.get("headers") or {}).items()},
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures(valid_secrets(endpoint, now), message_id, timestamp, body),
    }


def _send(claimed: Claimed, send: Callable[..., transport.Answer]) -> Sent:
    record, endpoint = claimed.record, claimed.endpoint
    started = clock.now()
    body = str(record.data["payload"])
    headers = request_headers(endpoint.data, record.record_id, body, started)
    marker = threading.Timer(SLOW_AFTER_SECONDS, _mark_slow, (claimed,))  # still waiting then: slow from now on
    marker.daemon = True
    marker.start()
    try:
        answer = send(str(endpoint.data["url"]), body, headers)
    finally:
        marker.cancel()
    return Sent(claimed, answer, started)


def _mark_slow(claimed: Claimed) -> None:
    """The endpoint has kept a request waiting SLOW_AFTER_SECONDS: its next messages take the slow lane."""
    item: HealthItem = HealthItem.of(claimed.job.tenant_id, claimed.endpoint.record_id)
    try:
        item.update(
            actions=[
                HealthItem.slow_until.set(clock.iso(clock.now() + SLOW_LANE)),
                HealthItem.kind.set("endpoint_health"),
            ]
        )
    except Exception:  # only a hint: the answer's own record says it again
        logger.exception("slow endpoint not marked", extra={"endpoint_id": claimed.endpoint.record_id})


def settle(claimed: Claimed, answer: transport.Answer, started: datetime) -> None:
    """Record attempt n and the message's next state in one transaction conditioned on the claim."""
    uow, outcome, _ = _staged(claimed, answer, started, clock.now(), health=True)
    try:
        uow.commit()
    except _EndpointMoved:  # another message disabled it first: record this one without doing it again
        claimed.endpoint.data = {**claimed.endpoint.data, "enabled": False}
        settle(claimed, answer, started)
        return
    _logged(claimed, answer, outcome)


def _settle_alone(sent: Sent) -> None:
    run_with_retries(lambda: settle(sent.claimed, sent.answer, sent.started), attempts=5)


def _logged(claimed: Claimed, answer: transport.Answer, outcome: WebhookAttemptOutcome) -> None:
    logger.info(
        "webhook attempt",
        extra={
            "message_id": claimed.record.record_id,
            "attempt": claimed.job.attempt,
            "outcome": outcome.value,
            "status": answer.status_code,
        },
    )


def _record_together(answered: list[tuple[int, Sent]]) -> list[tuple[int, Sent]]:
    """Record the batch's attempts in one TransactWriteItems, each conditioned on its claim as
    `settle`'s, the endpoints' health items updated once each for all their answers; the attempts
    left to `settle` one by one: an attempt that disables its endpoint, and all of them when the
    transaction was refused (all or nothing: a claim taken meanwhile, a race) or only one is left."""
    if len(answered) < 2:
        return answered
    now = clock.now()
    combined, together, alone = UnitOfWork(), [], []
    answers: dict[tuple[str, str], list[tuple[transport.Answer, WebhookAttemptOutcome]]] = {}
    for index, sent in answered:
        uow, outcome, disable = _staged(sent.claimed, sent.answer, sent.started, now, health=False)
        endpoint = (sent.claimed.job.tenant_id, sent.claimed.endpoint.record_id)
        room = len(combined) + len(uow) + len(answers) + (endpoint not in answers)
        if disable or room > MAX_TRANSACTION_ITEMS:
            alone.append((index, sent))
            continue
        combined.absorb(uow)
        together.append((index, sent, outcome))
        answers.setdefault(endpoint, []).append((sent.answer, outcome))
    if len(together) < 2:
        return answered
    for (tenant, endpoint_id), outcomes in answers.items():
        actions = _health_of_all(outcomes, now)
        if actions:
            combined.update(HealthItem.of(tenant, endpoint_id), actions)
    try:
        combined.commit()
    except Exception as exc:
        logger.info("batch record refused, attempts one by one", extra={"reason": type(exc).__name__})
        return answered
    for _, sent, outcome in together:
        _logged(sent.claimed, sent.answer, outcome)
    return alone


def _staged(
    claimed: Claimed, answer: transport.Answer, started: datetime, now: datetime, health: bool
) -> tuple[UnitOfWork, WebhookAttemptOutcome, str | None]:
    """Attempt n's record and the message's next state staged in a unit of work, conditioned on the
    claim, with the endpoint's health item (`health`) and its disabling when it comes to that; the
    outcome and the reason the endpoint is disabled (None: it is not)."""
    job, record, endpoint = claimed.job, claimed.record, claimed.endpoint
    outcome, reason = outcome_of(answer.status_code, answer.error)
    number = job.attempt
    changes: dict[str, Any] = {"last_attempt_at": clock.iso(started), "last_status_code": answer.status_code}
    after: Callable[[], None] | None = None
    events: list[BaseModel] = []
    due: str | None = None
    if outcome is WebhookAttemptOutcome.delivered:
        changes.update(status=WebhookMessageStatus.delivered.value, delivered_at=clock.iso(now), next_attempt_at=None)
    elif outcome is WebhookAttemptOutcome.retry:
        in_round = number - int(record.data.get("round_start", 0))
        wait = retry_after_seconds(answer.headers.get("retry-after"), now) if answer.status_code else None
        delay = retry_delay(record.record_id, in_round + 1, wait)
        if delay is None:
            outcome, reason = WebhookAttemptOutcome.failed, WebhookFailReason.exhausted
            events.append(_exhausted(record, number, answer.status_code, now))
        else:
            at = now + timedelta(seconds=delay)
            changes.update(status=PENDING, next_attempt_at=clock.iso(at))
            queued = delay <= messages.SQS_MAX_DELAY
            due = clock.iso(at + messages.QUEUE_CHECK) if queued else clock.iso(at)
            tenant, message_id = job.tenant_id, record.record_id
            after = lambda: messages.schedule(tenant, message_id, number + 1, delay)  # noqa: E731
    if outcome is WebhookAttemptOutcome.failed:
        changes.update(
            status=WebhookMessageStatus.failed.value, reason=reason.value if reason else None, next_attempt_at=None
        )
    uow = UnitOfWork()
    attempt = _attempt_record(job, record, endpoint, started, answer, outcome)
    uow.save(attempt, condition=Record.pk.does_not_exist(), on_conflict=Stale)
    claim = (Record.fields["status"] == SENDING) & (Record.fields["attempts"] == number)
    actions = [*_field_actions(changes), Record.fields["claimed_at"].remove(), *record.due_actions(job.tenant_id, due)]
    uow.update(record, actions, condition=claim, on_conflict=Stale, check_version=False)
    disable = _health(uow if health else None, claimed, answer, outcome, reason, now)
    if disable:
        uow.update(
            endpoint,
            [
                Record.fields["enabled"].set(False),
                Record.fields["disabled_reason"].set(disable),
                Record.fields["disabled_at"].set(now.isoformat()),
            ],
            condition=Record.fields["enabled"] == True,  # noqa: E712  (a DynamoDB condition, not a comparison)
            on_conflict=_EndpointMoved,
            check_version=False,
        )
        disabled = WebhookEndpointDisabled(
            endpoint_id=endpoint.record_id, url=str(endpoint.data["url"]), reason=disable, at=now
        )
        events.append(disabled)
    for payload in events:
        name = "webhook.exhausted" if isinstance(payload, WebhookExhausted) else "webhook.endpoint_disabled"
        uow.publish(new_event(name, job.tenant_id, payload, actor=ACTOR))
    if after is not None:
        uow.after_commit(after)
    return uow, outcome, disable


def _attempt_record(
    job: Job,
    record: Record,
    endpoint: Record,
    started: datetime,
    answer: transport.Answer,
    outcome: WebhookAttemptOutcome,
) -> Record:
    number = job.attempt
    data = {
        "message_id": record.record_id,
        "endpoint_id": endpoint.record_id,
        "number": number,
        "started_at": clock.iso(started),
        "url": str(endpoint.data["url"]),
        "status_code": answer.status_code,
        "latency_ms": answer.latency_ms,
        "response_headers": answer.headers,
        "response_body": answer.body,
        "error": answer.error.value if answer.error else None,
        "outcome": outcome.value,
    }
    attempt = messages.STORE.new(job.tenant_id, ATTEMPT, attempt_id(record.record_id, number), data)
    attempt.gsi1pk, attempt.gsi1sk = messages.message_attempts_key(job.tenant_id, record.record_id), f"{number:02d}"
    attempt.expires_at = record.expires_at
    return attempt


def _health(
    uow: UnitOfWork | None,
    claimed: Claimed,
    answer: transport.Answer,
    outcome: WebhookAttemptOutcome,
    reason: WebhookFailReason | None,
    now: datetime,
) -> str | None:
    """Update the endpoint's health in `uow` (None: the caller does, `_health_of_all`); the reason
    to disable it, if it comes to that."""
    actions = _health_of_all([(answer, outcome)], now)
    if actions and uow is not None:
        uow.update(HealthItem.of(claimed.job.tenant_id, claimed.endpoint.record_id), actions)
    if outcome is WebhookAttemptOutcome.delivered or answer.error is WebhookAttemptError.interrupted:
        return None
    if not claimed.endpoint.data.get("enabled", True):
        return None
    if reason is WebhookFailReason.gone:
        return "gone"
    health = claimed.health
    failures = int(health.failures or 0) + 1 if health else 1
    since = datetime.fromisoformat(health.failing_since) if health and health.failing_since else now
    if failures >= FAILING_ATTEMPTS and since <= now - FAILING_DAYS:
        return "failing"
    return None


def _health_of_all(answers: list[tuple[transport.Answer, WebhookAttemptOutcome]], now: datetime) -> list[Any]:
    """The update of an endpoint's health item for these answers, as if applied one after another:
    a success resets the failures (those after it counted again), every other answer but an
    interruption counts one; a timeout marks it slow, any other answer with a status clears that,
    the last such answer deciding. No update ([]) when every answer was an interruption."""
    stamp = clock.iso(now)
    delivered, failures, slow = False, 0, None
    for answer, outcome in answers:
        if outcome is WebhookAttemptOutcome.delivered:
            delivered, failures, slow = True, 0, False
        elif answer.error is not WebhookAttemptError.interrupted:
            failures += 1
            if answer.error is WebhookAttemptError.timeout:
                slow = True
            elif answer.status_code is not None:
                slow = False
    if not delivered and not failures:
        return []
    actions: list[Any] = [HealthItem.kind.set("endpoint_health")]
    if delivered:
        actions.append(HealthItem.last_success_at.set(stamp))
        if failures:
            actions += [HealthItem.failures.set(failures), HealthItem.failing_since.set(stamp)]
        else:
            actions += [HealthItem.failures.set(0), HealthItem.failing_since.remove()]
    else:
        actions += [HealthItem.failures.add(failures), HealthItem.failing_since.set(HealthItem.failing_since | stamp)]
    if slow is True:
        actions.append(HealthItem.slow_until.set(clock.iso(now + SLOW_LANE)))
    elif slow is False:
        actions.append(HealthItem.slow_until.remove())
    return actions


def _exhausted(record: Record, number: int, status_code: int | None, now: datetime) -> WebhookExhausted:
    data = record.data
    return WebhookExhausted(
        endpoint_id=str(data["endpoint_id"]),
        message_id=record.record_id,
        event_id=str(data["event_id"]),
        event_type=str(data["event_type"]),
        attempts=number,
        last_status_code=status_code,
        at=now,
    )


def _field_actions(changes: dict[str, Any]) -> list[Any]:
    return [Record.fields[k].remove() if v is None else Record.fields[k].set(v) for k, v in changes.items()]


def _fail_unsent(job: Job, record: Record, reason: WebhookFailReason) -> None:
    """Fail a message whose endpoint is gone or disabled, without a request."""
    changes = {"status": WebhookMessageStatus.failed.value, "reason": reason.value, "next_attempt_at": None}
    uow = UnitOfWork()
    condition = (Record.fields["status"] == PENDING) & (Record.fields["attempts"] == job.attempt - 1)
    actions = [*_field_actions(changes), *record.due_actions(job.tenant_id, None)]
    uow.update(record, actions, condition=condition, on_conflict=Stale, check_version=False)
    with suppress(Stale):
        uow.commit()


# ----------------------------------------------------------------------------- a claim that died


def interrupted(tenant: str, record: Record, cutoff: datetime) -> str:
    """A message whose claim outlived CLAIM_TIMEOUT (its deliverer died between sending and
    recording): attempt n recorded `interrupted`, the next one scheduled (or the schedule ends)."""
    claimed_at = record.data.get("claimed_at")
    if claimed_at and datetime.fromisoformat(str(claimed_at)) + CLAIM_TIMEOUT > cutoff:
        return "claimed"
    endpoint = Record.batch_get([(record_key(tenant, ENDPOINT, str(record.data["endpoint_id"])), ENDPOINT.upper())])
    found = next(iter(endpoint), None)
    if found is None:  # gone meanwhile: the attempt is still recorded, against what the message knew
        found = messages.STORE.new(tenant, ENDPOINT, str(record.data["endpoint_id"]), {"url": "", "enabled": False})
    number = int(record.data.get("attempts", 0))
    claimed = Claimed(Job(tenant, record.record_id, number), record, found, None)
    started = datetime.fromisoformat(str(claimed_at)) if claimed_at else clock.now()
    try:
        settle(claimed, transport.Answer(error=WebhookAttemptError.interrupted), started)
    except (Stale, ConcurrentUpdate):
        return "settled"
    return "interrupted"


def health_key(tenant: str, endpoint_id: str) -> str:
    return tenant_key(tenant, "ENDPOINT_HEALTH", endpoint_id)
