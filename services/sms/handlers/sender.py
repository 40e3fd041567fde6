"""Sends the messages queued on the SMS send queue, a batch of up to 10 at a time: the batch is
read, claimed, sent and settled together (services/sms/sending.py), then each SQS message that
failed is reported alone so the queue retries only it.

The account's send rate may make messages wait (shared/send_rate.py); the wait ends
SEND_RESERVE_SECONDS before the function's timeout, and the messages still waiting are given
back to the queue unclaimed rather than killed mid-wait."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.sms.sending import send_batch
from services.sms.settings import SmsSettings
from shared import clock
from shared.batch import whole_batch
from shared.entry import entry

SEND_RESERVE_SECONDS = 10.0  # after the wait: the claim, up to ten SendTextMessage calls, the settlement


def deadline(context: Any) -> float | None:
    """The moment (epoch seconds) the batch stops waiting for the send rate."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return clock.epoch() + remaining() / 1000 - SEND_RESERVE_SECONDS if callable(remaining) else None


@entry(SmsSettings)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return whole_batch(event, lambda bodies: send_batch(bodies, deadline(context)))
