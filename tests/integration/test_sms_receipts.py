"""The SMS receipts function against the emulator, in-process: a batch of the provider's delivery
receipts (two a message: TEXT_SUCCESSFUL then TEXT_DELIVERED) costs one BatchGetItem for its
messages and one transaction for their changes, whether the sender recorded the messages ("sent")
or died before it ("sending": the receipts settle them, charge and `sms.sent` included); a message
that moved between the read and the write is left out alone and decided again, a malformed queue
message fails alone."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from infra.emulator import Emulator
from services.sms.domain.receipts import DETAIL_TYPE, SOURCE
from shared.ids import new_id
from tests.integration.conftest import sqs_event
from tests.integration.test_sms_sender import QUEUE_ARN, bodies, message, queued
from tests.kernel_clock import KernelClock
from tests.lambda_events import sqs_record

RECEIPTS_ARN = "arn:aws:sqs:eu-north-1:123456789012:kontakt-it-sms-receipts"


@pytest.fixture
def sent(lambda_env: Any, aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sends `tenant`'s queued messages with the sender function; returns a function doing it."""
    monkeypatch.setenv("MAX_SMS_RATE", "100")

    def send(tenant: str, ids: list[str]) -> None:
        from services.sms import sending
        from services.sms.handlers.sender import handler

        sending._sms.cache_clear()
        assert handler(sqs_event(bodies(tenant, ids), QUEUE_ARN), lambda_env("SmsSenderFunction")) == {
            "batchItemFailures": []
        }

    return send


@pytest.fixture
def receipts(lambda_env: Any, aws: Emulator) -> Any:
    """The receipts function's environment; returns its context."""
    return lambda_env("SmsReceiptsFunction")


def event(tenant: str, message_id: str, event_type: str, provider_id: str, epoch_ms: int) -> dict[str, Any]:
    """An End User Messaging SMS event as the receipts rule queues it."""
    final = event_type != "TEXT_SUCCESSFUL"
    detail = {
        "eventType": event_type,
        "eventTimestamp": epoch_ms,
        "isFinal": final,
        "messageId": provider_id,
        "messageRequestTimestamp": epoch_ms - 1000,
        "messageStatus": event_type.removeprefix("TEXT_"),
        "messageStatusDescription": "Message has been delivered to the handset" if final else "Accepted",
        "context": {"tenant_id": tenant, "message_id": message_id},
    }
    return {"version": "0", "id": new_id(), "detail-type": DETAIL_TYPE, "source": SOURCE, "detail": detail}


def two_receipts_each(tenant: str, ids: list[str], epoch_ms: int) -> list[dict[str, Any]]:
    """Every message's TEXT_SUCCESSFUL, then every message's TEXT_DELIVERED (as the provider sends them)."""
    providers = {m: str(message(tenant, m).get("provider_message_id") or f"p-{m}") for m in ids}
    return [
        event(tenant, m, event_type, providers[m], epoch_ms + offset)
        for offset, event_type in ((0, "TEXT_SUCCESSFUL"), (500, "TEXT_DELIVERED"))
        for m in ids
    ]


def delivered_once(tenant: str, ids: list[str], all_ids: list[str] | None = None) -> None:
    """What a client and an operator see: each message delivered, out of the sweep, charged once
    (`charged_once`: all the tenant's messages, `all_ids`), one `sms.sent` and one `sms.delivered`."""
    from shared.ids import derived_id
    from shared.store import OutboxItem

    for message_id in ids:
        record = message(tenant, message_id)
        assert (record["status"], record["in_sweep"], bool(record["delivered_at"])) == ("delivered", False, True)
        assert OutboxItem.count(f"OUTBOX#{derived_id('sms.sent', message_id)}") == 1
        assert OutboxItem.count(f"OUTBOX#{derived_id('sms.delivered', message_id)}") == 1
    charged_once(tenant, all_ids or ids)


def charged_once(tenant: str, ids: list[str]) -> None:
    """Each of the tenant's messages charged once: one ledger charge each, the balance's `charged`."""
    from services.sms import credits
    from services.sms.service import service_caller

    caller = service_caller(tenant, open_tenant=False)
    charges = [e for e in caller.store.all_of_kind(tenant, "ledger_entry") if e.data["type"] == "charge"]
    assert sorted(e.data["message_id"] for e in charges) == sorted(ids)
    assert credits.balance(caller).charged == len(ids)


