"""Webhook messages and their attempts: the records' models and the delivery rules (pure).

A message is one event for one endpoint (id `derived_id(endpoint_id, event_id)`), an attempt one
HTTP request of it. The rules here decide without I/O: which endpoints an event goes to
(`matches`), how a request is signed (`signature`, Standard Webhooks), what an answer means
(`outcome_of`) and when the next attempt is due (`retry_delay`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from shared.types import INPUT, OUTPUT

MESSAGE = "message"
ATTEMPT = "attempt"

# The delay before each attempt (seconds): 8 attempts over ~28 h (issue 20 item 4), each ±20 %.
SCHEDULE: tuple[int, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
JITTER = 0.2
RESPONSE_BODY_KEPT = 4096  # characters of the answer's body an attempt keeps


class WebhookMessageStatus(StrEnum):
    pending = "pending"  # waiting for its next attempt (next_attempt_at)
    sending = "sending"  # an attempt is claimed and under way
    delivered = "delivered"
    failed = "failed"


class WebhookFailReason(StrEnum):
    rejected = "rejected"  # a 4xx other than 410 and 429: the receiver refused it for good
    gone = "gone"  # 410: the endpoint is disabled too
    exhausted = "exhausted"  # every attempt of the schedule failed
    endpoint_disabled = "endpoint_disabled"
    endpoint_deleted = "endpoint_deleted"
    refused_address = "refused_address"  # the outbound guard refused the endpoint's host


class WebhookAttemptError(StrEnum):
    timeout = "timeout"
    connection = "connection"
    refused_address = "refused_address"
    interrupted = "interrupted"  # the deliverer died after its claim: what the request did is unknown


class WebhookAttemptOutcome(StrEnum):
    delivered = "delivered"
    retry = "retry"
    failed = "failed"


class WebhookMessage(BaseModel):
    """One event for one endpoint (kind `message`), as the delivery log shows it."""

    model_config = OUTPUT

    id: str = Field(description="derived_id(endpoint_id, event_id): the `webhook-id` of every attempt")
    endpoint_id: str
    event_id: str
    event_type: str
    status: WebhookMessageStatus
    reason: WebhookFailReason | None = Field(None, description="Why it failed (failed only)")
    attempts: int = Field(0, description="Attempts made so far")
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    created_at: datetime
    delivered_at: datetime | None = None
    payload: dict[str, Any] = Field(description="The request body: the event's envelope as sent")


class WebhookAttempt(BaseModel):
    """One HTTP request of a message (kind `attempt`, id `<message id>.<nn>`)."""

    model_config = OUTPUT

    id: str
    message_id: str
    endpoint_id: str
    number: int = Field(description="1 for the first attempt")
    started_at: datetime
    url: str
    status_code: int | None = Field(None, description="The endpoint's answer; null when none came")
    latency_ms: int = 0
    response_headers: dict[str, str] = Field(default_factory=dict)
    response_body: str = Field("", description="The first 4 KiB of the answer's body")
    error: WebhookAttemptError | None = Field(None, description="Why no answer came")
    outcome: WebhookAttemptOutcome


class WebhookRecoverRequest(BaseModel):
    model_config = INPUT

    since: AwareDatetime = Field(description="Failed messages created at or after this time, with a zone")
    until: AwareDatetime | None = Field(None, description="...and before this time (default: now)")


class WebhookRecovered(BaseModel):
    model_config = OUTPUT

    queued: int = Field(description="Failed messages put back on the delivery queue")
    more: bool = Field(description="More failed messages remain in the range: call again")


def attempt_id(message_id: str, number: int) -> str:
    return f"{message_id}.{number:02d}"


def matches(filters: Sequence[str], event_type: str) -> bool:
    """Whether an endpoint's `event_types` take the type: empty = every type; exact or `<prefix>.*`."""
    if not filters:
        return True
    return any(f == event_type or (f.endswith(".*") and event_type.startswith(f[:-1])) for f in filters)


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed by the secret's bytes after `whsec_`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signatures(secrets: Sequence[str], message_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header: one signature a valid secret, space-separated."""
    return " ".join(signature(s, message_id, timestamp, body) for s in secrets)


def valid_secrets(endpoint: dict[str, object], now: datetime) -> list[str]:
    """The endpoint's secret, and the previous one while its rotation's overlap lasts."""
    found = [str(endpoint["secret"])]
    previous, expires = endpoint.get("previous_secret"), endpoint.get("previous_secret_expires_at")
    if previous and expires and datetime.fromisoformat(str(expires)) > now:
        found.append(str(previous))
    return found


def outcome_of(
    status_code: int | None, error: WebhookAttemptError | None
) -> tuple[WebhookAttemptOutcome, WebhookFailReason | None]:
    """What an answer (or its absence) means: 2xx delivered; 410 gone; 429, 5xx, a timeout or a
    connection error retry; any other answer rejected; a refused address fails at once."""
    if error is WebhookAttemptError.refused_address:
        return WebhookAttemptOutcome.failed, WebhookFailReason.refused_address
    if status_code is None:
        return WebhookAttemptOutcome.retry, None
    if 200 <= status_code < 300:
        return WebhookAttemptOutcome.delivered, None
    if status_code == 410:
        return WebhookAttemptOutcome.failed, WebhookFailReason.gone
    if status_code == 429 or status_code >= 500:
        return WebhookAttemptOutcome.retry, None
    return WebhookAttemptOutcome.failed, WebhookFailReason.rejected


def jittered(message_id: str, number: int) -> float:
    """The schedule's delay before attempt `number` (1-based) of a round, ±JITTER, drawn from a
    generator seeded by the message and the number: the same every time, so tests know its bounds."""
    base = SCHEDULE[number - 1]
    factor = random.Random(f"{message_id}:{number}").uniform(1 - JITTER, 1 + JITTER)
    return base * factor


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A `Retry-After` header's wait in seconds (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, (moment - now).total_seconds())


def retry_delay(message_id: str, number: int, retry_after: float | None) -> float | None:
    """Seconds until attempt `number` (1-based within the round) after a failed one; None: the
    schedule is exhausted. A `Retry-After` is honoured within the schedule's bounds: never sooner
    than the schedule's (jittered) delay, never later than its longest step (10 h)."""
    if number > len(SCHEDULE):
        return None
    delay = jittered(message_id, number)
    if retry_after is not None:
        delay = min(max(delay, retry_after), float(max(SCHEDULE)))
    return delay


def retention(days: int) -> timedelta:
    return timedelta(days=days)
