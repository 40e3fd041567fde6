"""Webhook messages: the fan-out of the bus's events to the tenants' endpoints, and the queue.

Every event the catalogue offers (catalogue.py; template.yaml's WebhooksEventsRule routes exactly
those, `anything-but` the internal and `webhook.*` types) comes to the consumer. For each, the
tenant's enabled endpoints are read (one query per tenant per SQS batch, `batch_scope.kept`; then
their health items with the tenant's settings in one BatchGetItem), their
filters matched (domain/messages.py `matches`) and one MESSAGE record written per (endpoint, event)
with id `derived_id(endpoint_id, event_id)`, in the transaction of the consumer's dedupe marker:
a redelivered event makes no second message. The handler is a `together` one (shared/batch_scope.py):
its writes are puts if absent and its queueing waits for the commit, so a batch's events commit in
one transaction with their markers (100 items each; one refused goes one by one, shared/consumer.py).
After the commit the messages go on the delivery queue (SendMessageBatch, `{tenant_id, message_id,
attempt}`); one never claimed is queued again by the sweep (sweep.py) `QUEUE_CHECK` after it was
due, as SMS messages are.

Record layout (the log and replay API, the test event and the console build on it):

- message: kind "message", id derived as above; gsi1pk `T#<t>#ENDPOINT#<endpoint id>#MESSAGE`,
  gsi1sk `<created_at>#<id>` (an endpoint's messages by time); data {endpoint_id, event_id,
  event_type, payload (the body: the envelope's JSON exactly as sent), status (pending | sending |
  delivered | failed), reason (rejected | gone | exhausted | endpoint_disabled | endpoint_deleted |
  refused_address, failed only), attempts (made so far), round_start (attempts made before the
  current round of the schedule: 0, or what a resend found), next_attempt_at, last_attempt_at,
  last_status_code, claimed_at (sending only), created_at, delivered_at}; in `by_due` while pending
  (at next_attempt_at, or that + QUEUE_CHECK when a queue message carries it) or sending (at the
  claim's deadline); expires_at (TTL) = created + the tenant's retention (setup.retention).
- attempt: kind "attempt", id `<message id>.<nn>`; gsi1pk `T#<t>#MESSAGE#<message id>#ATTEMPT`,
  gsi1sk `<nn>`; data {message_id, endpoint_id, number, started_at, url, status_code, latency_ms,
  response_headers, response_body (first 4 KiB), error (timeout | connection | refused_address |
  interrupted), outcome (delivered | retry | failed)}; expires_at as its message's.

`enqueue` and `requeue` are what the replay API calls: a resend makes a message pending again and
queues its next attempt now (a new round of the schedule).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from services.webhooks import catalogue, setup
from services.webhooks.domain.messages import ATTEMPT, MESSAGE, WebhookMessageStatus, matches
from services.webhooks.domain.setup import WebhookSettings
from services.webhooks.endpoints import ENDPOINT
from services.webhooks.events import WebhookMessageResent
from services.webhooks.service import Caller
from services.webhooks.settings import WebhooksSettings
from services.webhooks.store import HealthItem, Record, WebhooksStore, batch_get_mixed
from services.webhooks.subscriptions import subscribe
from shared import batch_scope, clock
from shared.consumer import Handle
from shared.events import Envelope, changes_of
from shared.ids import derived_id
from shared.observability import logger
from shared.service import SETTING as SETTING_KIND
from shared.settings import load
from shared.store import AlreadyApplied, UnitOfWork, record_key, tenant_key

# A queued attempt is listed in the sweep's index until claimed: one still unclaimed this long after
# it was due (its queue message was never sent, or was lost) is queued again.
QUEUE_CHECK = timedelta(minutes=2)
SQS_MAX_DELAY = 900  # SendMessage's DelaySeconds at most: longer waits are held in the due index
STORE = WebhooksStore()


def message_id_of(endpoint_id: str, event_id: str) -> str:
    return derived_id(endpoint_id, event_id)


def endpoint_messages_key(tenant: str, endpoint_id: str) -> str:
    return tenant_key(tenant, "ENDPOINT", endpoint_id, MESSAGE.upper())


def message_attempts_key(tenant: str, message_id: str) -> str:
    return tenant_key(tenant, "MESSAGE", message_id, ATTEMPT.upper())


def retention_of(tenant: str) -> timedelta:
    """How long the tenant's messages and attempts are kept: its `retention_days` (setup.py), read
    once for the consumer's batch, with the endpoints' health items (`_tenant_reads`)."""
    return _tenant_reads(tenant)[0]


def enabled_endpoints(tenant: str) -> list[Record]:
    """The tenant's enabled endpoints: one query, kept for the consumer's batch."""

    def read() -> list[Record]:
        return [r for r in STORE.all_of_kind(tenant, ENDPOINT) if r.data.get("enabled", True)]

    return batch_scope.kept(("webhooks.endpoints", tenant), read)


def slow_endpoints(tenant: str) -> set[str]:
    """The tenant's enabled endpoints marked slow (delivery.py): their messages start on the slow lane."""
    return _tenant_reads(tenant)[1]


