"""Automatic emails [issue 5 item 4 (a)]: an automation mails a template to a target group's
matching contacts on a schedule, through one automatic campaign per firing.

Records (kinds of the email table):
- `automation`: the definition, listed by `by_type`; its EventBridge Scheduler schedule (name
  derived from its id) puts `{"job": "automation.run", tenant_id, automation_id, scheduled_time}`
  on the email jobs queue;
- `automation_run`: one firing, id = its campaign's id (derived from the automation and the
  firing's time), data {automation_id, campaign_id, scheduled_time, created_at, error?}; listed
  per automation in `by_parent` (gsi3) `T#<t>#AUTOMATION#<id>#RUN` / `<scheduled time>#<id>`.
  The run list lives here rather than as an index key on the campaigns (which carry
  `origin.automation_id` too), so campaigns need no automation-specific key.

A firing goes through the campaigns' own commands: `create_campaign` with the derived id,
`once_scope` (the automation: once per contact ever; or the campaign: once per firing) and
`origin`, then `campaign_launch.start_send`. Both return what exists when repeated, the run record is written
only if missing, so a firing delivered twice (or retried after a crash) sends nothing twice.

The schedule is a trigger derived from the record, written after the record commits (like mass
activities): a retried create or update converges on the same name, an inactive or deleted
automation has none (and a firing that arrives anyway finds it inactive or gone and does
nothing), a delete removes the schedule first, ignoring one already gone. Each command commits
the record with its `email_automation.*` event (the audit trail's).
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from functools import partial
from typing import Any

from services.email import campaign_launch, campaigns, list_types, templates
from services.email.domain.automations import (
    JOB,
    SCHEDULE,
    Automation,
    AutomationCreate,
    AutomationPatch,
    AutomationRun,
    campaign_body,
    campaign_id,
    check,
    fires,
    firing_time,
    once_scope,
    origin,
    schedule_name,
)
from services.email.domain.campaigns import CampaignCreate
from services.email.events import AutomationChanged
from services.email.service import Caller, service_caller
from services.email.store import TERMS, EmailStore, Record
from services.email.subscriptions import job
from shared import clock, scheduler
from shared.errors import DomainError, FieldError, NotFound, ValidationFailed
from shared.events import changes_of
from shared.ids import new_id
from shared.lookup import Order, find, plan, stage_terms
from shared.observability import logger
from shared.pagination import Page
from shared.schedules import Firing, SchedulePlan, firing_bound, parse_scheduled_time
from shared.service import commit, model_of, partition_page, patch_changes
from shared.store import AlreadyApplied, UnitOfWork, record_key, tenant_key

KIND = "automation"
RUN = "automation_run"
# What its events' `changes` show: the fields a PATCH sets.
CHANGEABLE = ("name", "template_id", "list_type_id", "target_group_id", "schedule", "repeats", "active", "tracking")


# ----------------------------------------------------------------------------- records


def _data(automation: Automation) -> dict[str, Any]:
    return automation.model_dump(mode="json", exclude={"id", "version"})


def _changed(automation: Automation) -> AutomationChanged:
    return AutomationChanged.model_validate(automation.model_dump(include=set(AutomationChanged.model_fields)))


def _load(caller: Caller, automation_id: str) -> tuple[Record, Automation]:
    record = caller.store.get(caller.tenant, KIND, automation_id)
    if record is None:
        raise NotFound(f"No automation {automation_id}.")
    return record, model_of(record, Automation)


def _runs_key(tenant: str, automation_id: str) -> str:
    return tenant_key(tenant, "AUTOMATION", automation_id, "RUN")


def _check(caller: Caller, values: dict[str, Any]) -> None:
    """422 naming each field that is wrong: the schedule's rules, a template or list type that does not exist."""
    errors: list[FieldError] = []
    if values.get("schedule") is not None:
        errors += check(values["schedule"], clock.now())
    template_id = values.get("template_id")
    if template_id and caller.store.get(caller.tenant, templates.TEMPLATE, template_id) is None:
        errors.append(FieldError(field="template_id", message=f"No template {template_id}.", code="not_found"))
    list_type_id = values.get("list_type_id")
    if list_type_id:
        try:
            list_types.get_list_type(caller, list_type_id)
        except NotFound:
            message = f"No list type {list_type_id}."
            errors.append(FieldError(field="list_type_id", message=message, code="not_found"))
    if errors:
        raise ValidationFailed("The automation is not valid.", errors)


