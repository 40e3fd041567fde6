"""The webhooks delivery rules (services/webhooks/domain/messages.py) and the transport's refusal,
without I/O: what an answer means, when the next attempt is due, and that Standard Webhooks'
reference library accepts our signatures."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.webhooks import transport
from services.webhooks.domain.messages import (
    SCHEDULE,
    WebhookAttemptError,
    WebhookAttemptOutcome,
    WebhookFailReason,
    jittered,
    matches,
    outcome_of,
    retry_after_seconds,
    retry_delay,
    signatures,
    valid_secrets,
)
from shared import outbound

pytestmark = pytest.mark.disable_socket

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OLD = "whsec_" + base64.b64encode(b"o" * 32).decode()
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_the_reference_library_accepts_each_secret_of_a_rotation() -> None:
    body = '{"id":"E1","type":"contact.created"}'
    stamp = int(datetime.now(UTC).timestamp())
    header = signatures([SECRET, OLD], "msg_1", stamp, body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(stamp), "webhook-signature": header}
    assert Webhook(SECRET).verify(body, headers) == Webhook(OLD).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body + " ", headers)


def test_the_previous_secret_signs_only_while_its_overlap_lasts() -> None:
    endpoint = {
        "secret": SECRET,
        "previous_secret": OLD,
        "previous_secret_expires_at": (NOW + timedelta(hours=1)).isoformat(),
    }
    assert valid_secrets(endpoint, NOW) == [SECRET, OLD]
    assert valid_secrets(endpoint, NOW + timedelta(hours=2)) == [SECRET]
    assert valid_secrets({"secret": SECRET}, NOW) == [SECRET]


@pytest.mark.parametrize(
    ("filters", "event_type", "taken"),
    [
        ([], "contact.created", True),
        (["contact.*"], "contact.created", True),
        (["contact.*"], "contact_order.created", False),
        (["email.sent"], "email.sent", True),
        (["email.sent"], "email.sent_x", False),
    ],
)
def test_a_filter_takes_exact_types_and_prefix_wildcards(filters: list[str], event_type: str, taken: bool) -> None:
    assert matches(filters, event_type) is taken


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (200, None, (WebhookAttemptOutcome.delivered, None)),
        (204, None, (WebhookAttemptOutcome.delivered, None)),
        (301, None, (WebhookAttemptOutcome.failed, WebhookFailReason.rejected)),  # no redirect is followed
        (400, None, (WebhookAttemptOutcome.failed, WebhookFailReason.rejected)),
        (410, None, (WebhookAttemptOutcome.failed, WebhookFailReason.gone)),
        (429, None, (WebhookAttemptOutcome.retry, None)),
        (503, None, (WebhookAttemptOutcome.retry, None)),
        (None, WebhookAttemptError.timeout, (WebhookAttemptOutcome.retry, None)),
        (None, WebhookAttemptError.connection, (WebhookAttemptOutcome.retry, None)),
        (None, WebhookAttemptError.refused_address, (WebhookAttemptOutcome.failed, WebhookFailReason.refused_address)),
    ],
)
def test_what_an_answer_means(
    status: int | None, error: WebhookAttemptError | None, expected: tuple[object, object]
) -> None:
    assert outcome_of(status, error) == expected


def test_the_jitter_is_within_20_percent_and_the_same_every_time() -> None:
    for number, base in enumerate(SCHEDULE, start=1):
        delays = {jittered(f"m{n}", number) for n in range(50)}
        assert all(base * 0.8 <= d <= base * 1.2 for d in delays)
        assert jittered("m1", number) == jittered("m1", number)
        if base:
            assert len(delays) > 40  # spread, not one value
    assert retry_delay("m1", len(SCHEDULE) + 1, None) is None  # the schedule's end


def test_retry_after_is_honoured_within_the_schedules_bounds() -> None:
    scheduled = jittered("m1", 3)  # ~5 min
    assert retry_delay("m1", 3, 2.0) == scheduled  # never sooner than the schedule
    assert retry_delay("m1", 3, 3600.0) == 3600.0  # later when asked
    assert retry_delay("m1", 3, 10 * 86400.0) == 36000.0  # never past the longest step (10 h)
    assert retry_after_seconds("120", NOW) == 120.0
    assert retry_after_seconds(format_datetime(NOW + timedelta(minutes=10), usegmt=True), NOW) == 600.0
    assert retry_after_seconds("soon", NOW) is None and retry_after_seconds(None, NOW) is None


@pytest.mark.parametrize("address", ["10.0.0.5", "169.254.169.254", "192.168.1.1", "100.64.0.1", "fd00:ec2::254"])
def test_a_refused_address_is_never_connected_to(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    # sockets are disabled in this module: a connection attempt would fail the test with SocketBlockedError
    monkeypatch.setattr(outbound, "resolve", lambda host: [address])
    monkeypatch.delenv(outbound.ALLOW_ENV, raising=False)
    answer = transport.post("https://hooks.example.com/in", "{}", {"content-type": "application/json"})
    assert (answer.error, answer.status_code) == (WebhookAttemptError.refused_address, None)
