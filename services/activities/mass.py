"""Mass activities from a target group: the commands, the scheduled job and the audience consumer.

A mass activity asks the directory for its target group's members (`audience.requested`) now,
at a set time or on a recurrence (an EventBridge Scheduler schedule puts a `mass.run` job on the
jobs queue), and makes one activity per member from the `audience.page` events that answer.

Records (kind: keys):
- `mass_activity`: the definition, listed by `by_type`;
- `mass_run`: one run, its id the audience request id (derived from the mass activity and the
  run time); `by_rank` (gsi6) `T#<t>#MASS#<mass id>#RUN` / `<run time>#<run id>` lists a mass
  activity's runs; it holds a snapshot of what to make, so a run's pages need nothing else;
- a run's pages: in the run's partition, sk `PAGE#<number>`, each with that page's count; a run's
  progress is their sum, so a redelivered page counts once.

Idempotency: a create's `Idempotency-Key` is the kernel's (`shared/idempotency.py`): its claim
commits in the create's transaction, so a retried create makes no second mass activity. A firing
(or a "now" create) writes its run record and its audience request in one
transaction, both keyed by the run id, so a retried firing asks once. Each member's activity id
is derived from (run id, contact id): a redelivered or re-resolved page finds its activities and
skips them. A page of up to 500 members takes many transactions; each chunk is conditional on its
activities not existing, and a cancelled chunk is redone one activity at a time. The consumer's
dedupe marker and the page record commit last, in the unit of work the consumer passes in.

The Scheduler schedule is a trigger derived from the record, written after the record commits:
its name is deterministic (a retried create or update converges), a passive or deleted mass
activity whose schedule still fires makes nothing (the job checks the record), and a delete
removes the schedule first, ignoring one already gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError

from services.activities import activities, admin, references
from services.activities.domain.mass import (
    CRM_FIELDS,
    JOB,
    SCHEDULE,
    MassActivity,
    MassActivityCreate,
    MassActivityTemplate,
    MassActivityUpdate,
    MassOwner,
    MassRun,
    OwnerMode,
    ScheduleMode,
    activity_id,
    activity_times,
    check,
    owner_of,
    parse_scheduled_time,
    run_id,
    runs_at,
    schedule_name,
    schedule_plan,
    scheduled_time,
    summarize,
)
from services.activities.domain.models import Activity, ActivityCreate, ActivityKind
from services.activities.service import Caller, service_caller
from services.activities.store import TERMS, ActivitiesStore, Record, clean, new_record, record_key
from services.activities.subscriptions import job, subscribe
from shared import clock, scheduler
from shared.contracts.audience import AudienceMember, AudiencePage, AudienceRequested
from shared.errors import DomainError, FieldError, Forbidden, NotFound, ValidationFailed
from shared.events import Envelope
from shared.ids import derived_id, new_id
from shared.lookup import Order, find, plan, stage_terms
from shared.observability import logger
from shared.pagination import Page
from shared.schedules import Firing, firing_bound
from shared.service import commit, model_of, partition_page, patch_changes, user_caller
from shared.store import (
    MAX_TRANSACTION_ITEMS,
    AlreadyApplied,
    ConcurrentUpdate,
    UnitOfWork,
    run_with_retries,
    tenant_key,
)

KIND = "mass_activity"
RUN = "mass_run"
PAGE = "mass_page"
REQUESTER = "activities"
ITEMS_PER_ACTIVITY = 6  # room kept per activity at first: the activity, its event and what hooks add


# ----------------------------------------------------------------------------- records


def _data(mass: MassActivity) -> dict[str, Any]:
    data = mass.model_dump(mode="json", exclude={"id", "version"})
    if mass.creator is not None:  # not shown by the API, kept for the scheduled runs
        data["creator"] = mass.creator.model_dump(mode="json")
    return data


def _load(caller: Caller, mass_id: str) -> tuple[Record, MassActivity]:
    record = caller.store.get(caller.tenant, KIND, mass_id)
    if record is None:
        raise NotFound(f"No mass activity {mass_id}.")
    return record, model_of(record, MassActivity)


def _changeable(caller: Caller, mass_id: str) -> tuple[Record, MassActivity]:
    """Managers and admins change mass activities; a user only their own unscheduled ones."""
    record, mass = _load(caller, mass_id)
    own = caller.user_id == mass.created_by and mass.schedule.mode == ScheduleMode.now
    if not (caller.is_manager or own):
        raise Forbidden("Only a manager or an admin may change this mass activity.")
    return record, mass


def _runs_key(tenant: str, mass_id: str) -> str:
    return tenant_key(tenant, "MASS", mass_id, "RUN")


def _page_sk(number: int) -> str:
    return f"PAGE#{number:06d}"


# ----------------------------------------------------------------------------- the scheduler


def sync_schedule(caller: Caller, mass: MassActivity) -> None:
    """Make the mass activity's schedule what its record says (create, update or delete it).

    Safe to repeat: the name is deterministic, an existing schedule is updated, a missing one
    created, one with nothing left to fire deleted.
    """
    if mass.schedule_name is not None:
        plan = schedule_plan(mass.schedule, clock.now())
        scheduler.save_record_schedule(SCHEDULE, caller.tenant, mass.id, plan, enabled=mass.active)


# ----------------------------------------------------------------------------- commands


def create(caller: Caller, body: MassActivityCreate) -> MassActivity:
    """A new mass activity: "now" requests its audience in the same transaction; a scheduled one
    gets its schedule once the record is stored."""
    scheduled = body.schedule.mode != ScheduleMode.now
    if scheduled:
        caller.require_manager()
    _check_owner_rights(caller, body.owner)
    kind = admin.activity_type(caller, body.activity.type, "activity.type").kind
    now = clock.now()
    errors = check(body, kind, now)
    if errors:
        raise ValidationFailed("The mass activity is not valid.", errors)
    _check_classification(caller, body.activity, kind, body.schedule.time_zone, now)
    mass = MassActivity(
        id=new_id(),
        name=body.name or body.activity.subject,
        target_group_id=body.target_group_id,
        activity=body.activity,
        owner=body.owner,
        schedule=body.schedule,
        active=body.active,
        kind=kind,
        created_by=caller.user_id,
        creator=caller.acting_user(),
        created_at=now,
        updated_at=now,
    )
    if scheduled:
        mass.schedule_name = schedule_name(mass.id)
    uow = UnitOfWork()
    caller.store.add(uow, new_record(caller.tenant, KIND, mass.id, _data(mass)))
    if not scheduled:
        stage_run(caller, uow, mass, now)
    uow.commit()
    if scheduled:
        _schedule_or_undo(caller, mass)
    return mass


def _check_owner_rights(caller: Caller, owner: MassOwner) -> None:
    """Like a single activity: only managers and admins make someone else responsible."""
    if caller.is_manager:
        return
    if owner.mode == OwnerMode.member_owner:
        message = "Only a manager or an admin may give activities to the members' responsible users."
        raise ValidationFailed.on("owner.mode", message)
    if owner.user_id != caller.user_id:
        raise ValidationFailed.on("owner.user_id", "Only a manager or an admin may make someone else responsible.")


def _check_classification(
    caller: Caller, template: MassActivityTemplate, kind: ActivityKind, zone: str, now: datetime
) -> None:
    """Build one sample activity, so that the CRM classification rules answer now (422 naming the field)."""
    sample = _activity_create(template, activity_times(template, kind, now, zone), caller.user_id, None)
    try:
        activities.build(caller, sample)
    except ValidationFailed as error:
        errors = [FieldError(field=f"activity.{e.field}", message=e.message, code=e.code) for e in error.errors]
        raise ValidationFailed(error.detail, errors) from None


def _activity_create(
    template: MassActivityTemplate, times: dict[str, Any], owner_id: str, member: AudienceMember | None
) -> ActivityCreate:
    """A member's activity as a client would send it (only what the template sets counts as sent)."""
    fields: dict[str, Any] = {
        "type": template.type,
        "subject": template.subject,
        "description": template.description,
        "location": template.location,
        "owner_id": owner_id,
        "account_id": member.account_id if member else None,
        "contact_id": member.contact_id if member else None,
        **times,
    }
    fields.update({name: getattr(template, name) for name in CRM_FIELDS if name in template.model_fields_set})
    return ActivityCreate.model_validate({k: v for k, v in fields.items() if v is not None})