def test_a_batch_of_twenty_receipts_of_ten_sent_messages_is_one_read_and_one_transaction(
    sent: Any, receipts: Any, aws_calls: Counter[str], kernel_clock: KernelClock
) -> None:
    """Each message's TEXT_SUCCESSFUL records nothing, its TEXT_DELIVERED delivers it; the 10th
    message's failure comes before its delivery in the batch: failed, as one by one."""
    from services.sms.handlers.receipts import handler
    from shared.ids import derived_id
    from shared.store import OutboxItem

    tenant = f"t-{new_id()}"
    ids = queued(tenant, 10)
    sent(tenant, ids)
    batch = two_receipts_each(tenant, ids, int(kernel_clock.epoch() * 1000))
    late = {
        **batch[-1],
        "detail": {**batch[-1]["detail"], "eventType": "TEXT_CARRIER_UNREACHABLE", "messageStatusDescription": "Gone"},
    }
    batch[10:] = [*batch[10:19], late, batch[19]]  # a failure before the last delivery: applied in order
    aws_calls.clear()
    assert handler(sqs_event(batch, RECEIPTS_ARN), receipts) == {"batchItemFailures": []}
    calls = dict(aws_calls)
    print(f"\nSMS receipts, AWS calls for 10 messages x 2 receipts: {calls}: {sum(calls.values()) / 10:.2f} a message")
    assert calls == {"BatchGetItem": 1, "TransactWriteItems": 1}
    delivered_once(tenant, ids[:9], ids)
    failed = message(tenant, ids[9])  # its first final receipt decided; the delivery after it changes nothing
    assert (failed["status"], failed["reason"], failed["in_sweep"]) == (
        "failed",
        "Gone",
        False,
    )
    assert OutboxItem.count(f"OUTBOX#{derived_id('sms.failed', ids[9])}") == 1
    assert OutboxItem.count(f"OUTBOX#{derived_id('sms.delivered', ids[9])}") == 0

    # the same batch again (a redelivery): read once, nothing written, nothing published twice
    aws_calls.clear()
    assert handler(sqs_event(batch, RECEIPTS_ARN), receipts) == {"batchItemFailures": []}
    assert dict(aws_calls) == {"BatchGetItem": 1}
    delivered_once(tenant, ids[:9], ids)
    assert message(tenant, ids[9]) == failed


def test_receipts_settle_ten_messages_their_sender_left_sending_in_one_transaction(
    receipts: Any, aws_calls: Counter[str], kernel_clock: KernelClock
) -> None:
    """The sender died after the provider took them (status "sending"): each message's first
    receipt is the proof, its second the delivery, one unit per message: sent (charged once,
    `sms.sent`) and delivered (`sms.delivered`) in one transaction for the ten."""
    from services.sms.handlers.receipts import handler
    from tests.integration.test_sms_sender import _set

    tenant = f"t-{new_id()}"
    ids = queued(tenant, 10)
    for message_id in ids:
        _set(tenant, message_id, status="sending", claimed_at="2026-01-01T00:00:00Z", attempts=1)
    batch = two_receipts_each(tenant, ids, int(kernel_clock.epoch() * 1000))
    aws_calls.clear()
    assert handler(sqs_event(batch, RECEIPTS_ARN), receipts) == {"batchItemFailures": []}
    assert dict(aws_calls) == {"BatchGetItem": 1, "TransactWriteItems": 1}
    delivered_once(tenant, ids)
    assert {message(tenant, m)["provider_message_id"] for m in ids} == {f"p-{m}" for m in ids}


def test_a_message_that_moved_since_the_read_is_left_out_alone_and_decided_again(
    sent: Any, receipts: Any, aws_calls: Counter[str], kernel_clock: KernelClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the batch's read and its transaction another worker records the 3rd message's
    delivery (the same receipt, delivered twice at once): its update is refused alone, the other
    messages commit; read again it has nothing left to record (published once). A malformed queue
    message fails alone."""
    from services.sms import receipts as module
    from services.sms.handlers.receipts import handler
    from services.sms.receipts import apply

    tenant = f"t-{new_id()}"
    ids = queued(tenant, 5)
    sent(tenant, ids)
    batch = two_receipts_each(tenant, ids, int(kernel_clock.epoch() * 1000))
    original = module.read_by_key
    injected: Counter[str] = Counter()
    reads = 0

    def read_then_moved(*args: Any) -> Any:
        nonlocal reads
        found = original(*args)
        reads += 1
        if reads == 1:  # another worker delivers the same receipt for the 3rd message meanwhile
            before = Counter(aws_calls)
            monkeypatch.setattr(module, "read_by_key", original)
            apply(module.read_receipt(batch[5 + 2]["detail"]))  # type: ignore[arg-type]
            monkeypatch.setattr(module, "read_by_key", read_then_moved)
            injected.update(Counter(aws_calls) - before)
        return found

    monkeypatch.setattr(module, "read_by_key", read_then_moved)
    records = sqs_event(batch, RECEIPTS_ARN)["Records"]
    malformed = {**sqs_record({}, RECEIPTS_ARN, message_id="malformed"), "body": "{not json"}
    aws_calls.clear()
    answer = handler({"Records": [*records, malformed]}, receipts)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "malformed"}]}
    calls = dict(aws_calls - injected)
    assert calls == {"BatchGetItem": 2, "TransactWriteItems": 2}  # the refused and the other four; one re-read
    delivered_once(tenant, ids)
