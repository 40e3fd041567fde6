"""The audit trail: every Kontakt event on the bus written as one audit record, and read back.

Writing (`record_batch`, the consumer's whole SQS batch at once): each event becomes one record
whose key follows from the event (its tenant, time and id), put if absent: a redelivered event
writes nothing. The batch's records go in as few TransactWriteItems as hold them (100 items each:
the records, and a check that the contact a record names is not erased). A cancelled transaction
says which items failed their condition: records already written (a redelivery) are dropped, records
of an erased contact are masked, and the rest is written again. A crash between two transactions
loses nothing (SQS delivers the batch again) and duplicates nothing (the conditions).

A contact's erasure (`contact.erased`, handled before the batch's records) writes the contact's
erasure mark, then masks its records already written: those whose entity is the contact and those
whose payload names it (`by_contact`). A record of the contact still in flight meets the mark in
its transaction's check and is masked as it is written. Masking is the one change an audit record
ever gets (docs/decisions.md, "Audit trail").

Reading (`trail`, admins only): one entity's records, one actor's, or a time range's, newest first,
each optionally bounded by `from`/`to`, in pages with the kernel's signed cursor.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError

from services.audit.domain.trail import (
    EARLIEST,
    AuditRecord,
    bounded,
    contact_of,
    expiry,
    masked,
    record_of,
    sort_time,
)
from services.audit.retention import retention_days
from services.audit.service import Caller
from services.audit.settings import AuditSettings
from services.audit.store import (
    ERASED,
    Entry,
    ErasedMark,
    actor_key,
    contact_key,
    day_key,
    entity_key,
    erased_key,
)
from shared import clock
from shared.errors import ValidationFailed
from shared.events import Envelope
from shared.observability import logger
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.settings import load
from shared.store import AlreadyApplied, ConcurrentUpdate, UnitOfWork

MARK_RETENTION = timedelta(days=30)  # longer than any event stays in flight (SQS keeps 14 days)
ATTEMPTS = 5  # transactions a chunk may take: refusals shrink it, conflicts are retried
DEFAULT_RANGE = timedelta(days=30)  # a time-range query without `from`
DAYS_PER_PAGE = 31  # the day partitions one page of a time-range query reads at most


class ContactErasedMark(Exception):
    """A record's contact is erased (its mark's check failed)."""


# ----------------------------------------------------------------------------- writing


def record_batch(bodies: list[Any]) -> list[Exception | None]:
    """Write the audit records of an SQS batch of bus events; each message's error or None."""
    results: list[Exception | None] = [None] * len(bodies)
    envelopes = [(i, e) for i, e in ((i, _envelope(body)) for i, body in enumerate(bodies)) if e is not None]
    for i, envelope in envelopes:
        if envelope.type == "contact.erased":
            try:
                _erase(envelope)
            except Exception as error:  # its message comes again; the others' records go on
                logger.exception("erasure failed", extra={"event_id": envelope.id})
                results[i] = error
    retention = retention_days({e.tenant_id for _, e in envelopes})
    staged = [(i, _entry(e, retention[e.tenant_id])) for i, e in envelopes]
    for chunk in _chunks(staged, load(AuditSettings).transaction_items):
        try:
            _write({entry_key(entry): (entry, contact) for _, (entry, contact) in chunk})
        except Exception as error:  # SQS delivers the chunk's messages again
            logger.exception("audit records not written", extra={"events": len(chunk)})
            for i, _ in chunk:
                results[i] = results[i] or error
    return results


def record_now(envelope: Envelope) -> None:
    """Record an event of the audit service's own (it has no outbox: it is where events end)."""
    record_batch([json.dumps({"detail": envelope.model_dump(mode="json")})])


def _envelope(body: Any) -> Envelope | None:
    """The envelope of an EventBridge delivery; None (logged, not retried: it will never read) otherwise."""
    try:
        return Envelope.model_validate(json.loads(body)["detail"])
    except Exception:
        logger.warning("not a Kontakt event, not audited", extra={"body": str(body)[:200]})
        return None


