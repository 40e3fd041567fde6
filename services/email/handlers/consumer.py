"""Consumes the events routed to the email service (send requests, directory changes)."""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.email import features  # noqa: F401  (registers every subscription)
from services.email.settings import EmailSettings
from services.email.subscriptions import handlers
from shared.consumer import consume
from shared.observability import logger, metrics, tracer
from shared.settings import load
from shared.store import bind_table

CONSUMER = "email"


@cache
def _cold_start() -> None:
    bind_table(load(EmailSettings).table_name)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _cold_start()
    return consume(event, context, CONSUMER, handlers())
