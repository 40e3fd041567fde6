"""Sends the messages queued on the SMS send queue (services/sms/sending.py), reporting each SQS
message that failed alone so the queue retries only it."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.sms.sending import send_queued
from services.sms.settings import SmsSettings
from shared.entry import entry


def _send(record: SQSRecord) -> None:
    send_queued(record.body)


@entry(SmsSettings)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    processor = BatchProcessor(event_type=EventType.SQS)
    return dict(process_partial_response(event=event, record_handler=_send, processor=processor, context=context))