def _schedule_or_undo(caller: Caller, mass: MassActivity) -> None:
    """Create the schedule; when that fails, remove the record again so that nothing half-made stays."""

    def undo() -> None:
        uow = UnitOfWork()
        uow.delete(Record(pk=record_key(caller.tenant, KIND, mass.id), sk=KIND.upper()), check_version=False)
        stage_terms(uow, TERMS[KIND], caller.tenant, KIND, mass.id, None, 0, new=False)
        uow.commit()  # the request then fails, which releases its Idempotency-Key

    plan = schedule_plan(mass.schedule, clock.now())
    scheduler.create_record_schedule(SCHEDULE, caller.tenant, mass.id, plan, undo, enabled=mass.active)


def get(caller: Caller, mass_id: str) -> MassActivity:
    return _load(caller, mass_id)[1]


def list_mass_activities(
    caller: Caller,
    cursor: str | None,
    limit: int,
    filters: dict[str, Any],
    sort: str | None,
    order: Order,
    updated_since: datetime | None = None,
) -> Page[MassActivity]:
    """The mass activities, filtered by at most one of `name` (prefix, in name order), `active`,
    `target_group_id` and `created_by`; with `updated_since`, the kernel's sync page (no filter,
    sort or order)."""
    query = plan(filters, sort, order, prefixes={"name": "name"}, updated_since=updated_since)
    return find(caller, KIND, TERMS[KIND], MassActivity, cursor, limit, query)


