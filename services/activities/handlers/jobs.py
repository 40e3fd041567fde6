"""Runs the jobs that schedules put on the activities jobs queue (reminder sweeps, scheduled mass activities)."""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.activities import features  # noqa: F401  (registers every hook, subscription and job)
from services.activities.settings import ActivitiesSettings
from services.activities.subscriptions import run_job
from shared.batch import run_jobs
from shared.observability import logger, metrics, tracer
from shared.settings import load
from shared.store import bind_table


@cache
def _cold_start() -> None:
    bind_table(load(ActivitiesSettings).table_name)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _cold_start()
    return run_jobs(event, context, run_job)
