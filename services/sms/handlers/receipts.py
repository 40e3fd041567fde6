"""Records the provider's delivery receipts from the SMS receipts queue, a batch at a time: one
read for the batch's messages and their changes committed together (services/sms/receipts.py),
then each SQS message that failed is reported alone so the queue retries only it."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.sms.receipts import apply_batch
from services.sms.settings import SmsSettings
from shared.batch import whole_batch
from shared.entry import entry


@entry(SmsSettings)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return whole_batch(event, apply_batch)
