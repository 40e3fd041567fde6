"""Point rules, activity goals and their report, sales targets, the seller's view."""

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from services.activities import goals, points, sales_targets
from services.activities.domain.goals import (
    GoalReport,
    GoalsSet,
    PeriodKind,
    PointRules,
    SalesTargetReport,
    SalesTargetsSet,
    SellerTargets,
    SellerView,
    YearGoals,
)
from services.activities.handlers.common import caller
from shared.routes import ID_PATTERN, Id, OptIdQuery, no_content

router = APIGatewayHttpRouter()

Year = Annotated[int, Path(ge=2000, le=2100)]
From = Annotated[date, Query(alias="from", description="First day (YYYY-MM-DD); its whole week or month counts")]
To = Annotated[
    date,
    Query(
        alias="to",
        description="Last day (YYYY-MM-DD), inclusive: not before `from`, at most 733 days after it "
        "(else 422 invalid_range, range_too_long)",
    ),
]
CardLimit = Annotated[int, Query(ge=1, le=50, description="Activities per card")]
ReportUser = Annotated[
    str | None, Query(pattern=ID_PATTERN, description="Whose goals (not with group_id: 422 ambiguous); the caller's")
]
ReportGroup = Annotated[
    str | None, Query(pattern=ID_PATTERN, description="A user group's summed goals (not with user_id: 422 ambiguous)")
]


@router.get("/point-rules")
def get_point_rules() -> PointRules:
    return points.point_rules(caller(router, points.POINT_RULES))


@router.put("/point-rules")
def replace_point_rules(body: Annotated[PointRules, Body()]) -> PointRules:
    return points.replace_point_rules(caller(router, points.POINT_RULES), body)


@router.get("/goals/report")
def goal_report(first: From, last: To, user_id: ReportUser = None, group_id: ReportGroup = None) -> GoalReport:
    return goals.report(caller(router), first, last, user_id=user_id, group_id=group_id)


@router.get("/goals/<user_id>/<year>")
def get_goals(user_id: Id, year: Year) -> YearGoals:
    return goals.get_goals(caller(router), user_id, year)


@router.put("/goals/<user_id>/<year>")
def set_goals(user_id: Id, year: Year, body: Annotated[GoalsSet, Body()]) -> YearGoals:
    return goals.set_goals(caller(router), user_id, year, body)


@router.delete("/goals/<user_id>/<year>")
def delete_goals(user_id: Id, year: Year) -> Response[None]:
    goals.delete_goals(caller(router), user_id, year)
    return no_content()


@router.get("/sales-targets/<user_id>")
def get_sales_targets(user_id: Id) -> SellerTargets:
    return sales_targets.get_targets(caller(router), user_id)


@router.put("/sales-targets/<user_id>")
def set_sales_targets(user_id: Id, body: Annotated[SalesTargetsSet, Body()]) -> SellerTargets:
    return sales_targets.set_targets(caller(router), user_id, body)


@router.get("/sales-targets/<user_id>/report")
def sales_target_report(
    user_id: Id, first: From, last: To, period: Annotated[PeriodKind | None, Query()] = None
) -> SalesTargetReport:
    return sales_targets.target_report(caller(router), user_id, first, last, period)


@router.get("/seller-view")
def seller_view(user_id: OptIdQuery = None, limit: CardLimit = sales_targets.CARD_ITEMS) -> SellerView:
    return sales_targets.seller_view(caller(router), user_id, limit)