# ----------------------------------------------------------------------------- the schedule


def _plan(automation: Automation) -> SchedulePlan | None:
    """The automation's schedule: there while active, gone otherwise."""
    return automation.schedule.plan(clock.now()) if automation.active else None


def sync_schedule(caller: Caller, automation: Automation) -> None:
    """Make the automation's schedule what its record says."""
    scheduler.save_record_schedule(SCHEDULE, caller.tenant, automation.id, _plan(automation))


# ----------------------------------------------------------------------------- commands


def create(caller: Caller, body: AutomationCreate) -> Automation:
    """A new automation; its schedule is written once the record is stored (undone if that fails)."""
    caller.require_manager()
    _check(caller, {"schedule": body.schedule, "template_id": body.template_id, "list_type_id": body.list_type_id})
    now = clock.now()
    automation_id = new_id()
    automation = Automation(
        id=automation_id,
        **body.model_dump(),
        schedule_name=schedule_name(automation_id),
        created_by=caller.user_id,
        created_at=now,
        updated_at=now,
    )
    record = caller.store.new(caller.tenant, KIND, automation.id, _data(automation))
    uow = UnitOfWork()
    caller.store.add(uow, record)
    uow.publish(caller.event("email_automation.created", _changed(automation)))
    uow.commit()
    undo = partial(_undo, caller, automation)
    scheduler.create_record_schedule(SCHEDULE, caller.tenant, automation.id, _plan(automation), undo)
    return automation


def _undo(caller: Caller, automation: Automation) -> None:
    """Remove a new automation whose schedule could not be made (the trail shows it gone again)."""
    uow = UnitOfWork()
    uow.delete(Record(pk=record_key(caller.tenant, KIND, automation.id), sk=KIND.upper()), check_version=False)
    stage_terms(uow, TERMS[KIND], caller.tenant, KIND, automation.id, None, 0, new=False)
    uow.publish(caller.event("email_automation.deleted", _changed(automation)))
    uow.commit()


def get(caller: Caller, automation_id: str) -> Automation:
    return _load(caller, automation_id)[1]


def list_automations(
    caller: Caller,
    cursor: str | None,
    limit: int,
    filters: dict[str, Any],
    sort: str | None,
    order: Order,
    updated_since: datetime | None = None,
) -> Page[Automation]:
    """The automations, filtered by at most one of `name` (prefix, in name order), `active`,
    `template_id`, `list_type_id` and `target_group_id`; with `updated_since`, the kernel's sync
    page (no filter, sort or order)."""
    query = plan(filters, sort, order, prefixes={"name": "name"}, updated_since=updated_since)
    return find(caller, KIND, TERMS[KIND], Automation, cursor, limit, query)


def update(caller: Caller, automation_id: str, body: AutomationPatch) -> Automation:
    """Change any field; the schedule follows (also when nothing changed, so that a retry converges)."""
    caller.require_manager()
    changes = body.changes()
    checked = body.model_dump(exclude_unset=True)
    _check(caller, {**checked, "schedule": body.schedule})

    def run() -> Automation:
        record, before = _load(caller, automation_id)
        if not patch_changes(before, changes):
            return before
        after = Automation.model_validate({**_data(before), **changes, "id": before.id, "version": before.version})
        if after == before:
            return before
        after = after.model_copy(update={"updated_at": clock.now()})
        uow = UnitOfWork()
        caller.store.replace(uow, record, _data(after))
        audited = changes_of(before, after, CHANGEABLE)
        uow.publish(caller.event("email_automation.updated", _changed(after), changes=audited))
        uow.commit()
        return after.model_copy(update={"version": before.version + 1})

    automation = commit(run)
    sync_schedule(caller, automation)
    return automation


