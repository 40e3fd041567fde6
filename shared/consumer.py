"""Idempotent consumption of events from a service's SQS queue.

`shared.batch.partial_response` reports partial failures so only failed messages return. Each event's
effects commit in one transaction with a dedupe marker for (consumer, event id): a redelivered
event finds the marker, the transaction is cancelled, and nothing changes twice.

The markers of a whole SQS batch are read first in one BatchGetItem (consistent), not one GetItem
per event: the read only spares a redelivered event its handler's work; the marker's condition in
the transaction is what keeps an event from applying twice (docs/decisions.md, issue 18). Events of
`together` handlers (shared/batch_scope.py) are not read at all: their batch transaction's
conditions refuse a redelivered one, which then goes one by one and is skipped. A `together`
handler's effects are all in its unit of work (puts, counter additions, after-commit actions), so
an event for which it stages nothing changes nothing and leaves no marker either: a redelivery
runs it again, as harmlessly (the webhooks fan-out for the many tenants without endpoints).
"""

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import batch_scope
from shared.batch import SQSRecord, partial_response
from shared.events import Envelope, handling
from shared.observability import logger
from shared.store import MAX_TRANSACTION_ITEMS, AlreadyApplied, DedupeItem, UnitOfWork, run_with_retries

Handle = Callable[[Envelope, UnitOfWork], None]


def envelope_of(record: SQSRecord) -> Envelope:
    """The envelope in an SQS message that an EventBridge rule delivered."""
    body = json.loads(record.body)
    return Envelope.model_validate(body["detail"])


def already_applied(consumer: str, event_id: str) -> bool:
    try:
        DedupeItem.get(DedupeItem.key(consumer, event_id), "DEDUPE", consistent_read=True)
    except DedupeItem.DoesNotExist:
        return False
    return True


def applied_of(consumer: str, event_ids: list[str]) -> set[str]:
    """Which of these events `consumer` has applied: one consistent BatchGetItem (100 keys a call)."""
    keys = list(dict.fromkeys((DedupeItem.key(consumer, i), "DEDUPE") for i in event_ids))
    if not keys:
        return set()
    prefix = DedupeItem.key(consumer, "")
    return {item.pk[len(prefix) :] for item in DedupeItem.batch_get(keys, consistent_read=True)}


def apply_once(consumer: str, envelope: Envelope, handle: Handle, applied: bool | None = None) -> bool:
    """Apply one event with its dedupe marker; False when an earlier delivery already had.

    `applied`: whether the marker was found by a read of the batch's markers (None: read it now)."""
    if already_applied(consumer, envelope.id) if applied is None else applied:
        return False
    uow = UnitOfWork()
    with handling(envelope):
        handle(envelope, uow)
    uow.mark_applied(consumer, envelope.id)
    try:
        uow.commit()
    except AlreadyApplied:
        return False
    return True


def consume(
    event: dict[str, Any], context: LambdaContext, consumer: str, handlers: dict[str, Handle]
) -> dict[str, Any]:
    """Process an SQS batch of bus events, routing each by type to its handler."""
    with batch_scope.batch():
        return _consume(event, context, consumer, handlers)


def _consume(
    event: dict[str, Any], context: LambdaContext, consumer: str, handlers: dict[str, Handle]
) -> dict[str, Any]:
    applied = _applied_in_batch(event, consumer, handlers)
    done = _apply_together(event, consumer, handlers, applied)

    def record_handler(record: SQSRecord) -> None:
        try:
            envelope = envelope_of(record)
        except Exception:  # logged here: the batch processor only reports the message as failed
            logger.exception("event unreadable", extra={"message_id": record.message_id})
            raise
        handle = handlers.get(envelope.type)
        if handle is None:
            logger.warning("no handler for event type", extra={"event_type": envelope.type})
            return
        if envelope.id in done:
            logger.info("event applied", extra={"event_id": envelope.id, "together": True})
            return
        with logger.append_context_keys(
            event_id=envelope.id,
            event_type=envelope.type,
            correlation_id=envelope.correlation_id,
            tenant_id=envelope.tenant_id,
        ):
            try:
                # A concurrent writer (a setting the handler conditions on, a counter) is retried here,
                # twice, before the queue's slower redelivery.
                seen = envelope.id in applied
                fresh = run_with_retries(lambda: apply_once(consumer, envelope, handle, seen), attempts=3)
            except Exception:  # with the event's keys and correlation id; the queue delivers it again
                logger.exception("event failed")
                raise
            logger.info("event applied" if fresh else "event already applied, skipped")

    return partial_response(event, record_handler)


