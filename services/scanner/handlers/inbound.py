"""Processes the raw mail the mail bucket's notifications queue (services/scanner/inbound.py), one
S3 notification per SQS message, reporting each that failed alone so the queue retries only it."""

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.scanner.inbound import receive
from services.scanner.settings import ScannerSettings
from shared import batch_scope
from shared.batch import SQSRecord, partial_response
from shared.entry import entry


def _receive(record: SQSRecord) -> None:
    body = json.loads(record.body)
    if body.get("Event") == "s3:TestEvent":  # S3 sends one when the notification is configured
        return
    for notification in body.get("Records") or []:  # an S3 event notification, read as a dict
        receive(notification["s3"]["bucket"]["name"], unquote_plus(notification["s3"]["object"]["key"]))


@entry(ScannerSettings)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with batch_scope.batch():  # a batch reads each mailbox, its tenant's setup and its rules once
        return partial_response(event, _receive)
