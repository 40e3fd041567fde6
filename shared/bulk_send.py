"""What every bulk send (an email campaign, an SMS send to a target group) does with its
audience's pages and the messages it stages from them (email's campaign_recipients.py, SMS's
send_recipients.py):

- `AudienceSends`: a service's send records that ask the directory for audiences: a page is read
  for its requester and record, counted on the record (`audience_with`: whatever the order or
  redelivery), or fails the record with the directory's error;
- `write_messages`: the messages written in transactions of at most `CHUNK` with their counters;
- `send_batches`: the messages put on the service's send queue ten per SendMessageBatch;
- `messages_page`: a send's messages (its `by_parent` index) listed, optionally of one status.

Writing before queueing, and queueing again what is still queued when a page comes again, means a
crash anywhere neither loses nor doubles a message: a message's id is derived from its send and
recipient, so a write that finds it written already is a message staged before.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared import clock
from shared.contracts.audience import AudiencePage, audience_with
from shared.counters import Counters
from shared.events import Envelope
from shared.observability import logger
from shared.pagination import Page
from shared.service import Caller, page
from shared.store import ConcurrentUpdate, DataItem, UnitOfWork, run_with_retries

CHUNK = 80  # messages per staging transaction (+ at most 10 counter shards: under DynamoDB's 100)
SQS_BATCH = 10  # SendMessageBatch's most

T = TypeVar("T")
C = TypeVar("C", bound=Caller)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class AudienceSends(Generic[C]):
    """A service's records that ask for audiences (kind `kind`, the `requester` their requests and
    pages carry), and the service's caller for its own work (`service_caller(tenant)`)."""

    requester: str
    kind: str
    label: str  # in logs: "campaign", "SMS send"
    service_caller: Callable[[str], C]
    error_field: str = "error"  # where a failure's reason goes
    error_names: str = ""  # the request field the directory's error is about, named before it (e.g. target_group_id)

    def page_of(self, envelope: Envelope) -> tuple[C, DataItem, AudiencePage] | None:
        """The page with its record and a caller, or None: a page of another requester, or of a
        record this service does not have (logged)."""
        audience = AudiencePage.model_validate(envelope.data)
        if audience.requester != self.requester:
            return None
        caller = self.service_caller(envelope.tenant_id)
        record = caller.store.get(caller.tenant, self.kind, audience.request_id)
        if record is None:
            logger.warning(f"audience page of no {self.label}", extra={"request_id": audience.request_id})
            return None
        return caller, record, audience

    def on_page(
        self,
        envelope: Envelope,
        stage: Callable[[C, DataItem, AudiencePage], bool],
        failed: str,
        keep: Collection[str],
    ) -> tuple[C, DataItem] | None:
        """Apply one `audience.page`: a page with the directory's error fails the record (`fail`);
        else `stage(caller, record, page)` stages its members (False: it failed the record, the
        page is not counted) and the page is counted (`record_page`). Returns the caller and the
        record as it stands after a counted page (None otherwise)."""
        found = self.page_of(envelope)
        if found is None:
            return None
        caller, record, audience = found
        if audience.error:
            error = f"{self.error_names}: {audience.error}" if self.error_names else audience.error
            self.fail(caller, record.record_id, error, failed, keep)
            return None
        if not stage(caller, record, audience):
            return None
        record = self.record_page(caller, record.record_id, audience)
        logger.info(f"{self.label} page", extra={"request_id": record.record_id, "page": audience.page})
        return caller, record

    def record_page(self, caller: C, record_id: str, audience: AudiencePage) -> DataItem:
        """Count the page on the record (`audience` {pages, last_page, total, complete}); the record
        as it stands after (a page seen before writes nothing)."""

        def attempt() -> DataItem:
            record = self._read(caller, record_id)
            progress = audience_with(record.data.get("audience"), audience.page, audience.last, audience.total_members)
            if progress != record.data.get("audience"):
                uow = UnitOfWork()
                caller.store.replace(uow, record, {**record.data, "audience": progress})
                uow.commit()
            return record

        result: DataItem = run_with_retries(attempt)
        return result

    def fail(self, caller: C, record_id: str, error: str, status: str, keep: Collection[str]) -> None:
        """Move the record to `status` (failed) with the error, unless its status is one of `keep`."""

        def attempt() -> None:
            record = self._read(caller, record_id)
            if record.data["status"] in keep:
                return
            uow = UnitOfWork()
            changes = {"status": status, self.error_field: error, "updated_at": clock.iso(clock.now())}
            caller.store.replace(uow, record, {**record.data, **changes})
            uow.commit()

        run_with_retries(attempt)
        logger.warning(f"{self.label} failed", extra={"request_id": record_id, "error": error})

    def _read(self, caller: C, record_id: str) -> DataItem:
        record = caller.store.get(caller.tenant, self.kind, record_id)
        if record is None:
            raise LookupError(f"no {self.label} {record_id}")  # read a moment ago: deleted meanwhile
        return record


