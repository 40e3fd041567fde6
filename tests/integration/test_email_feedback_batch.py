"""The feedback function's SQS batch against the emulator, in-process: the reports of one batch
commit in one transaction (their campaign counts as additions), each report once, and a batch
that cannot go together goes report by report with the same outcome (issue 18)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.ids import derived_id, new_id
from tests.integration.conftest import sqs_event
from tests.integration.test_email_sender import _setup

QUEUE_ARN = "arn:aws:sqs:eu-north-1:123456789012:kontakt-it-email-feedback"


@pytest.fixture
def feedback(lambda_env: Any) -> Any:
    """The feedback function's environment and context."""
    return lambda_env("EmailFeedbackFunction")


def _ses(tenant: str, message_id: str, to: str, event_type: str, **section: Any) -> dict[str, Any]:
    """An SES event as the feedback queue's rule delivers it (the mail tagged as the sender tags it)."""
    detail = {
        "eventType": event_type,
        "mail": {
            "timestamp": datetime.now(UTC).isoformat(),
            "messageId": f"ses-{message_id}",
            "destination": [to],
            "headers": [{"name": "Message-ID", "value": f"<{message_id}@kontakt>"}],
            "tags": {"tenant": [tenant], "message": [message_id]},
        },
        **section,
    }
    return {"source": "aws.ses", "detail-type": event_type, "detail": detail}


def _delivery(tenant: str, message_id: str, to: str) -> dict[str, Any]:
    return _ses(tenant, message_id, to, "Delivery", delivery={"recipients": [to], "timestamp": "2026-11-24T10:00:00Z"})


def _send(tenant: str, message_id: str, to: str) -> dict[str, Any]:
    return _ses(tenant, message_id, to, "Send", send={"timestamp": "2026-11-24T09:59:59Z"})


def _bounce(tenant: str, message_id: str, to: str, kind: str) -> dict[str, Any]:
    bounce = {"bounceType": kind, "bouncedRecipients": [{"emailAddress": to}], "timestamp": "2026-11-24T10:00:00Z"}
    return _ses(tenant, message_id, to, "Bounce", bounce=bounce)


def _messages(tenant: str, ids: list[str]) -> list[dict[str, Any]]:
    from services.email.service import service_caller

    records = service_caller(tenant).store.get_many(tenant, "message", ids)
    return [records[i].data for i in ids]


def _stored(tenant: str, kind: str, record_id: str) -> dict[str, Any] | None:
    from services.email.service import service_caller

    record = service_caller(tenant).store.get(tenant, kind, record_id)
    return record.data if record is not None else None


def test_a_batch_of_reports_is_one_read_and_one_transaction(feedback: Any, aws_calls: Counter[str]) -> None:
    from services.email import stats
    from services.email.handlers.feedback import handler

    tenant = f"t-{new_id()}"
    sent = {i: {"status": "sent"} for i in range(6)}
    campaign_id, [first, *ids] = _setup(tenant, 6, "sending", sent)
    # A first report: the function reads the tenant's setup once (per process and tenant).
    assert handler(sqs_event([_delivery(tenant, first, "first@example.com")], QUEUE_ARN), feedback) == {
        "batchItemFailures": []
    }
    to = [f"r{i}@example.com" for i in range(5)]
    bodies = [body for i, m in enumerate(ids) for body in (_send(tenant, m, to[i]), _delivery(tenant, m, to[i]))]

    aws_calls.clear()
    assert handler(sqs_event(bodies, QUEUE_ARN), feedback) == {"batchItemFailures": []}
    # Five proofs of mails recorded already and five deliveries: one read, one transaction.
    assert dict(aws_calls) == {"BatchGetItem": 1, "TransactWriteItems": 1}
    assert [m["delivery"] for m in _messages(tenant, ids)] == ["delivered"] * 5
    assert stats.read_counts(tenant, campaign_id)["delivered"] == 6

    # The same batch again (a redelivery): nothing changes, nothing is counted twice.
    aws_calls.clear()
    assert handler(sqs_event(bodies, QUEUE_ARN), feedback) == {"batchItemFailures": []}
    assert "TransactWriteItems" not in aws_calls
    assert [len(m["feedback"]) for m in _messages(tenant, ids)] == [1] * 5
    assert stats.read_counts(tenant, campaign_id)["delivered"] == 6


