"""The delivery log a client reads: an endpoint's messages, each message's attempts, and replay."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from shared.types import INPUT, OUTPUT


class MessageStatus(StrEnum):
    pending = "pending"  # waiting for its next attempt (queued, or held for a later one)
    sending = "sending"  # an attempt is under way
    delivered = "delivered"
    failed = "failed"


class WebhookMessage(BaseModel):
    """One event for one endpoint: every attempt carries its id as `webhook-id`."""

    model_config = OUTPUT

    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: MessageStatus
    reason: str | None = Field(
        None,
        description="Why it failed: rejected (a 4xx), gone (410), exhausted (every attempt failed), "
        "endpoint_disabled, endpoint_deleted, refused_address (the outbound guard)",
    )
    attempts: int = Field(0, description="Attempts made so far")
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    created_at: datetime
    delivered_at: datetime | None = None
    payload: dict[str, Any] = Field(description="The request body: the event envelope as sent")


class WebhookAttempt(BaseModel):
    model_config = OUTPUT

    id: str
    message_id: str
    number: int = Field(description="1 for the first attempt")
    started_at: datetime
    url: str
    status_code: int | None = Field(None, description="The endpoint's answer; null when none came")
    latency_ms: int | None = None
    response_headers: dict[str, str] = {}
    response_body: str = Field("", description="The first 4 KiB of the answer's body")
    error: str | None = Field(None, description="timeout, connection, refused_address or interrupted")
    outcome: str = Field(description="delivered, retry or failed")


class RecoverRequest(BaseModel):
    model_config = INPUT

    since: AwareDatetime = Field(description="Failed messages created at or after this time, with a zone")
    until: AwareDatetime | None = Field(None, description="...and before this time (default: now)")


class Recovered(BaseModel):
    model_config = OUTPUT

    queued: int = Field(description="Failed messages put back on the delivery queue")
    more: bool = Field(description="More failed messages remain in the range: call again")
