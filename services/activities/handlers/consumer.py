"""Consumes the events routed to the activities service (directory changes, audience pages, messages sent)."""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.activities import features  # noqa: F401  (registers every hook, subscription and job)
from services.activities.settings import ActivitiesSettings
from services.activities.subscriptions import handlers
from shared.consumer import consume
from shared.observability import logger, metrics, tracer
from shared.settings import load
from shared.store import bind_table

CONSUMER = "activities"


@cache
def _cold_start() -> None:
    bind_table(load(ActivitiesSettings).table_name)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _cold_start()
    return consume(event, context, CONSUMER, handlers())
