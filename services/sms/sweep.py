"""The sms jobs' sweep [issue 19 items 3 and 5]: every minute a schedule puts `sms.sweep` on the
jobs queue; the sweep reads the `by_due` index (shared/due.py) up to the firing's time and, per
message that fell due:

- "waiting" (held for the tenant's sending window, sending.py): puts it back on the send queue,
  THEN marks it "queued" and takes it out of the index, conditioned on it still being "waiting"
  with the due time read. A crash between the two leaves it "waiting" in the index: the next sweep
  queues it again, and the sender's version-checked claim sends it once whatever number of queue
  messages name it (the sender claims a "waiting" message inside its window like a queued one).
  A message the sender claimed meanwhile fails the condition: nothing more to do;
- "sent" with no final receipt by `sent_at` + 72 h (sending.RECEIPT_DEADLINE): "unknown" with
  `unknown_at`, out of the index, conditioned on it still being "sent", so a receipt that lands
  first wins; one that lands later moves "unknown" on to delivered / failed (receipts.py);
- "queued" (one contact's message, messages.stage, unclaimed `QUEUE_CHECK` after it was written:
  its queue message was never sent, e.g. the API's SendMessage failed after the commit, or was
  lost): put on the send queue again, and listed again `QUEUE_CHECK` later until the sender's
  claim takes it out of the index;
- anything else (a receipt or a claim got there first, the write that left the index lost): only
  taken out of the index, on the status read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.sms import messages, sending
from services.sms.domain.messages import SmsMessageStatus
from services.sms.store import Record
from services.sms.subscriptions import job
from shared import clock, due
from shared.store import UnitOfWork
from shared.subscriptions import Job

WAITING, SENT, QUEUED = SmsMessageStatus.waiting.value, SmsMessageStatus.sent.value, SmsMessageStatus.queued.value


@job("sms.sweep")
def sweep(current: Job) -> None:
    """Act on every message due by the cutoff; one that fails stays in the index for the next sweep."""
    due.sweep(Record, due.cutoff_of(current.scheduled_time, clock.now()), act, "sms")


def act(pk: str, sk: str, cutoff: datetime) -> str:
    """What the sweep does to one due message (see the module); returns what it did."""
    found = due.due_now(Record, pk, sk, cutoff)
    if found is None:
        return "gone"  # or moved later since the index was read
    record, tenant, _ = found
    status = str(record.data.get("status"))
    read = (Record.fields["status"] == status) & (Record.duesk == record.duesk)
    if status == WAITING:
        messages.enqueue(tenant, record.record_id)  # first: a crash before the mark queues it again
        fields: dict[str, Any] = {"status": SmsMessageStatus.queued.value}
        outcome = "queued"
    elif status == QUEUED:  # still unclaimed QUEUE_CHECK after it was written (messages.stage)
        messages.enqueue(tenant, record.record_id)  # first, as above; the claim sends it once
        fields, outcome = {}, "requeued"
        again = clock.iso(clock.now() + messages.QUEUE_CHECK)  # listed until claimed, should this one be lost too
        uow = UnitOfWork()
        sending.stage_fields(uow, record, fields, read, record.due_actions(tenant, again))
        return _committed(uow, outcome)
    elif status == SENT:
        fields = {"status": SmsMessageStatus.unknown.value, "unknown_at": clock.iso(clock.now())}
        outcome = "unknown"
    else:
        fields, outcome = {}, "unlisted"
    uow = UnitOfWork()
    sending.stage_fields(uow, record, fields, read, record.due_actions(tenant, None))
    return _committed(uow, outcome)


def _committed(uow: UnitOfWork, outcome: str) -> str:
    try:
        uow.commit()
    except sending.Settled:  # the sender claimed it, or its receipt came, since the read
        return "settled"
    return outcome