def test_proofs_of_mails_still_being_sent_are_kept_in_the_batchs_transaction(
    feedback: Any, aws_calls: Counter[str]
) -> None:
    """A Send proof that arrives while its mail's sender may still be recording it (claimed less
    than the sender's timeout ago) does not settle the mail: it is kept, in the batch's one
    transaction; the sender's redelivery (had it died) settles the mail from it, without SES."""
    from services.email import proofs, sending, stats
    from services.email.handlers.feedback import handler
    from shared import clock

    tenant = f"t-{new_id()}"
    claimed = {"status": "sending", "claimed_at": clock.iso(clock.now()), "attempts": 1}
    campaign_id, [first, *ids] = _setup(tenant, 6, "sending", {i: claimed for i in range(6)})
    assert handler(sqs_event([_delivery(tenant, first, "r0@example.com")], QUEUE_ARN), feedback) == {
        "batchItemFailures": []
    }  # the tenant's setup, read once per process
    to = [f"r{i + 1}@example.com" for i in range(5)]
    bodies = [body for i, m in enumerate(ids) for body in (_send(tenant, m, to[i]), _delivery(tenant, m, to[i]))]

    aws_calls.clear()
    assert handler(sqs_event(bodies, QUEUE_ARN), feedback) == {"batchItemFailures": []}
    assert dict(aws_calls) == {"BatchGetItem": 1, "TransactWriteItems": 1}  # 6 transactions when proofs settle
    assert [(m["status"], m["delivery"]) for m in _messages(tenant, ids)] == [("sending", "delivered")] * 5
    assert [p.ses_message_id if (p := proofs.get(m)) else None for m in ids] == [f"ses-{m}" for m in ids]
    assert stats.read_counts(tenant, campaign_id)["sent"] == 0

    # The sender died before recording: its queue messages come back and the kept proofs settle them.
    assert (
        sending.send_batch([{"tenant_id": tenant, "message_id": m, "campaign_id": campaign_id} for m in ids])
        == [None] * 5
    )
    assert "SendEmail" not in aws_calls
    assert [(m["status"], m["ses_message_id"]) for m in _messages(tenant, ids)] == [("sent", f"ses-{m}") for m in ids]
    assert [m["delivery"] for m in _messages(tenant, ids)] == ["delivered"] * 5  # the reports stay
    assert stats.read_counts(tenant, campaign_id)["sent"] == 5


def test_reports_that_cannot_go_together_are_each_recorded_once(feedback: Any, aws_calls: Counter[str]) -> None:
    from services.email import stats
    from services.email.handlers.feedback import handler

    tenant = f"t-{new_id()}"
    sent = {i: {"status": "sent"} for i in range(4)}
    campaign_id, ids = _setup(tenant, 4, "sending", sent)
    anna, ben = "anna@example.com", "ben@example.com"
    bodies = [
        _delivery(tenant, ids[0], anna),
        _delivery(tenant, ids[0], anna),  # the same report twice in one batch
        _bounce(tenant, ids[1], ben, "Transient"),  # two reports about one address
        _bounce(tenant, ids[2], ben, "Permanent"),
        _delivery(tenant, ids[3], "cecilia@example.com"),
        _bounce(tenant, ids[3], "cecilia@example.com", "Transient"),  # a second report about one message
    ]
    aws_calls.clear()
    assert handler(sqs_event(bodies, QUEUE_ARN), feedback) == {"batchItemFailures": []}
    assert aws_calls["TransactWriteItems"] < len(bodies)  # some went together

    messages = _messages(tenant, ids)
    assert [[r["kind"] for r in m["feedback"]] for m in messages] == [
        ["delivered"],
        ["bounced"],
        ["bounced"],
        ["delivered", "bounced"],
    ]
    counts = stats.read_counts(tenant, campaign_id)
    assert (counts["delivered"], counts["bounced"]) == (2, 3)
    assert (_stored(tenant, "soft_bounces", derived_id(ben)) or {}).get("count") == 1
    assert (_stored(tenant, "suppression", derived_id(ben)) or {}).get("reason") == "hard_bounce"
    assert (_stored(tenant, "soft_bounces", derived_id("cecilia@example.com")) or {}).get("count") == 1
