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

import time
from datetime import datetime

from services.webhooks import delivery, messages
from services.webhooks.domain.messages import WebhookMessageStatus
from services.webhooks.store import Record
from services.webhooks.subscriptions import job
from shared import clock
from shared.due import due_keys
from shared.observability import logger
from shared.store import ConcurrentUpdate, UnitOfWork
from shared.subscriptions import Job

SWEEP_BUDGET_SECONDS = 90  # the jobs function times out at 120 s; what is left waits a minute


def cutoff_of(current: Job, now: datetime) -> datetime:
    """What fell due by the firing's scheduled time, or by now if the job runs late."""
    if not current.scheduled_time:
        return now
    return max(datetime.fromisoformat(current.scheduled_time), now)


@job("webhooks.sweep")
def sweep(current: Job) -> None:
    """Act on every message due by the cutoff; one that fails stays in the index for the next sweep."""
    cutoff = cutoff_of(current, clock.now())
    deadline = time.monotonic() + SWEEP_BUDGET_SECONDS
    done: dict[str, int] = {}
    failed = 0
    for key in due_keys(Record, cutoff):
        if time.monotonic() > deadline:
            break
        try:
            outcome = act(key.pk, key.sk, cutoff)
            done[outcome] = done.get(outcome, 0) + 1
        except Exception:  # one bad item must not hold back the others
            failed += 1
            logger.exception("webhooks sweep item failed", extra={"pk": key.pk})
    logger.info("webhooks swept", extra={"cutoff": clock.iso(cutoff), **done, "failed": failed})


def act(pk: str, sk: str, cutoff: datetime) -> str:
    """What the sweep does to one due message (see the module); returns what it did."""
    try:
        record = Record.get(pk, sk, consistent_read=True)
    except Record.DoesNotExist:
        return "gone"
    if not record.duesk:
        return "gone"
    due_iso, tenant, _ = record.duesk.split("#", 2)
    if datetime.fromisoformat(due_iso) > cutoff:
        return "later"  # moved later since the index was read
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