def _tenant_reads(tenant: str) -> tuple[timedelta, set[str]]:
    """The tenant's retention (its webhooks setting; absent = the default) and its slow enabled
    endpoints: the setting and the endpoints' health items in one consistent BatchGetItem, kept
    for the consumer's batch."""

    def read() -> tuple[timedelta, set[str]]:
        ids = [e.record_id for e in enabled_endpoints(tenant)]
        keys = [(record_key(tenant, SETTING_KIND, setup.SETTING), SETTING_KIND.upper())]
        keys += [(HealthItem.of(tenant, i).pk, "HEALTH") for i in ids]
        now = clock.iso(clock.now())
        stored: dict[str, Any] | None = None
        slow: set[str] = set()
        for item in batch_get_mixed(keys):
            if isinstance(item, HealthItem):
                if item.slow_until and item.slow_until > now:
                    slow.add(item.pk.rsplit("#", 1)[-1])
            else:
                stored = item.data
        settings = WebhookSettings.model_validate(stored) if stored is not None else WebhookSettings()
        return timedelta(days=settings.retention_days), slow

    return batch_scope.kept(("webhooks.tenant", tenant), read)


def new_message(tenant: str, endpoint_id: str, event_id: str, event_type: str, payload: str, now: datetime) -> Record:
    """A pending message, due at once, listed by its endpoint and in the sweep's index."""
    message_id = message_id_of(endpoint_id, event_id)
    created = clock.iso(now)
    data = {
        "endpoint_id": endpoint_id,
        "event_id": event_id,
        "event_type": event_type,
        "payload": payload,
        "status": WebhookMessageStatus.pending.value,
        "attempts": 0,
        "round_start": 0,
        "next_attempt_at": created,
        "created_at": created,
    }
    record = STORE.new(tenant, MESSAGE, message_id, data)
    record.gsi1pk, record.gsi1sk = endpoint_messages_key(tenant, endpoint_id), f"{created}#{message_id}"
    record.expires_at = now + retention_of(tenant)  # type: ignore[assignment]
    record.set_due(tenant, clock.iso(now + QUEUE_CHECK))
    return record


def fan_out(envelope: Envelope, uow: UnitOfWork) -> list[str]:
    """Stage one message per matching enabled endpoint of the event's tenant in `uow`; queued after
    its commit. The ids of the staged messages."""
    endpoints = [
        e for e in enabled_endpoints(envelope.tenant_id) if matches(e.data.get("event_types") or [], envelope.type)
    ]
    if not endpoints:
        return []
    now = clock.now()
    payload = envelope.outward_json()
    ids = []
    for endpoint in endpoints:
        record = new_message(envelope.tenant_id, endpoint.record_id, envelope.id, envelope.type, payload, now)
        STORE.add(uow, record, on_conflict=AlreadyApplied)
        ids.append(record.record_id)
    tenant = envelope.tenant_id
    slow = slow_endpoints(tenant)
    lanes = [(tenant, i, e.record_id in slow) for i, e in zip(ids, endpoints, strict=True)]
    uow.after_commit(lambda: _queued_after_batch(lanes))
    return ids


