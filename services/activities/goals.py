"""Activity goals [002 Aktiviteettitavoitteiden asettaminen] and their report.

A user's weekly goals for one ISO year are one record (`T#<t>#GOAL#<user>.<year>`), for the count
of completed activities and/or their points, each for the whole year or per quarter. Managers
and admins set anyone's goals; a user reads their own.

The report gives goal vs actual per ISO week for a user, or summed over the members of a group.
Group members come from the directory's `group.created|updated|deleted` events, kept here as a
projection (`T#<t>#GROUP_MEMBERS#<group>`); an older event than the one applied is ignored, and a
deletion leaves a tombstone so that a late update cannot bring the group back.

The tenant's users come from the directory's `user.created` (`T#<t>#DIRECTORY_USER#<user>`): a
user's goals and sales targets are read and set only for a user of the caller's tenant; any other
id is 404, as an unknown id is on every route.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from services.activities import points, tenant
from services.activities.domain.goals import (
    GoalReport,
    GoalsSet,
    PeriodKind,
    YearGoals,
    actuals_by_week,
    check_range,
    periods_covering,
    sum_rows,
    week_report,
)
from services.activities.service import Caller, service_caller
from services.activities.store import new_record
from services.activities.subscriptions import subscribe
from shared import clock, preconditions
from shared.contracts.directory import GroupChanged, RecordDeleted, UserCreated
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.events import Envelope
from shared.service import commit, model_of
from shared.store import UnitOfWork

GOAL = "goal"
GROUP = "group_members"
USER = "directory_user"


def _goal_id(user_id: str, year: int) -> str:
    return f"{user_id}.{year}"


def _may_read(caller: Caller, user_id: str) -> None:
    if user_id != caller.user_id and not caller.is_manager:
        raise Forbidden("A user reads only their own goals; managers and admins read anyone's.")


# ----------------------------------------------------------------------------- the tenant's users


def require_user(caller: Caller, user_id: str) -> None:
    """404 unless `user_id` is a user of the caller's tenant, as the directory announced it (the
    caller is one: their verified token says so)."""
    if user_id != caller.user_id and caller.store.get(caller.tenant, USER, user_id) is None:
        raise NotFound(f"No user {user_id}.")


@subscribe("user.created")
def _project_user(envelope: Envelope, uow: UnitOfWork) -> None:
    caller = service_caller(envelope.tenant_id)
    user = UserCreated.model_validate(envelope.data)
    if caller.store.get(caller.tenant, USER, user.id) is None:
        caller.store.add(uow, new_record(caller.tenant, USER, user.id, {"id": user.id}))


# ----------------------------------------------------------------------------- goals


def get_goals(caller: Caller, user_id: str, year: int) -> YearGoals:
    _may_read(caller, user_id)
    require_user(caller, user_id)
    record = caller.store.get(caller.tenant, GOAL, _goal_id(user_id, year))
    if record is None:
        raise NotFound(f"No goals for user {user_id} in {year}.")
    preconditions.address(record)  # keyed by two path parameters: named as the request's target
    return model_of(record, YearGoals)


def set_goals(caller: Caller, user_id: str, year: int, body: GoalsSet) -> YearGoals:
    """Replace a user's goals for a year (managers and admins)."""
    caller.require_manager()
    require_user(caller, user_id)

    def run() -> YearGoals:
        data = {
            "user_id": user_id,
            "year": year,
            **body.model_dump(mode="json"),
            "updated_by": caller.user_id,
            "updated_at": clock.iso(clock.now()),
        }
        record = caller.store.get(caller.tenant, GOAL, _goal_id(user_id, year))
        if record is None:
            record = new_record(caller.tenant, GOAL, _goal_id(user_id, year), data)
        preconditions.address(record)  # the request's target (a new record: If-Match cannot hold)
        uow = UnitOfWork()
        if record.version is None:
            caller.store.add(uow, record)
        else:
            caller.store.replace(uow, record, data)
        uow.commit()
        return model_of(record, YearGoals)

    return commit(run)