def messages_page(
    caller: C,
    records: Any,
    key: str,
    status: str | None,
    scope: str,
    cursor: str | None,
    limit: int,
    model: type[M],
    hidden_from: Callable[[list[str]], set[str]],
) -> Page[M]:
    """A send's messages (`records`: the service's record model, whose `by_parent` index holds them
    under `key`, message ids as its gsi3 sort keys) in message id
    order, optionally of one status; a message to a contact `hidden_from` names is left out (its
    position still moves the cursor on)."""

    def fetch(after: dict[str, Any] | None, count: int) -> list[Any]:
        condition = records.gsi3sk > after["id"] if after else None
        query = records.by_parent.query(
            key,
            range_key_condition=condition,
            filter_condition=(records.fields["status"] == status) if status else None,
            page_size=max(count, 50),
        )
        found: list[Any] = []
        for record in query:
            found.append(record)
            if len(found) >= count:
                break
        hidden = hidden_from([str(r.data["contact_id"]) for r in found if r.data.get("contact_id")])
        return [r for r in found if r.data.get("contact_id") not in hidden] if hidden else found

    return page(caller, scope, cursor, limit, fetch, lambda r: {"id": r.record_id}, model)


@cache
def _sqs() -> Any:
    import boto3  # here: a cold start that queues nothing does not load boto3

    return boto3.client("sqs")


def send_batches(queue_url: str, bodies: Sequence[str]) -> None:
    """Put the bodies on the queue, ten per SendMessageBatch; raises if any entry failed."""
    for start in range(0, len(bodies), SQS_BATCH):
        chunk = bodies[start : start + SQS_BATCH]
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
        result = _sqs().send_message_batch(QueueUrl=queue_url, Entries=entries)
        if result.get("Failed"):
            raise RuntimeError(f"send queue refused {len(result['Failed'])} of {len(chunk)} messages")


def write_chunks(staged: Sequence[tuple[str, T]], commit: Callable[[Sequence[tuple[str, T]]], None]) -> set[str]:
    """Write `(message id, data)` pairs by `commit` (one transaction: the messages, each only if
    new, and their counters) `CHUNK` at a time; a chunk that meets a message written meanwhile (a
    concurrent or earlier delivery) is written one by one. Returns the ids that stand written."""
    written: set[str] = set()
    for start in range(0, len(staged), CHUNK):
        chunk = staged[start : start + CHUNK]
        try:
            commit(chunk)
            written |= {m for m, _ in chunk}
        except ConcurrentUpdate:  # some were written concurrently: write the others one by one
            for one in chunk:
                with suppress(ConcurrentUpdate):
                    commit([one])
                written.add(one[0])
    return written


def write_messages(
    caller: C,
    owner_id: str,
    staged: Sequence[tuple[str, dict[str, Any]]],
    new_record: Callable[[C, str, dict[str, Any]], DataItem],
    parent_key: str,
    counters: Counters,
) -> set[str]:
    """Write a send's new messages (`new_record` makes each, listed under `parent_key` in the
    `by_parent` index) with their counters (`recipients` and their status), by `write_chunks`."""

    def commit(chunk: Sequence[tuple[str, dict[str, Any]]]) -> None:
        uow = UnitOfWork()
        for message_id, data in chunk:
            record: Any = new_record(caller, message_id, data)
            record.gsi3pk, record.gsi3sk = parent_key, message_id
            caller.store.add(uow, record)
        counted = [(m, {"recipients": 1, d["status"]: 1}) for m, d in chunk]
        counters.stage_many(uow, caller.tenant, owner_id, counted)
        uow.commit()

    return write_chunks(staged, commit)


def chunks(items: Sequence[T], size: int = CHUNK) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
