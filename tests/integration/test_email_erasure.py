"""Email erasure's edges in-process against the emulator (services/email/erasure.py): an SES report
that comes after the recipient's erasure is recorded without the person (the address is still
suppressed), and a mail claimed by a sender that died, erased meanwhile, is not sent again."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from shared.ids import derived_id, new_id
from tests.integration.conftest import sqs_event
from tests.integration.test_email_feedback_batch import QUEUE_ARN, _bounce, _messages, _stored, feedback  # noqa: F401
from tests.integration.test_email_sender import _setup, sender  # noqa: F401

ADDRESS = "erased@example.com"


def test_a_late_bounce_of_an_erased_mail_keeps_no_address_but_suppresses_it(feedback: Any) -> None:  # noqa: F811
    from services.email.handlers.feedback import handler
    from shared import clock

    tenant = f"t-{new_id()}"
    erased = {"status": "sent", "to": "", "subject": None, "text": None, "erased_at": clock.iso(clock.now())}
    _, [message_id] = _setup(tenant, 1, "sent", {0: erased})
    assert handler(sqs_event([_bounce(tenant, message_id, ADDRESS, "Permanent")], QUEUE_ARN), feedback) == {
        "batchItemFailures": []
    }
    [message] = _messages(tenant, [message_id])
    assert message["delivery"] == "bounced" and message["bounced_at"]
    assert [r.get("recipient") for r in message["feedback"]] == [""]
    report = _stored(tenant, "feedback", derived_id(message_id, "bounced", ADDRESS))
    assert report is not None and report["recipient"] == ""
    assert (_stored(tenant, "suppression", derived_id(ADDRESS)) or {}).get("address") == ADDRESS


def test_an_erased_mail_claimed_by_a_dead_sender_is_skipped_not_sent_again(
    sender: Any,  # noqa: F811
    aws_calls: Counter[str],
) -> None:
    from services.email import sending, stats
    from shared import clock

    tenant = f"t-{new_id()}"
    old = clock.iso(clock.now() - sending.proof_window() - timedelta(seconds=1))
    claimed = {"status": "sending", "claimed_at": old, "attempts": 1, "erased_at": clock.iso(clock.now())}
    campaign_id, [message_id] = _setup(tenant, 1, "sending", {0: claimed})
    aws_calls.clear()
    assert sending.send_batch([{"tenant_id": tenant, "message_id": message_id, "campaign_id": campaign_id}]) == [None]
    assert "SendEmail" not in aws_calls
    [message] = _messages(tenant, [message_id])
    assert (message["status"], message["error"]) == ("skipped", "The recipient's data was erased.")
    assert stats.read_counts(tenant, campaign_id)["skipped"] == 1
