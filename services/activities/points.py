"""Activity points [002 Aktiviteettipisteet] and the per-activity tally that goals, sales targets
and the seller's view read.

An `activities.on_change` hook runs inside every activity create, change and delete:

- an activity that becomes completed gets its points from the tenant's rules (`after.points`);
  one that stays completed keeps them unless its type or category changes; an open one has 0;
- one **tally** record per activity (`T#<t>#TALLY#<activity>`), written in the same unit of
  work with absolute values (so a retried command writes the same thing), exists while the
  activity is completed or has a CRM category, and sets the index keys the reports query:

  - `by_rank` gsi6: `T#<t>#POINTS#<owner>` / `<completed_at>#<activity>` while completed: the
    points ledger of the responsible user, read per ISO week of completion;
  - `by_rank_alt` gsi7: `T#<t>#CRMCAT#<owner>#<category>` / `<start or due>#<activity>` while it
    has a category: a seller's activities in a category (sales-target actuals, seller's view).

Reopening or deleting an activity takes its tally out of the ledger (the credit goes back);
a new responsible user, type or category moves it. No report scans: each is a Query.

Time zones: the tally keys are UTC timestamps, not local days or weeks. A report turns its local
period bounds (the tenant's `time_zone`) into UTC moments and queries between them, and places
each moment in its local week or month. So a change of zone needs nothing rewritten: every
report asked after it, over old data too, is in the new zone.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from services.activities import admin
from services.activities.activities import on_change, stamp
from services.activities.domain.goals import PointRule, PointRules, check_rules, day_start, parse_time, points_for
from services.activities.domain.models import Activity, ActivityStatus
from services.activities.service import Caller, register_default
from services.activities.store import Record, new_record, record_key
from shared.store import UnitOfWork, tenant_key

POINT_RULES = "point_rules"
TALLY = "tally"

register_default(POINT_RULES, lambda: {"rules": []})


# ----------------------------------------------------------------------------- rules


def point_rules(caller: Caller) -> PointRules:
    return PointRules.model_validate(caller.setting(POINT_RULES))


def replace_point_rules(caller: Caller, body: PointRules) -> PointRules:
    """Admins replace the rules; each names an existing activity type and CRM category."""
    caller.require_admin()
    types = {t.code for t in admin.activity_types(caller)}
    categories = {c.code for c in admin.crm_settings(caller).categories}
    check_rules(body.rules, types, categories)
    caller.save_setting(POINT_RULES, body.model_dump(mode="json"))
    return body


def _rules(caller: Caller) -> list[PointRule]:
    return point_rules(caller).rules


# ----------------------------------------------------------------------------- the hook


def _points(caller: Caller, before: Activity | None, after: Activity) -> int:
    if after.status != ActivityStatus.completed:
        return 0
    kept = (
        before is not None
        and before.status == ActivityStatus.completed
        and (before.type, before.category) == (after.type, after.category)
    )
    return after.points if kept else points_for(_rules(caller), after.type, after.category)


def _tally(activity: Activity | None) -> dict[str, Any] | None:
    """What an activity's tally holds; None when it needs none (open and uncategorised)."""
    if activity is None:
        return None
    completed = activity.status == ActivityStatus.completed and activity.completed_at is not None
    if not completed and not activity.category:
        return None
    return {
        "activity_id": activity.id,
        "owner_id": activity.owner_id,
        "completed_at": stamp(activity.completed_at) if completed else None,
        "points": activity.points if completed else 0,
        "category": activity.category,
        "at": stamp(activity.calendar_time),
    }


def _set_keys(record: Record, tenant: str, tally: dict[str, Any]) -> None:
    record.gsi1pk = record.gsi1sk = None  # tallies are read through their own indexes only
    record.gsi6pk = record.gsi6sk = record.gsi7pk = record.gsi7sk = None
    activity_id, owner = tally["activity_id"], tally["owner_id"]
    if tally["completed_at"]:
        record.gsi6pk, record.gsi6sk = tenant_key(tenant, "POINTS", owner), f"{tally['completed_at']}#{activity_id}"
    if tally["category"]:
        record.gsi7pk = tenant_key(tenant, "CRMCAT", owner, tally["category"])
        record.gsi7sk = f"{tally['at']}#{activity_id}"


@on_change
def _follow_activity(caller: Caller, uow: UnitOfWork, before: Activity | None, after: Activity | None) -> None:
    """Points on completion and the activity's tally, in the activity's own unit of work."""
    if after is not None:
        after.points = _points(caller, before, after)
    had, wanted = _tally(before), _tally(after)
    if had == wanted:
        return
    activity_id = (after or before).id  # type: ignore[union-attr]
    if wanted is None:
        gone = Record(pk=record_key(caller.tenant, TALLY, activity_id), sk=TALLY.upper())
        uow.delete(gone, check_version=False)
        return
    existing = caller.store.get(caller.tenant, TALLY, activity_id) if before is not None else None
    record = existing or new_record(caller.tenant, TALLY, activity_id, wanted)
    _set_keys(record, caller.tenant, wanted)
    if existing is None:
        caller.store.add(uow, record)
    else:
        caller.store.replace(uow, record, wanted)


# ----------------------------------------------------------------------------- reads


def _between(first: date, after_last: date, zone: tzinfo) -> tuple[str, str]:
    """Sort-key bounds of the local days `first` up to before `after_last` (`<utc time>#<id>` keys)."""
    return stamp(day_start(first, zone)), stamp(day_start(after_last, zone))


def completions(
    caller: Caller, user_id: str, first: date, after_last: date, zone: tzinfo
) -> list[tuple[datetime, int]]:
    """(completed_at, points) of a user's activities completed from local day `first` up to before `after_last`."""
    key = tenant_key(caller.tenant, "POINTS", user_id)
    condition = Record.gsi6sk.between(*_between(first, after_last, zone))
    return [
        (parse_time(r.data["completed_at"]), int(r.data.get("points", 0)))
        for r in Record.by_rank.query(key, range_key_condition=condition)
    ]


def _category_key(caller: Caller, user_id: str, category: str) -> str:
    return tenant_key(caller.tenant, "CRMCAT", user_id, category)


def category_times(
    caller: Caller, user_id: str, category: str, first: date, after_last: date, zone: tzinfo
) -> list[datetime]:
    """Start/due times of a seller's activities in a category, from local day `first` up to before `after_last`."""
    condition = Record.gsi7sk.between(*_between(first, after_last, zone))
    return [
        parse_time(r.data["at"])
        for r in Record.by_rank_alt.query(_category_key(caller, user_id, category), range_key_condition=condition)
    ]


def latest_in_category(caller: Caller, user_id: str, category: str, limit: int) -> list[str]:
    """Ids of a seller's activities in a category, latest start/due first."""
    key = _category_key(caller, user_id, category)
    return [r.data["activity_id"] for r in Record.by_rank_alt.query(key, scan_index_forward=False, limit=limit)]


def count_in_category(caller: Caller, user_id: str, category: str) -> int:
    """How many activities a seller has in a category (a COUNT query over that seller's partition)."""
    return int(Record.by_rank_alt.count(_category_key(caller, user_id, category)))
