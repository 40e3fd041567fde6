"""Sales targets and the seller's view [001 CRM-tapahtumat].

A CRM category may carry a sales target: managers then set a weekly or monthly count target per
seller for it. A seller's targets are one record (`T#<t>#SALES_TARGETS#<user>`). The actual of a
period is the number of the seller's (responsible user's) activities in that category whose start
(events) or due date (tasks) falls in it, open or completed: statistics accrue as the seller logs
events in the category. They are read from the activities' tallies (see points.py). Weeks and
months are the tenant's local ones (its `time_zone`): an event at 00:30 on the 1st in Helsinki is
in that month, though it is still the previous month in UTC.

The seller's view has one card per active CRM category with the seller's own activities in it,
latest start/due first. Activities are visible to everyone in the tenant, so anyone may look at
anyone's view; the seller is the caller unless another user is named.
"""

from __future__ import annotations

from datetime import date, timedelta

from services.activities import admin, points, tenant
from services.activities.activities import KIND as ACTIVITY
from services.activities.domain.crm import CrmCategory
from services.activities.domain.goals import (
    CategoryTargetReport,
    PeriodKind,
    SalesTarget,
    SalesTargetReport,
    SalesTargetsSet,
    SellerCard,
    SellerTargets,
    SellerView,
    check_range,
    check_targets,
    periods_covering,
    target_rows,
)
from services.activities.domain.models import Activity
from services.activities.goals import require_user
from services.activities.service import Caller
from services.activities.store import new_record
from shared import clock, preconditions
from shared.errors import Forbidden
from shared.service import commit, model_of
from shared.store import UnitOfWork

TARGETS = "sales_targets"
CARD_ITEMS = 5


def _sales_categories(caller: Caller) -> list[CrmCategory]:
    return [c for c in admin.crm_settings(caller).categories if c.sales_target and c.active]


def _may_read_seller(caller: Caller, user_id: str) -> None:
    if user_id != caller.user_id and not caller.is_manager:
        raise Forbidden("A seller reads only their own targets and view; managers and admins read anyone's.")
    require_user(caller, user_id)


def get_targets(caller: Caller, user_id: str) -> SellerTargets:
    _may_read_seller(caller, user_id)
    record = caller.store.get(caller.tenant, TARGETS, user_id)
    if record is None:
        preconditions.address(None)  # no targets yet: no ETag, and If-Match cannot hold
    return model_of(record, SellerTargets) if record else SellerTargets(user_id=user_id)


def set_targets(caller: Caller, user_id: str, body: SalesTargetsSet) -> SellerTargets:
    """Replace a seller's targets (managers and admins); each names a category with a sales target."""
    caller.require_manager()
    require_user(caller, user_id)
    check_targets(body.targets, {c.code for c in _sales_categories(caller)})

    def run() -> SellerTargets:
        data = {
            "user_id": user_id,
            **body.model_dump(mode="json"),
            "updated_by": caller.user_id,
            "updated_at": clock.iso(clock.now()),
        }
        record = caller.store.get(caller.tenant, TARGETS, user_id)
        uow = UnitOfWork()
        if record is None:
            record = new_record(caller.tenant, TARGETS, user_id, data)
            preconditions.address(record)  # the target (not the user read first by the same id)
            caller.store.add(uow, record)
        else:
            caller.store.replace(uow, record, data)
        uow.commit()
        return model_of(record, SellerTargets)

    return commit(run)


def target_report(
    caller: Caller, user_id: str, first: date, last: date, period: PeriodKind | None = None
) -> SalesTargetReport:
    """Target vs actual per period for each sales-target category.

    Each category is reported in its target's period (weeks when it has none) unless `period`
    names one for all; a target of the other period kind then shows as null.
    """
    check_range(first, last)
    zone = tenant.zone(caller)
    targets = {t.category: t for t in get_targets(caller, user_id).targets}
    categories = []
    for category in _sales_categories(caller):
        target: SalesTarget | None = targets.get(category.code)
        kind = period or (target.period if target else PeriodKind.week)
        count = target.count if target and target.period == kind else None
        periods = periods_covering(kind, first, last)
        moments = points.category_times(
            caller, user_id, category.code, periods[0].start, periods[-1].end + timedelta(days=1), zone
        )
        categories.append(
            CategoryTargetReport(
                category=category.code,
                label=category.label,
                period=kind,
                target=count,
                periods=target_rows(kind, first, last, count, moments, zone),
            )
        )
    return SalesTargetReport(user_id=user_id, categories=categories)


def seller_view(caller: Caller, user_id: str | None = None, limit: int = CARD_ITEMS) -> SellerView:
    """One card per active CRM category: the seller's activities in it, latest first, and their count."""
    seller = user_id or caller.user_id
    _may_read_seller(caller, seller)
    categories = [c for c in admin.crm_settings(caller).categories if c.active]
    latest = {c.code: points.latest_in_category(caller, seller, c.code, limit) for c in categories}
    records = caller.store.get_many(caller.tenant, ACTIVITY, [i for ids in latest.values() for i in ids])
    cards = [
        SellerCard(
            category=c.code,
            label=c.label,
            crm_kind=c.kind,
            crm_type=c.type,
            sales_target=c.sales_target,
            count=points.count_in_category(caller, seller, c.code) if latest[c.code] else 0,
            items=[model_of(records[i], Activity) for i in latest[c.code] if i in records],
        )
        for c in categories
    ]
    return SellerView(user_id=seller, cards=cards)
