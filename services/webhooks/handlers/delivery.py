"""Delivers the webhook messages queued on WebhooksDeliveryQueue, a small batch at a time: read
together, claimed together, each sent in its own thread, recorded together once every answer came
(services/webhooks/delivery.py); each SQS message that failed is reported alone."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.webhooks.delivery import deliver_batch
from services.webhooks.settings import WebhooksSettings
from shared.batch import whole_batch
from shared.entry import entry


@entry(WebhooksSettings)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return whole_batch(event, deliver_batch)
