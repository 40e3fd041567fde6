"""Runs the jobs that schedules put on the email jobs queue (scheduled campaigns, automatic emails)."""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.email import features  # noqa: F401  (registers every hook, subscription and job)
from services.email.settings import EmailSettings
from services.email.subscriptions import run_job
from shared.batch import run_jobs
from shared.observability import logger, metrics, tracer
from shared.settings import load
from shared.store import bind_table


@cache
def _cold_start() -> None:
    bind_table(load(EmailSettings).table_name)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _cold_start()
    return run_jobs(event, context, run_job)