def _entry(envelope: Envelope, retention_days: int) -> tuple[Entry, str | None]:
    """The event's audit record as an item, and the contact whose erasure masks it."""
    record = record_of(envelope)
    tenant, sk = envelope.tenant_id, f"{sort_time(record.occurred_at)}#{record.id}"
    contact = contact_of(record, envelope.data)
    entry = Entry(
        pk=day_key(tenant, sk[:10]),
        sk=sk,
        kind="audit",
        gsi1pk=entity_key(tenant, record.entity_type, record.entity_id),
        gsi1sk=sk,
        gsi2pk=actor_key(tenant, record.actor.id),
        gsi2sk=sk,
        gsi3pk=contact_key(tenant, contact) if contact else None,
        gsi3sk=sk if contact else None,
        body=record.model_dump_json(),
        expires_at=expiry(record.occurred_at, retention_days),
    )
    return entry, contact


def entry_key(entry: Entry) -> tuple[str, str]:
    return (entry.pk, entry.sk)


def _chunks(staged: list[tuple[int, tuple[Entry, str | None]]], size: int) -> Iterator[list[Any]]:
    """The batch's records in groups whose records and erasure checks fit one transaction."""
    chunk: list[Any] = []
    contacts: set[tuple[str, str]] = set()
    for item in staged:
        entry, contact = item[1]
        mark = {(entry.pk.split("#", 2)[1], contact)} if contact else set()
        if chunk and len(chunk) + len(contacts | mark) + 1 > size:
            yield chunk
            chunk, contacts = [], set()
        chunk.append(item)
        contacts |= mark
    if chunk:
        yield chunk


def _write(pending: dict[tuple[str, str], tuple[Entry, str | None]]) -> None:
    """Put the records if absent, each contact's mark checked absent, in one transaction: again
    without those already written and with those of an erased contact masked, until it commits."""
    for attempt in range(ATTEMPTS):
        if not pending:
            return
        uow = UnitOfWork()
        marks: dict[tuple[str, str], str] = {}
        for entry, contact in pending.values():
            uow.save(entry, condition=Entry.pk.does_not_exist(), on_conflict=AlreadyApplied)
            if contact:
                tenant = entry.pk.split("#", 2)[1]
                key = (erased_key(tenant, contact), ERASED)
                if key not in marks:
                    marks[key] = contact
                    condition = ErasedMark.pk.does_not_exist()
                    uow.check(ErasedMark, key[0], key[1], condition, ContactErasedMark)
        try:
            uow.commit()
            return
        except (AlreadyApplied, ContactErasedMark):
            for op in uow.refused:
                if op.key in marks:
                    _mask_pending(pending, marks[op.key], op.key[0])
                elif op.key is not None:
                    pending.pop(op.key, None)  # written by an earlier delivery
        except (ConcurrentUpdate, TransactWriteError):
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.05 * 2**attempt)  # another writer of the same items: a redelivery, an erasure
    raise ConcurrentUpdate("the audit records could not be written")


def _mask_pending(pending: dict[tuple[str, str], tuple[Entry, str | None]], contact: str, mark_pk: str) -> None:
    """Mask the pending records of an erased contact; they are written without the mark's check."""
    for key, (entry, named) in list(pending.items()):
        if named == contact and erased_key(entry.pk.split("#", 2)[1], contact) == mark_pk:
            entry.body = masked(AuditRecord.model_validate_json(entry.body)).model_dump_json()
            pending[key] = (entry, None)


def _erase(envelope: Envelope) -> None:
    """Mark the contact erased, then mask its records (a redelivery masks what a crash left)."""
    # imported here: the trail's reads and a batch without an erasure load no directory contract
    # (its target group conditions: ~4 ms of a cold start)
    from shared.contracts.directory import ContactErased

    tenant, contact = envelope.tenant_id, ContactErased.model_validate(envelope.data).id
    ErasedMark(pk=erased_key(tenant, contact), sk=ERASED, kind="erased", expires_at=clock.now() + MARK_RETENTION).save()
    with Entry.batch_write() as batch:
        for entry in Entry.by_contact.query(contact_key(tenant, contact)):
            record = AuditRecord.model_validate_json(entry.body)
            if not record.masked:
                entry.body = masked(record).model_dump_json()
                batch.save(entry)