def update(caller: Caller, mass_id: str, body: MassActivityUpdate) -> MassActivity:
    """Rename, or make active or passive; the schedule follows (also when nothing changed, to converge)."""

    def run() -> MassActivity:
        record, before = _changeable(caller, mass_id)
        changes = patch_changes(before, body)
        if not changes:
            return before
        after = before.model_copy(update={**changes, "updated_at": clock.now()})
        uow = UnitOfWork()
        caller.store.replace(uow, record, _data(after))
        uow.commit()
        return after.model_copy(update={"version": before.version + 1})

    mass = commit(run)
    sync_schedule(caller, mass)
    return mass


def delete(caller: Caller, mass_id: str) -> None:
    """Delete a mass activity: its schedule first (a schedule left behind would fire for nothing)."""

    def run() -> MassActivity:
        record, mass = _changeable(caller, mass_id)
        if mass.schedule_name:
            scheduler.delete_record_schedule(SCHEDULE, mass.id)
        uow = UnitOfWork()
        caller.store.remove(uow, record)
        uow.commit()
        return mass

    commit(run)


def list_runs(
    caller: Caller,
    mass_id: str,
    cursor: str | None,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[MassRun]:
    """A mass activity's runs, newest first, each with its progress; `since`/`until`: those run at
    or after, and before (served by the runs' time keys)."""
    _load(caller, mass_id)
    key = _runs_key(caller.tenant, mass_id)
    lower, upper = firing_bound(since), firing_bound(until)
    scope = f"{KIND}:{mass_id}:runs:{lower}:{upper}"
    runs = partition_page(
        caller, scope, cursor, limit, Record.by_rank, key, Record.gsi6sk, MassRun, newest_first=True,
        lower=lower, upper=upper,
    )  # fmt: skip
    return Page[MassRun](items=[run_progress(caller, run) for run in runs.items], next_cursor=runs.next_cursor)


def run_progress(caller: Caller, run: MassRun) -> MassRun:
    """A run with its progress, summed from its page records."""
    pk = record_key(caller.tenant, RUN, run.id)
    pages = [r.data for r in Record.query(pk, Record.sk.startswith("PAGE#"), consistent_read=True)]
    return summarize(run.model_dump(mode="json"), pages)


# ----------------------------------------------------------------------------- runs


def new_run(tenant: str, mass: MassActivity, run_at: datetime) -> Record:
    """The record of one run: what to make for each member, fixed when the run starts."""
    run_at = run_at.replace(microsecond=0)
    request_id = run_id(mass.id, run_at)
    record = new_record(
        tenant,
        RUN,
        request_id,
        {
            "mass_activity_id": mass.id,
            "target_group_id": mass.target_group_id,
            "run_at": scheduled_time(run_at),
            "requested_at": clock.iso(clock.now()),
            "activity": mass.activity.model_dump(mode="json", exclude_unset=True),
            "kind": mass.kind.value,
            "owner": mass.owner.model_dump(mode="json"),
            "time_zone": mass.schedule.time_zone,
            "created_by": mass.created_by,
        },
    )
    record.gsi6pk, record.gsi6sk = _runs_key(tenant, mass.id), f"{scheduled_time(run_at)}#{request_id}"
    return record


def stage_run(caller: Caller, uow: UnitOfWork, mass: MassActivity, run_at: datetime) -> str:
    """Start a run: its record and its audience request, both keyed by the run id (AlreadyApplied
    on commit when this run was started before)."""
    record = new_run(caller.tenant, mass, run_at)
    request_id = record.record_id
    uow.save(record, condition=Record.pk.does_not_exist(), on_conflict=AlreadyApplied)
    request = AudienceRequested(
        request_id=request_id,
        requester=REQUESTER,
        target_group_id=mass.target_group_id,
        acting=caller.acting_user(),  # a user's run reaches the contacts they see
    )
    uow.publish(caller.event("audience.requested", request, event_id=derived_id(request_id, "audience.requested")))
    return request_id


def _stored(tenant: str, mass_id: str) -> MassActivity | None:
    record = ActivitiesStore().get(tenant, KIND, mass_id)
    return model_of(record, MassActivity) if record else None


@job(JOB)
@scheduler.on_firing(SCHEDULE, _stored, lambda mass, fired: runs_at(mass, fired.moment))
def run_scheduled(mass: MassActivity, fired: Firing) -> None:
    """A schedule fired: start the run of that time unless the mass activity is passive, ended or
    gone, as the user who created it (the contacts they see), not with a service's full reach."""
    caller = user_caller(Caller, fired.tenant_id, mass.creator) if mass.creator else service_caller(fired.tenant_id)
    uow = UnitOfWork()
    request_id = stage_run(caller, uow, mass, fired.moment)
    try:
        uow.commit()
    except AlreadyApplied:
        logger.info("run already started", extra={"request_id": request_id})


# ----------------------------------------------------------------------------- audience pages


@subscribe("audience.page")
def on_audience_page(envelope: Envelope, uow: UnitOfWork) -> None:
    """Make the activities of one page of a run's members; the page record joins the dedupe marker."""
    audience = AudiencePage.model_validate(envelope.data)
    if audience.requester != REQUESTER:
        return
    run = ActivitiesStore().get(envelope.tenant_id, RUN, audience.request_id)
    if run is None:
        logger.warning("audience page of no mass activity run", extra={"request_id": audience.request_id})
        return
    caller = service_caller(envelope.tenant_id)
    made, error = (0, audience.error) if audience.error else make_activities(caller, run.data, audience)
    _stage_page(uow, run, audience, made, error)
    logger.info("mass activity page", extra={"request_id": audience.request_id, "page": audience.page, "made": made})


def make_activities(caller: Caller, run: dict[str, Any], audience: AudiencePage) -> tuple[int, str | None]:
    """Every member's activity exists afterwards; returns how many members have one (and why none)."""
    try:
        built = build_for_members(caller, run, audience.request_id, audience.members)
    except ValidationFailed as error:  # e.g. the activity type was made passive since
        reasons = "; ".join(f"{e.field}: {e.message}" for e in error.errors) or error.detail
        return 0, f"The activities could not be made: {reasons}"
    existing = caller.store.get_many(caller.tenant, activities.KIND, [a.id for a in built])
    todo = [a for a in built if a.id not in existing]
    with activities.batch(caller, todo):
        made = commit_new(caller, todo)
    return len(existing) + made, None


def build_for_members(
    caller: Caller, run: dict[str, Any], request_id: str, members: Iterable[AudienceMember]
) -> list[Activity]:
    template = MassActivityTemplate.model_validate(run["activity"])
    owner = MassOwner.model_validate(run["owner"])
    kind = ActivityKind(run["kind"])
    times = activity_times(template, kind, parse_scheduled_time(run["run_at"]), run["time_zone"])
    unique = {activity_id(request_id, m.contact_id): m for m in _resolved(caller, list(members))}
    return [
        activities.build(
            caller,
            _activity_create(template, times, owner_of(owner, member, run["created_by"]), member),
            activity_id=new_activity_id,
            source="mass_activity",
            source_id=run["mass_activity_id"],
        )
        for new_activity_id, member in unique.items()
    ]


def _resolved(caller: Caller, members: list[AudienceMember]) -> list[AudienceMember]:
    """Members as they now are: a page resolved before a merge names the merged records, whose
    activities are made on the survivors (a survivor also in the page then gets one, not two)."""
    contacts = references.survivors(caller, "contact", [m.contact_id for m in members])
    accounts = references.survivors(caller, "account", [m.account_id for m in members if m.account_id])
    if not contacts and not accounts:
        return members
    return [
        m.model_copy(
            update={
                "contact_id": contacts.get(m.contact_id, m.contact_id),
                "account_id": accounts.get(m.account_id, m.account_id) if m.account_id else None,
            }
        )
        for m in members
    ]


def commit_new(caller: Caller, todo: list[Activity]) -> int:
    """Create activities in as few transactions as fit; returns how many exist afterwards.

    Activities are staged into one unit of work, so the hooks see each other's rows (two members
    of one account update its call-list row once), until the next one might not fit: the room
    kept is the most items one activity has needed yet. A cancelled chunk is redone one by one.
    """
    chunk = UnitOfWork()
    staged: list[Activity] = []
    widest, made = ITEMS_PER_ACTIVITY, 0
    for activity in todo:
        if staged and len(chunk) + widest > MAX_TRANSACTION_ITEMS:
            made += _flush(caller, chunk, staged)
            chunk, staged = UnitOfWork(), []
        size = len(chunk)
        activities.stage_new(caller, chunk, activity)
        widest = max(widest, len(chunk) - size)
        staged.append(activity)
    if staged:
        made += _flush(caller, chunk, staged)
    return made


def _flush(caller: Caller, chunk: UnitOfWork, staged: list[Activity]) -> int:
    try:
        chunk.commit()
    except (DomainError, AlreadyApplied, TransactWriteError, ValueError) as error:
        logger.info("chunk cancelled, creating one by one", extra={"activities": len(staged), "cause": repr(error)})
        activities.batch_failed()
        return sum(_commit_one(caller, activity) for activity in staged)
    return len(staged)


def _commit_one(caller: Caller, activity: Activity) -> bool:
    """Create one activity unless it exists (a concurrent delivery may have made it); False when
    it is refused (e.g. its contact was erased meanwhile): that member is left out, not retried."""

    def attempt() -> None:
        if caller.store.get(caller.tenant, activities.KIND, activity.id) is not None:
            return
        uow = UnitOfWork()
        activities.stage_new(caller, uow, activity)
        uow.commit()

    try:
        run_with_retries(attempt)
    except ConcurrentUpdate:
        raise  # still contended: let the page be delivered again
    except DomainError as error:
        logger.warning(
            "member left out",
            extra={"activity_id": activity.id, "contact_id": activity.contact_id, "cause": error.detail},
        )
        return False
    return True


def _stage_page(uow: UnitOfWork, run: Record, audience: AudiencePage, made: int, error: str | None) -> None:
    """The page's count, once per page number (another delivery of the page finds it and adds nothing)."""
    sk = _page_sk(audience.page)
    try:
        Record.get(run.pk, sk, consistent_read=True)
        return
    except Record.DoesNotExist:
        pass
    item = Record(
        pk=run.pk,
        sk=sk,
        kind=PAGE,
        fields=clean(
            {
                "page": audience.page,
                "members": len(audience.members),
                "activities": made,
                "last": audience.last,
                "total_members": audience.total_members,
                "error": error,
                "seen_at": clock.iso(clock.now()),
            }
        ),
    )
    uow.save(item, condition=Record.pk.does_not_exist(), on_conflict=AlreadyApplied)