def delete_goals(caller: Caller, user_id: str, year: int) -> None:
    caller.require_manager()
    require_user(caller, user_id)
    record = caller.store.get(caller.tenant, GOAL, _goal_id(user_id, year))
    if record is None:
        raise NotFound(f"No goals for user {user_id} in {year}.")
    preconditions.address(record)
    uow = UnitOfWork()
    caller.store.remove(uow, record)
    uow.commit()


def _goals_by_year(caller: Caller, user_ids: list[str], years: list[int]) -> dict[str, dict[int, YearGoals]]:
    ids = [_goal_id(u, y) for u in user_ids for y in years]
    found = caller.store.get_many(caller.tenant, GOAL, ids)
    result: dict[str, dict[int, YearGoals]] = {u: {} for u in user_ids}
    for record in found.values():
        goals = model_of(record, YearGoals)
        result[goals.user_id][goals.year] = goals
    return result


# ----------------------------------------------------------------------------- report


def report(
    caller: Caller, first: date, last: date, user_id: str | None = None, group_id: str | None = None
) -> GoalReport:
    """Goal vs actual per ISO week from the week of `first` to that of `last`, for a user or a group.

    Weeks are the tenant's local weeks (its `time_zone`): a completion counts in the week of its
    local day.
    """
    check_range(first, last)
    if user_id and group_id:
        raise ValidationFailed.on("group_id", "Ask for a user or a group, not both.", "ambiguous")
    if group_id:
        caller.require_manager()
        members = group_members(caller, group_id)
    else:
        user_id = user_id or caller.user_id
        _may_read(caller, user_id)
        members = [user_id]
    zone = tenant.zone(caller)
    weeks = periods_covering(PeriodKind.week, first, last)
    after_last = weeks[-1].end + timedelta(days=1)
    goals = _goals_by_year(caller, members, sorted({w.year for w in weeks}))
    actuals = [
        actuals_by_week(points.completions(caller, member, weeks[0].start, after_last, zone), zone)
        for member in members
    ]
    rows = week_report(weeks, [goals[m] for m in members], actuals)
    return GoalReport(
        user_id=None if group_id else user_id,
        group_id=group_id,
        member_ids=members,
        weeks=rows,
        total_count=sum_rows([r.count for r in rows]),
        total_points=sum_rows([r.points for r in rows]),
    )


# ----------------------------------------------------------------------------- group members


def group_members(caller: Caller, group_id: str) -> list[str]:
    record = caller.store.get(caller.tenant, GROUP, group_id)
    if record is None or record.data.get("deleted"):
        raise NotFound(f"No group {group_id}.")
    return list(record.data.get("member_ids", []))


def _project_group(envelope: Envelope, uow: UnitOfWork) -> None:
    caller = service_caller(envelope.tenant_id)
    deleted = envelope.type == "group.deleted"
    group = RecordDeleted.model_validate(envelope.data) if deleted else GroupChanged.model_validate(envelope.data)
    as_of = clock.iso(envelope.occurred_at)
    record = caller.store.get(caller.tenant, GROUP, group.id)
    if record is not None and record.data.get("as_of", "") > as_of:
        return  # a newer event was applied already
    data: dict[str, Any] = {
        "id": group.id,
        "name": None if isinstance(group, RecordDeleted) else group.name,
        "member_ids": [] if isinstance(group, RecordDeleted) else sorted(set(group.member_ids)),
        "deleted": deleted or None,
        "as_of": as_of,
    }
    if record is None:
        caller.store.add(uow, new_record(caller.tenant, GROUP, group.id, data))
    else:
        caller.store.replace(uow, record, data)


for _event_type in ("group.created", "group.updated", "group.deleted"):
    subscribe(_event_type)(_project_group)
