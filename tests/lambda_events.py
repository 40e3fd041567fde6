"""Event shapes Lambda hands a function, for tests of any layer."""

from __future__ import annotations

import json
import uuid
from typing import Any


def sqs_record(body: Any, queue_arn: str, message_id: str | None = None) -> dict[str, Any]:
    """One record of the SQS event an event source mapping sends."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "eu-north-1",
    }