def delete(caller: Caller, automation_id: str) -> None:
    """Delete an automation: its schedule first (one left behind would fire for nothing); its
    campaigns and runs stay."""
    caller.require_manager()

    def run() -> Automation:
        record, automation = _load(caller, automation_id)
        scheduler.delete_record_schedule(SCHEDULE, automation.id)
        uow = UnitOfWork()
        caller.store.remove(uow, record)
        uow.publish(caller.event("email_automation.deleted", _changed(automation)))
        uow.commit()
        return automation

    commit(run)


def list_runs(
    caller: Caller,
    automation_id: str,
    cursor: str | None,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AutomationRun]:
    """An automation's firings, newest first, each with its campaign's status and counters;
    `since`/`until`: those scheduled at or after, and before (served by the runs' time keys)."""
    _load(caller, automation_id)
    key = _runs_key(caller.tenant, automation_id)
    lower, upper = firing_bound(since), firing_bound(until)
    scope = f"{KIND}:{automation_id}:runs:{lower}:{upper}"
    runs = partition_page(
        caller, scope, cursor, limit, Record.by_parent, key, Record.gsi3sk, AutomationRun, newest_first=True,
        lower=lower, upper=upper,
    )  # fmt: skip
    return Page[AutomationRun](items=[_with_campaign(caller, run) for run in runs.items], next_cursor=runs.next_cursor)


def _with_campaign(caller: Caller, run: AutomationRun) -> AutomationRun:
    try:
        campaign = campaigns.get_campaign(caller, run.campaign_id)
    except NotFound:  # not made (see error) or deleted since
        return run
    return run.model_copy(update={"status": str(campaign.status), "counts": campaign.stats})


# ----------------------------------------------------------------------------- firings


def _stored(tenant: str, automation_id: str) -> Automation | None:
    record = EmailStore().get(tenant, KIND, automation_id)
    return model_of(record, Automation) if record else None


@job(JOB)
@scheduler.on_firing(SCHEDULE, _stored, lambda automation, fired: fires(automation, fired.moment))
def run_scheduled(automation: Automation, fired: Firing) -> None:
    """A schedule fired: make and send that moment's campaign unless the automation is inactive or gone."""
    fire(service_caller(fired.tenant_id), automation, fired.time)


def fire(caller: Caller, automation: Automation, fired_at: str) -> str:
    """Make and start the campaign of one firing; returns its id. Safe to repeat."""
    run_id = campaign_id(automation.id, fired_at)
    body = CampaignCreate.model_validate(campaign_body(automation, parse_scheduled_time(fired_at)))
    try:
        campaigns.create_campaign(
            caller,
            body,
            campaign_id=run_id,
            once_scope=once_scope(automation, run_id),
            origin=origin(automation.id, fired_at),
        )
    except (ValidationFailed, NotFound) as error:  # e.g. its template was deleted: retrying will not help
        reasons = "; ".join(f"{e.field}: {e.message}" for e in getattr(error, "errors", [])) or error.detail
        _save_run(caller, automation, run_id, fired_at, f"The campaign could not be made: {reasons}")
        logger.warning("automatic campaign not made", extra={"campaign_id": run_id, "cause": reasons})
        return run_id
    _save_run(caller, automation, run_id, fired_at, None)
    try:
        campaign_launch.start_send(caller, run_id)
    except DomainError as error:  # e.g. cancelled by a user meanwhile: that stays so
        logger.warning("automatic campaign not started", extra={"campaign_id": run_id, "cause": error.detail})
    logger.info("automation fired", extra={"campaign_id": run_id, "scheduled_time": firing_time(fired_at)})
    return run_id


def _save_run(caller: Caller, automation: Automation, run_id: str, fired_at: str, error: str | None) -> None:
    """The firing's run record, once (a repeated firing finds it)."""
    when = firing_time(fired_at)
    data = {
        "automation_id": automation.id,
        "campaign_id": run_id,
        "scheduled_time": when,
        "created_at": clock.iso(clock.now()),
        "error": error,
    }
    record = caller.store.new(caller.tenant, RUN, run_id, {k: v for k, v in data.items() if v is not None})
    record.gsi3pk, record.gsi3sk = _runs_key(caller.tenant, automation.id), f"{when}#{run_id}"
    uow = UnitOfWork()
    uow.save(record, condition=Record.pk.does_not_exist(), on_conflict=AlreadyApplied)
    with suppress(AlreadyApplied):
        uow.commit()
