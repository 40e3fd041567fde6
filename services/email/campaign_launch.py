"""Sending a campaign [issue 5 item 3]: now, or at a time (a one-time EventBridge Scheduler
schedule puts `campaign.send` on the email jobs queue); pausing, resuming and cancelling it.

`start_send` sets "sending" and publishes `audience.requested` in one transaction; the audience's
pages become recipients in campaign_recipients.py. The schedule, named after the campaign, is
removed once the campaign is sent or cancelled; a firing that finds the campaign no longer
scheduled (sent, paused or cancelled meanwhile) does nothing.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from services.email import stats
from services.email.campaign_recipients import enqueue_many, recipient_records
from services.email.campaigns import KIND, change, conflict, record_of, stage_change, stage_copies, view
from services.email.domain.campaigns import (
    AUDIENCE_FIELDS,
    CANCELLABLE,
    PAUSABLE,
    REQUESTER,
    RESUMABLE,
    SCHEDULABLE,
    SCHEDULE,
    SEND_JOB,
    SENDABLE,
    Campaign,
    CampaignStatus,
    ScheduleRequest,
)
from services.email.service import Caller, service_caller
from services.email.store import EmailStore, Record
from services.email.subscriptions import job
from services.email.transactional import KIND as MESSAGE
from shared import clock, scheduler
from shared.bulk_send import chunks
from shared.contracts.audience import ActingUser, AudienceRequested
from shared.errors import Conflict, ValidationFailed
from shared.ids import derived_id
from shared.permissions import Action
from shared.schedules import Firing, at_plan
from shared.service import user_caller
from shared.store import ConcurrentUpdate, UnitOfWork, run_with_retries

# ----------------------------------------------------------------------------- sending


def start_send(caller: Caller, campaign_id: str) -> Campaign:
    """Start sending now: "sending", and the audience request in the same transaction.

    A campaign already sending (or beyond) is returned unchanged.
    """

    def attempt() -> Record:
        record = record_of(caller, campaign_id, Action.SEND)
        status = record.data["status"]
        if status not in SENDABLE:
            if status in (CampaignStatus.sending, CampaignStatus.paused, CampaignStatus.failed):
                return record
            raise conflict(record, "be sent")
        now = clock.iso(clock.now())
        uow = UnitOfWork()
        data = {**record.data, "status": CampaignStatus.sending.value, "started_at": now, "updated_at": now}
        # Its sender: the user sending now, or the one who scheduled it (none for a service's own).
        acting = caller.acting_user() or _sender(record)
        data["sent_by"] = acting.user_id if acting else None
        # What goes is the templates as they are now; a scheduled campaign keeps its copies (one
        # scheduled before copies takes them now, if its templates still stand).
        draft = status == CampaignStatus.draft
        stage_copies(caller, uow, campaign_id, record.data, again=draft, strict=draft)
        target_group_id = record.data.get("target_group_id")
        if target_group_id:  # the contacts its sender may see
            request = AudienceRequested(
                request_id=campaign_id,
                requester=REQUESTER,
                target_group_id=target_group_id,
                fields=AUDIENCE_FIELDS,
                acting=acting,
            )
            event_id = derived_id(caller.tenant, campaign_id, "audience.requested")
            uow.publish(caller.event("audience.requested", request, event_id=event_id))
        else:  # hand-added contacts only: the audience is complete as it is
            data["audience"] = {"pages": [], "last_page": 0, "total": 0, "complete": True}
        stage_change(caller, uow, record, data, "email_campaign.send_started")
        uow.commit()
        return record

    record: Record = run_with_retries(attempt)
    _unschedule(caller, record)
    return view(caller, record)


def pause(caller: Caller, campaign_id: str) -> Campaign:
    """Hold the mails not sent yet (the sender leaves them queued); 409 once everything went."""
    record = record_of(caller, campaign_id, Action.SEND)
    if view(caller, record).status == CampaignStatus.sent:
        raise Conflict(f"Campaign {campaign_id} is sent: it cannot be paused.")
    paused = {"status": CampaignStatus.paused.value}
    return view(caller, change(caller, campaign_id, PAUSABLE, "be paused", paused, "email_campaign.paused"))


def resume(caller: Caller, campaign_id: str) -> Campaign:
    """Sending again: the mails the sender left queued while paused are queued again."""
    resumed = {"status": CampaignStatus.sending.value}
    record = change(caller, campaign_id, RESUMABLE, "be resumed", resumed, "email_campaign.resumed")
    queued = [r.record_id for r in recipient_records(caller.tenant, campaign_id) if r.data.get("status") == "queued"]
    enqueue_many(caller.tenant, queued, campaign_id)
    return view(caller, record)


def cancel(caller: Caller, campaign_id: str) -> Campaign:
    """Cancelled: the mails still queued are skipped (a paused campaign's have no queue message left)."""
    cancelled = {"status": CampaignStatus.cancelled.value}
    record = change(caller, campaign_id, CANCELLABLE, "be cancelled", cancelled, "email_campaign.cancelled")
    _unschedule(caller, record)
    queued = [r for r in recipient_records(caller.tenant, campaign_id) if r.data.get("status") == "queued"]
    for chunk in chunks(queued):
        _skip(caller, campaign_id, list(chunk))
    return view(caller, record)


def _skip(caller: Caller, campaign_id: str, records: list[Record]) -> None:
    """Mark queued messages skipped with their counters; one a sender took meanwhile is left to it."""
    try:
        _commit_skip(caller, campaign_id, records)
    except ConcurrentUpdate:
        for one in records:
            with suppress(ConcurrentUpdate):
                fresh = caller.store.get(caller.tenant, MESSAGE, one.record_id)
                if fresh is not None and fresh.data.get("status") == "queued":
                    _commit_skip(caller, campaign_id, [fresh])


def _commit_skip(caller: Caller, campaign_id: str, records: list[Record]) -> None:
    uow = UnitOfWork()
    for record in records:
        caller.store.replace(uow, record, {**record.data, "status": "skipped", "error": "The campaign was cancelled."})
    counted = [(r.record_id, {"queued": -1, "skipped": 1}) for r in records]
    stats.COUNTERS.stage_many(uow, caller.tenant, campaign_id, counted)
    uow.commit()


# ----------------------------------------------------------------------------- scheduled sending


def schedule(caller: Caller, campaign_id: str, body: ScheduleRequest) -> Campaign:
    """Send at `send_at`: "scheduled", and a one-time schedule that puts `campaign.send` on the jobs queue.

    A scheduled campaign may be scheduled again (the schedule, named after the campaign, moves).
    """
    send_at = body.send_at.replace(microsecond=0)
    plan = at_plan(send_at, "UTC", clock.now())
    if plan is None:
        raise ValidationFailed.on("send_at", "Give a time in the future.", "past")
    changes: dict[str, Any] = {"status": CampaignStatus.scheduled.value, "send_at": clock.iso(send_at)}
    acting = caller.acting_user()
    if acting is not None:  # the scheduled send is this user's: it reaches what they see
        changes["sender"] = acting.model_dump(mode="json")
    # The templates are copied as they are now (again when scheduled again): a scheduled campaign
    # sends them though they be changed or deleted meanwhile (docs/decisions.md).
    record = change(
        caller,
        campaign_id,
        SCHEDULABLE,
        "be scheduled",
        changes,
        "email_campaign.scheduled",
        lambda r, uow: stage_copies(caller, uow, r.record_id, r.data),
    )
    scheduler.save_record_schedule(SCHEDULE, caller.tenant, campaign_id, plan)
    return view(caller, record)


def _sender(record: Record) -> ActingUser | None:
    """The user who scheduled the campaign (none for a service's, e.g. an automation's)."""
    sender = record.data.get("sender") or record.data.get("sent_by")  # "sent_by" held it before
    return ActingUser.model_validate(sender) if isinstance(sender, dict) else None


def _unschedule(caller: Caller, record: Record) -> None:
    """Remove the campaign's schedule, if it had one (one that fired is gone already)."""
    if record.data.get("send_at"):
        scheduler.delete_record_schedule(SCHEDULE, record.record_id)


def _stored(tenant: str, campaign_id: str) -> Record | None:
    return EmailStore().get(tenant, KIND, campaign_id)


@job(SEND_JOB)
@scheduler.on_firing(SCHEDULE, _stored, lambda record, _: record.data["status"] == CampaignStatus.scheduled)
def run_scheduled_send(record: Record, fired: Firing) -> None:
    """A campaign's schedule fired: send it as the user who scheduled it (their permission, the
    contacts they see), unless it was sent, paused or cancelled meanwhile."""
    sender = _sender(record)
    if sender is None:  # a service's own campaign
        start_send(service_caller(fired.tenant_id), record.record_id)
        return
    start_send(user_caller(Caller, fired.tenant_id, sender), record.record_id)
