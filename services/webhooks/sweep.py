"""The webhooks jobs' sweep: every minute a schedule puts `webhooks.sweep` on the jobs queue; the
sweep reads the `by_due` index (shared/due.py) up to the firing's time and, per message due:

- "pending" (its next attempt is due, held here because SQS cannot delay it that long, or its
  queue message never came to a claim QUEUE_CHECK after it was due): puts attempt n+1 on the
  delivery queue FIRST, then lists it again QUEUE_CHECK later, conditioned on it still being
  pending with the due time read. A crash between the two queues it again at the next sweep, and
  the deliverer's claim (pending, attempts n) makes the attempt once whatever number of queue
  messages name it;
- "sending" past its claim's deadline (delivery.CLAIM_TIMEOUT: the deliverer died between its
  request and its record): attempt n recorded `interrupted` and n+1 scheduled, conditioned on the
  claim (delivery.interrupted);
- anything else (delivered, failed, moved since the index was read): taken out of the index.
"""

from __future__ import annotations

from datetime import datetime

from services.webhooks import delivery, messages
from services.webhooks.domain.messages import WebhookMessageStatus
from services.webhooks.store import Record
from services.webhooks.subscriptions import job
from shared import clock, due
from shared.store import ConcurrentUpdate, UnitOfWork
from shared.subscriptions import Job


@job("webhooks.sweep")
def sweep(current: Job) -> None:
    """Act on every message due by the cutoff; one that fails stays in the index for the next sweep."""
    due.sweep(Record, due.cutoff_of(current.scheduled_time, clock.now()), act, "webhooks")


def act(pk: str, sk: str, cutoff: datetime) -> str:
    """What the sweep does to one due message (see the module); returns what it did."""
    found = due.due_now(Record, pk, sk, cutoff)
    if found is None:
        return "gone"  # or moved later since the index was read
    record, tenant, _ = found
    status = str(record.data.get("status"))
    if status == WebhookMessageStatus.sending.value:
        return delivery.interrupted(tenant, record, cutoff)
    read = (Record.fields["status"] == status) & (Record.duesk == record.duesk)
    uow = UnitOfWork()
    if status == WebhookMessageStatus.pending.value:
        attempt = int(record.data.get("attempts", 0)) + 1
        messages.enqueue(tenant, [(record.record_id, attempt)])  # first: a crash before the mark queues it again
        again = clock.iso(clock.now() + messages.QUEUE_CHECK)  # listed until claimed, should this one be lost too
        uow.update(record, record.due_actions(tenant, again), condition=read, check_version=False)
        outcome = "queued"
    else:
        uow.update(record, record.due_actions(tenant, None), condition=read, check_version=False)
        outcome = "unlisted"
    try:
        uow.commit()
    except ConcurrentUpdate:  # claimed or settled since the read
        return "settled"
    return outcome
