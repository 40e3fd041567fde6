"""Writes every Kontakt event routed to the audit service (template.yaml's AuditEventsRule) as an
audit record, a whole SQS batch at once (`trail.record_batch`: the event id keys the record, so a
redelivered event writes nothing; not the kernel's per-event dedupe markers, which would double
the writes of a sink that takes every event)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.audit.settings import AuditSettings
from services.audit.trail import record_batch
from shared.batch import whole_batch
from shared.entry import entry


@entry(AuditSettings)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return whole_batch(event, record_batch)
