"""The one way a Kontakt Lambda function is entered: Powertools' logger, tracer and metrics around
the handler, and the cold-start work (the service table bound once per process) before it runs.

A handler module names what it serves and nothing else:

    handler = consumer_entry(EmailSettings, "email", handlers)     # a service's event queue
    handler = jobs_entry(EmailSettings, run_job)                    # a service's jobs queue
    handler = bodies_entry(EmailSettings, handle_event)            # any other queue of JSON bodies

    @entry(EmailSettings, http=True)                                # an HTTP API, or any other event
    def handler(event, context): ...

SQS handlers report partial batch failures (only the failed messages go back to the queue);
consumers apply each event once (shared/consumer.py).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import init_done
from shared.conventions import request_id
from shared.events import Origin, requesting
from shared.observability import logger, metrics, tracer
from shared.settings import TableSettings, load

if TYPE_CHECKING:
    from shared.consumer import Handle

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


@functools.cache
def cold_start(settings: type[TableSettings]) -> None:
    """Once per process: read the function's settings and point every model at its table."""
    from shared.store import bind_table  # imported here: the publisher, which owns no table, loads no pynamodb

    bind_table(load(settings).table_name)


def entry(
    settings: type[TableSettings] | None = None, *, http: bool = False, traced: bool = True, metered: bool = True
) -> Callable[[Handler], Handler]:
    """Decorate a function's handler.

    `settings`: the function owns this service table (bound at the first call); None when it
    owns none. `http`: the event is an API Gateway HTTP API request (its request id, the client's
    valid `X-Request-Id` or API Gateway's, is the log's correlation id: `shared.conventions`).
    `traced` / `metered`: X-Ray subsegment and flushed CloudWatch metrics (the
    Cognito triggers and the outbox publisher go without one or both).
    """

    def decorate(handle: Handler) -> Handler:
        @functools.wraps(handle)
        def started(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            init_done()  # the garbage collector resumes, the init's objects frozen (shared/__init__.py)
            if settings is not None:
                cold_start(settings)
            if http:  # the id the answer's X-Request-Id carries (the client's own, when valid)
                logger.set_correlation_id(request_id(event))
                with requesting(origin_of(event)):  # the events the request makes carry its origin
                    return handle(event, context)
            return handle(event, context)

        wrapped: Handler = started
        if metered:
            wrapped = _metered(wrapped)
        if traced:  # the X-Ray SDK is loaded here, at import of a traced handler, and only then
            wrapped = tracer().capture_lambda_handler(wrapped)
        return logger.inject_lambda_context(wrapped)

    return decorate


def origin_of(event: Mapping[str, Any]) -> Origin:
    """Where an HTTP API request came from: its id, the client's address and user agent as API
    Gateway saw them (`requestContext.http`), for the events it makes (the audit trail)."""
    seen = (event.get("requestContext") or {}).get("http") or {}
    agent = str(seen.get("userAgent") or "")[:256]
    return Origin(request_id=request_id(event)[:128], ip=seen.get("sourceIp") or None, user_agent=agent or None)


def _metered(handle: Handler) -> Handler:
    """Publish the invocation's metrics when it added some, as Powertools' `log_metrics` does, and
    nothing otherwise: `log_metrics` then warns "No application metrics to publish" on every
    invocation that added none (most API calls), in the function's log and on `kontakt dev`'s console."""

    @functools.wraps(handle)
    def published(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            return handle(event, context)
        finally:
            if metrics.metric_set:
                metrics.flush_metrics()

    return published


def consumer_entry(
    settings: type[TableSettings],
    consumer: str,
    handlers: Mapping[str, Handle] | Callable[[Collection[str]], Mapping[str, Handle]],
) -> Handler:
    """A service's event queue: each bus event routed by type and applied once as `consumer`.

    `handlers`: the routes, or what gives the routes of a batch's event types (a service's
    `Subscriptions.handlers`, which imports only the feature modules of those types)."""
    from shared.consumer import consume  # imported here: the publisher loads no queue machinery

    @entry(settings)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        routes = handlers if isinstance(handlers, Mapping) else handlers(event_types(event))
        return consume(event, context, consumer, dict(routes))

    return handler


def event_types(event: Mapping[str, Any]) -> set[str]:
    """The bus event types in an SQS batch (a message that is not a bus event names none)."""
    types = set()
    for record in event.get("Records") or []:
        try:
            detail = json.loads(record["body"])["detail"]
        except (KeyError, TypeError, ValueError):
            continue
        if isinstance(detail, dict) and isinstance(detail.get("type"), str):
            types |= {detail["type"]}
    return types


def jobs_entry(settings: type[TableSettings], run_job: Callable[[dict[str, Any]], None]) -> Handler:
    """A service's jobs queue (messages from its schedules), each job logged under its name."""
    from shared.batch import run_jobs

    @entry(settings)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return run_jobs(event, context, run_job)

    return handler


def bodies_entry(settings: type[TableSettings], handle: Callable[[dict[str, Any]], None]) -> Handler:
    """Any other queue: each message's JSON body to `handle`, a message that fails retried alone."""
    from shared.batch import each_body

    @entry(settings)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return each_body(event, context, handle)

    return handler
