"""Records the provider's delivery receipts from the SMS receipts queue (services/sms/receipts.py),
reporting each SQS message that failed alone so the queue retries only it."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.sms.receipts import handle
from services.sms.settings import SmsSettings
from shared.batch import SQSRecord, partial_response
from shared.entry import entry


def _receipt(record: SQSRecord) -> None:
    handle(record.body)


@entry(SmsSettings)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return partial_response(event, _receipt)
