"""Sends the mails queued on the send queue, a batch of up to 10 at a time, with partial batch
failures: the batch is read, claimed, sent and recorded together (services/email/sending.py),
then each SQS message that failed is reported alone so the queue retries only it.

The account's send rate may make a batch wait (services/email/ratelimit.py); the wait ends
SEND_RESERVE_SECONDS before the function's timeout, and the mails still waiting are given back to
the queue rather than killed mid-wait (the timeout would leave them claimed, retried only after
the proof window)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.email.sending import send_batch
from services.email.settings import EmailSettings
from shared import clock
from shared.batch import whole_batch
from shared.entry import entry

SEND_RESERVE_SECONDS = 20.0  # after the wait: read attachments, ten SES calls, the record transaction


def deadline(context: Any) -> float | None:
    """The moment (epoch seconds) the batch stops waiting for the send rate."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return clock.epoch() + remaining() / 1000 - SEND_RESERVE_SECONDS if callable(remaining) else None


@entry(EmailSettings)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return whole_batch(event, lambda bodies: send_batch(bodies, deadline(context)))