# ----------------------------------------------------------------------------- reading


def trail(
    caller: Caller,
    *,
    entity_type: str | None,
    entity_id: str | None,
    actor_id: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> Page[AuditRecord]:
    """One page of audit records, newest first: an entity's, an actor's, or (neither) a time range's."""
    caller.require_admin()
    if (entity_type is None) != (entity_id is None):
        missing = "entity_id" if entity_id is None else "entity_type"
        raise ValidationFailed.on(f"query.{missing}", "entity_type and entity_id go together", "missing")
    if actor_id is not None and entity_type is not None:
        message = "ask for an entity or an actor, not both"
        raise ValidationFailed.on("query.actor_id", message, "unsupported_combination")
    since, until = (bounded(t) if t is not None else None for t in (since, until))
    if since is not None and until is not None and since >= until:
        raise ValidationFailed.on("query.from", "from must be before to", "invalid_range")
    tenant = caller.tenant
    if entity_type is not None and entity_id is not None:
        hash_key, scope = entity_key(tenant, entity_type, entity_id), "entity"
    elif actor_id is not None:
        hash_key, scope = actor_key(tenant, actor_id), "actor"
    else:
        until = until or clock.now() + timedelta(seconds=1)
        return _time_page(caller, since or max(EARLIEST, until - DEFAULT_RANGE), until, cursor, limit)
    low = sort_time(since) if since else "!"
    high = sort_time(until) if until else "~"
    index = Entry.by_entity if scope == "entity" else Entry.by_actor
    scope_key = f"audit:{hash_key}:{low}:{high}"
    upper = _position(caller, scope_key, cursor) or high
    found = _query(index, hash_key, low, upper, limit + 1)
    return _page(caller, scope_key, found, limit, None)


def _time_page(caller: Caller, since: datetime, until: datetime, cursor: str | None, limit: int) -> Page[AuditRecord]:
    """A time range's records, newest first: the day partitions from `until`'s back to `since`'s,
    at most `DAYS_PER_PAGE` of them a page (a page may then come back short, with a cursor)."""
    low, high = sort_time(since), sort_time(until)
    scope_key = f"audit:{caller.tenant}:time:{low}:{high}"
    upper = _position(caller, scope_key, cursor) or high
    found: list[Entry] = []
    day = datetime.fromisoformat(upper[:10])
    first = datetime.fromisoformat(low[:10])
    for _ in range(DAYS_PER_PAGE):
        if day < first or len(found) > limit:
            break
        found += _query(Entry, day_key(caller.tenant, day.strftime("%Y-%m-%d")), low, upper, limit + 1 - len(found))
        day -= timedelta(days=1)
    more_days = day >= first and len(found) <= limit
    resume = f"{(day + timedelta(days=1)).strftime('%Y-%m-%d')}T00:00:00.000000Z" if more_days else None
    return _page(caller, scope_key, found, limit, resume)


def _query(source: Any, hash_key: str, low: str, upper: str, count: int) -> list[Entry]:
    """Up to `count` records of a partition with `low` <= sort key < `upper`, newest first."""
    sort_key = Entry.sk if source is Entry else (Entry.gsi1sk if source is Entry.by_entity else Entry.gsi2sk)
    found = source.query(hash_key, sort_key.between(low, upper), scan_index_forward=False, limit=count + 1)
    return [entry for entry in found if entry.sk != upper][:count]


def _position(caller: Caller, scope: str, cursor: str | None) -> str | None:
    if not cursor:
        return None
    return str(decode_cursor(cursor, scope, caller.signing_key)["sk"])


def _page(caller: Caller, scope: str, found: list[Entry], limit: int, resume: str | None) -> Page[AuditRecord]:
    """The page of the first `limit` records; its cursor after the last (or at `resume`)."""
    items = [AuditRecord.model_validate_json(entry.body) for entry in found[:limit]]
    position = found[limit - 1].sk if len(found) > limit else resume
    next_cursor = encode_cursor({"sk": position}, scope, caller.signing_key) if position else None
    return Page[AuditRecord](items=items, next_cursor=next_cursor)
