"""Handles the inbound SMS on SmsInboundQueue (services/sms/inbound.py), reporting each SQS message
that failed alone so the queue retries only it."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.sms.inbound import receive
from services.sms.settings import SmsSettings
from shared.batch import SQSRecord, partial_response
from shared.entry import entry


def _receive(record: SQSRecord) -> None:
    receive(record.body)


@entry(SmsSettings)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return partial_response(event, _receive)