class _Queued:
    """The messages a consumer's batch committed, queued together once the batch is handled."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, bool]] = []
        self.scheduled = False

    def flush(self) -> None:
        for tenant in dict.fromkeys(t for t, _, _ in self.messages):
            for slow in (False, True):
                ids = [(m, 1) for t, m, s in self.messages if t == tenant and s is slow]
                if ids:
                    enqueue_or_leave_to_sweep(tenant, ids, slow=slow)
        self.messages = []


def _queued_after_batch(lanes: list[tuple[str, str, bool]]) -> None:
    """Queue committed messages when the consumer's batch ends (SendMessageBatch by 10 across its
    events; at once outside a batch). Should the process die first, the sweep queues them."""
    queued = batch_scope.kept("webhooks.queued", _Queued)
    queued.messages += lanes
    if not queued.scheduled:
        queued.scheduled = True
        batch_scope.at_end(queued.flush)


def subscribe_offered() -> Callable[[Handle], Handle]:
    """Subscribe a handler to every offered event type (catalogue.py): exactly what the template's
    `anything-but` rule routes (tests/unit/test_event_contracts.py)."""

    def register(handle: Handle) -> Handle:
        for event_type in catalogue.offered():
            subscribe(event_type)(handle)
        return handle

    return register


@subscribe_offered()
@batch_scope.together  # puts if absent and after-commit queueing only: a batch's events commit in one transaction
def on_event(envelope: Envelope, uow: UnitOfWork) -> None:
    fan_out(envelope, uow)


# ----------------------------------------------------------------------------- the delivery queue


@cache
def _sqs() -> Any:
    import boto3  # here: a cold start that queues no message does not load boto3 (~15-20 ms of a cold start)

    return boto3.client("sqs")


def enqueue(tenant_id: str, messages: Sequence[tuple[str, int]], delay_seconds: int = 0, slow: bool = False) -> None:
    """Put (message id, attempt number) on the delivery queue (`slow`: the slow lane), 10 a
    SendMessageBatch; `delay_seconds` at most SQS_MAX_DELAY. Raises when SQS did not take every one."""
    settings = load(WebhooksSettings)
    url = settings.slow_queue_url if slow else settings.delivery_queue_url
    items = list(messages)
    for start in range(0, len(items), 10):
        entries = [
            {
                "Id": str(n),
                "MessageBody": json.dumps({"tenant_id": tenant_id, "message_id": m, "attempt": a, "slow": slow}),
                "DelaySeconds": max(0, min(int(delay_seconds), SQS_MAX_DELAY)),
            }
            for n, (m, a) in enumerate(items[start : start + 10])
        ]
        answer = _sqs().send_message_batch(QueueUrl=url, Entries=entries)
        if answer.get("Failed"):
            raise RuntimeError(f"the delivery queue refused {len(answer['Failed'])} messages")


def enqueue_or_leave_to_sweep(
    tenant_id: str, messages: Sequence[tuple[str, int]], delay_seconds: int = 0, slow: bool = False
) -> None:
    """`enqueue`, and if that fails leave the messages to the sweep, which queues them QUEUE_CHECK
    after they were due: they are committed and listed there."""
    try:
        enqueue(tenant_id, messages, delay_seconds, slow)
    except Exception:
        logger.exception("webhook messages not queued: the sweep queues them", extra={"count": len(messages)})


def requeue(caller: Caller, message_id: str) -> Record | None:
    """Resend a message now (the replay API): pending again, a new round of the schedule, queued at
    once, with `webhook.message_resent` for the audit trail. A message under way (`sending`) is left
    alone: None. Conditioned on what was read."""
    record = caller.store.get(caller.tenant, MESSAGE, message_id)
    if record is None or record.data.get("status") == WebhookMessageStatus.sending.value:
        return None
    now = clock.now()
    attempts = int(record.data.get("attempts", 0))
    data = {
        **record.data,
        "status": WebhookMessageStatus.pending.value,
        "reason": None,
        "round_start": attempts,
        "next_attempt_at": clock.iso(now),
    }
    record.set_due(caller.tenant, clock.iso(now + QUEUE_CHECK))
    changes = changes_of({"status": record.data.get("status")}, {"status": data["status"]})
    uow = UnitOfWork()
    caller.store.replace(uow, record, data)
    uow.publish(caller.event("webhook.message_resent", _resent(record), changes=changes))
    uow.after_commit(lambda: enqueue_or_leave_to_sweep(caller.tenant, [(message_id, attempts + 1)]))
    uow.commit()
    return record


def _resent(record: Record) -> WebhookMessageResent:
    data = record.data
    return WebhookMessageResent(
        message_id=record.record_id,
        endpoint_id=data["endpoint_id"],
        event_id=data["event_id"],
        event_type=data["event_type"],
    )


def schedule(tenant_id: str, message_id: str, attempt: int, delay: float) -> None:
    """Queue attempt `attempt` after `delay` seconds when SQS can hold it that long; a longer wait
    is the due index's (the sweep queues it when due)."""
    if delay <= SQS_MAX_DELAY:
        enqueue_or_leave_to_sweep(tenant_id, [(message_id, attempt)], round(delay))