def _applied_in_batch(event: dict[str, Any], consumer: str, handlers: dict[str, Handle]) -> set[str]:
    """The events of the batch already applied (an unreadable message is left to its handler).

    Events of `together` handlers are not read: their batch transaction's conditions (the marker's,
    the effect's own) refuse a redelivered one, and a redelivery is rare; reading every batch's
    markers to spare it would cost a call a batch for nothing (issue 18)."""
    ids: list[str] = []
    for raw in event.get("Records") or []:
        try:
            detail = json.loads(raw["body"])["detail"]
        except (KeyError, TypeError, ValueError):
            continue
        if not isinstance(detail, dict) or not isinstance(detail.get("id"), str):
            continue
        handle = handlers.get(detail.get("type"))  # type: ignore[arg-type]
        if handle is not None and not batch_scope.is_together(handle):
            ids.append(detail["id"])
    return applied_of(consumer, ids)


def _apply_together(event: dict[str, Any], consumer: str, handlers: dict[str, Handle], applied: set[str]) -> set[str]:
    """The batch's events whose handlers are `together` handlers, applied in as few transactions
    as fit (100 items each) with their dedupe markers; the ids of those that committed.

    Each event is staged in its own unit of work (its handler's reads as one by one), then the
    units are absorbed into one. A transaction that fails (a marker or an activity already there,
    an erased contact, a conflict, one item twice) commits nothing: its events are then applied
    one by one by the ordinary path, which gives each its own outcome."""
    staged: list[tuple[str, UnitOfWork]] = []
    unchanged: set[str] = set()  # events the handler stages nothing for: no transaction, no marker
    for raw in event.get("Records") or []:
        try:
            envelope = Envelope.model_validate(json.loads(raw["body"])["detail"])
        except Exception:  # the ordinary path logs it and reports the message as failed
            continue
        handle = handlers.get(envelope.type)
        if handle is None or not batch_scope.is_together(handle) or envelope.id in applied:
            continue
        if envelope.id in unchanged or any(event_id == envelope.id for event_id, _ in staged):
            continue
        uow = UnitOfWork()
        try:
            with handling(envelope):
                handle(envelope, uow)
        except Exception:
            continue  # the ordinary path runs it again and reports it
        if not len(uow) and not uow.afterwards:
            unchanged.add(envelope.id)
            continue
        uow.mark_applied(consumer, envelope.id)
        staged.append((envelope.id, uow))
    done: set[str] = set(unchanged)
    group: list[tuple[str, UnitOfWork]] = []

    def commit(units: list[tuple[str, UnitOfWork]]) -> None:
        if len(units) < 2:
            return  # one event alone: the ordinary path
        combined = UnitOfWork()
        for _, uow in units:
            combined.absorb(uow)
        try:
            combined.commit()
        except Exception as exc:
            logger.info("batch transaction refused, events one by one", extra={"reason": type(exc).__name__})
            return
        done.update(event_id for event_id, _ in units)

    size = 0
    for event_id, uow in staged:
        if group and size + len(uow) > MAX_TRANSACTION_ITEMS:
            commit(group)
            group, size = [], 0
        group.append((event_id, uow))
        size += len(uow)
    commit(group)
    return done
