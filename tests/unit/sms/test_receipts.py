"""A provider event is read as a receipt of one of our messages only with our context; its type
says whether it is a delivery, a failure (with the provider's reason) or only in progress."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.sms.domain.receipts import Outcome, read_receipt

DETAIL = {
    "eventType": "TEXT_DELIVERED",
    "eventTimestamp": 1764936000500,
    "messageId": "provider-1",
    "messageRequestTimestamp": 1764936000000,
    "messageStatus": "DELIVERED",
    "messageStatusDescription": "Message has been delivered to the handset",
    "context": {"tenant_id": "t1", "message_id": "M1"},
}


@pytest.mark.parametrize(
    ("event_type", "outcome"),
    [
        ("TEXT_DELIVERED", Outcome.delivered),
        ("TEXT_SUCCESSFUL", Outcome.accepted),
        ("TEXT_PENDING", Outcome.accepted),
        ("TEXT_QUEUED", Outcome.accepted),
        ("TEXT_UNREACHABLE", Outcome.failed),
        ("TEXT_CARRIER_UNREACHABLE", Outcome.failed),
        ("TEXT_BLOCKED", Outcome.failed),
        ("TEXT_INVALID", Outcome.failed),
        ("TEXT_SPAM", Outcome.failed),
        ("TEXT_TTL_EXPIRED", Outcome.failed),
        ("TEXT_UNKNOWN", Outcome.failed),
    ],
)
def test_the_event_type_decides_the_outcome(event_type: str, outcome: Outcome) -> None:
    receipt = read_receipt({**DETAIL, "eventType": event_type})
    assert receipt is not None and receipt.outcome == outcome


def test_a_receipt_names_our_message_and_the_providers_times_and_reason() -> None:
    receipt = read_receipt({**DETAIL, "eventType": "TEXT_BLOCKED", "messageStatusDescription": "Blocked by carrier"})
    assert receipt is not None
    assert (receipt.tenant_id, receipt.message_id, receipt.provider_message_id) == ("t1", "M1", "provider-1")
    assert receipt.reason == "Blocked by carrier"
    assert receipt.at == datetime(2025, 12, 5, 12, 0, 0, 500000, tzinfo=UTC)
    assert receipt.requested_at == datetime(2025, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "detail",
    [
        {**DETAIL, "context": {}},
        {**DETAIL, "context": {"account": "bar"}},
        {**DETAIL, "context": {"tenant_id": "t1"}},
        {**DETAIL, "context": None},
        {key: value for key, value in DETAIL.items() if key != "context"},
        {**DETAIL, "eventType": "VOICE_COMPLETED"},
        {**DETAIL, "eventType": ""},
    ],
)
def test_an_event_without_our_context_or_not_a_text_is_no_receipt(detail: dict[str, object]) -> None:
    assert read_receipt(detail) is None
