"""The delivery of webhook messages (WebhooksDeliveryFunction on WebhooksDeliveryQueue).

Each queue message names `{tenant_id, message_id, attempt}`. Per SQS batch: one consistent
BatchGetItem reads the messages with their endpoints, one the endpoints' health items; then per
message:

1. decide: a message gone, or not pending for exactly this attempt, is a stale queue message (a
   duplicate, or one the sweep queued again meanwhile): dropped. An endpoint deleted or disabled
   meanwhile fails the message (`endpoint_deleted` / `endpoint_disabled`) without a request;
2. the slow lane: a message to an endpoint marked slow (a request of it waited SLOW_AFTER_SECONDS
   or timed out, `slow_until` on its health item) moves unclaimed to WebhooksSlowQueue, which the
   same function drains, so its waits never hold the delivery queue's pumps;
   the endpoint's `rate_limit` (requests/s, the kernel's one-second windows, shared/send_rate.py):
   a message over it goes back on the queue a second later, not failed;
3. claim: one conditional UpdateItem, status pending -> sending, attempts n-1 -> n, `claimed_at`,
   due at the claim's deadline (CLAIM_TIMEOUT), so a crashed claim is found by the sweep;
4. send (transport.py), every claimed message of the batch in its own thread: an endpoint that
   hangs for the whole timeout holds its own message only; each is recorded as soon as its
   answer came;
5. record (`settle`): the attempt record and the message's next state in ONE transaction
   conditioned on the claim (status sending, attempts n), with the endpoint's health item and,
   when it comes to that, the endpoint's disabling and its events.

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
from services.webhooks.store import HealthItem, Record
from shared import clock
from shared.events import Actor, new_event
from shared.observability import logger
from shared.send_rate import SendRate, window_of
from shared.store import ConcurrentUpdate, UnitOfWork, record_key, run_with_retries, tenant_key

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
    records = _read_records([j for _, j in jobs])
    healths = _read_health({(j.tenant_id, str(m.data["endpoint_id"])) for _, j in jobs if (m := records.get(_mkey(j)))})
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
    ready: list[tuple[int, Claimed]] = []
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
        futures = [(index, pool.submit(_send_and_record, claimed, send)) for index, claimed in ready]
    for index, future in futures:
        error = future.exception()
        if error is not None and not isinstance(error, Stale):
            logger.error("webhook attempt not recorded", extra={"error": repr(error)})
            errors[index] = error if isinstance(error, Exception) else RuntimeError(repr(error))
    return errors


def _mkey(job: Job) -> tuple[str, str]:
    return record_key(job.tenant_id, MESSAGE, job.message_id), MESSAGE.upper()


def _read_records(jobs: list[Job]) -> dict[tuple[str, str], Record]:
    """The messages, then their endpoints: two consistent BatchGetItems at most (100 keys a call)."""
    keys = list(dict.fromkeys(_mkey(j) for j in jobs))
    found = {(r.pk, r.sk): r for r in Record.batch_get(keys, consistent_read=True)}
    tenants = {j.message_id: j.tenant_id for j in jobs}
    endpoint_keys = list(
        dict.fromkeys(
            (record_key(tenants[r.record_id], ENDPOINT, str(r.data["endpoint_id"])), ENDPOINT.upper())
            for r in list(found.values())
            if r.record_id in tenants
        )
    )
    if endpoint_keys:
        found.update({(r.pk, r.sk): r for r in Record.batch_get(endpoint_keys, consistent_read=True)})
    return found


def _read_health(endpoints: set[tuple[str, str]]) -> dict[tuple[str, str], HealthItem]:
    if not endpoints:
        return {}
    keys = [(HealthItem.of(t, e).pk, "HEALTH") for t, e in endpoints]
    found = {}
    for item in HealthItem.batch_get(keys, consistent_read=True):
        _, tenant, _, endpoint_id = item.pk.split("#", 3)
        found[(tenant, endpoint_id)] = item
    return found


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


def _claim(claimed: Claimed, now: datetime) -> bool:
    """Pending with attempts n-1 -> sending with attempts n; False when another got there first."""
    record, job = claimed.record, claimed.job
    deadline = clock.iso(now + CLAIM_TIMEOUT)
    actions = [
        Record.fields["status"].set(SENDING),
        Record.fields["attempts"].set(job.attempt),
        Record.fields["claimed_at"].set(clock.iso(now)),
        *record.due_actions(job.tenant_id, deadline),
    ]
    condition = (Record.fields["status"] == PENDING) & (Record.fields["attempts"] == job.attempt - 1)
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


def _send_and_record(claimed: Claimed, send: Callable[..., transport.Answer]) -> None:
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
    run_with_retries(lambda: settle(claimed, answer, started), attempts=5)


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
    job, record, endpoint = claimed.job, claimed.record, claimed.endpoint
    now = clock.now()
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
    disable = _health(uow, claimed, answer, outcome, reason, now)
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
    try:
        uow.commit()
    except _EndpointMoved:  # another message disabled it first: record this one without doing it again
        endpoint.data = {**endpoint.data, "enabled": False}
        settle(claimed, answer, started)
        return
    logger.info(
        "webhook attempt",
        extra={
            "message_id": record.record_id,
            "attempt": number,
            "outcome": outcome.value,
            "status": answer.status_code,
        },
    )


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
    uow: UnitOfWork,
    claimed: Claimed,
    answer: transport.Answer,
    outcome: WebhookAttemptOutcome,
    reason: WebhookFailReason | None,
    now: datetime,
) -> str | None:
    """Update the endpoint's health in `uow`; the reason to disable it, if it comes to that."""
    item = HealthItem.of(claimed.job.tenant_id, claimed.endpoint.record_id)
    stamp = clock.iso(now)
    actions: list[Any]
    if outcome is WebhookAttemptOutcome.delivered:
        actions = [
            HealthItem.last_success_at.set(stamp), HealthItem.failures.set(0), HealthItem.failing_since.remove(),
            HealthItem.slow_until.remove(), HealthItem.kind.set("endpoint_health"),
        ]  # fmt: skip
        uow.update(item, actions)
        return None
    if answer.error is WebhookAttemptError.interrupted:
        return None
    actions = [
        HealthItem.failures.add(1),
        HealthItem.failing_since.set(HealthItem.failing_since | stamp),
        HealthItem.kind.set("endpoint_health"),
    ]
    if answer.error is WebhookAttemptError.timeout:
        actions.append(HealthItem.slow_until.set(clock.iso(now + SLOW_LANE)))
    elif answer.status_code is not None:
        actions.append(HealthItem.slow_until.remove())
    uow.update(item, actions)
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
