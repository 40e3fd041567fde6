"""The SMS sender against the emulator, in-process: AWS calls per message of a batch of 10, a
message its receipt settled mid-batch, and the account-wide send rate (message parts a second,
shared/send_rate.py) spreading a batch larger than the rate over several one-second windows."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from infra.emulator import Emulator
from shared.ids import new_id
from tests.integration.conftest import sqs_event
from tests.kernel_clock import KernelClock

QUEUE_ARN = "arn:aws:sqs:eu-north-1:123456789012:kontakt-it-sms-send"


@pytest.fixture
def sender(lambda_env: Any, aws: Emulator) -> Any:
    """The sender function's environment; its cached AWS client made afresh for this emulator."""
    context = lambda_env("SmsSenderFunction")
    from services.sms import sending

    sending._sms.cache_clear()
    return context


def queued(tenant: str, count: int, parts: int = 1) -> list[str]:
    """`count` messages of `parts` parts queued for the sender, as POST /sms/messages leaves them."""
    from services.sms.domain.messages import KIND
    from services.sms.service import service_caller
    from shared import clock
    from shared.store import UnitOfWork

    caller = service_caller(tenant, open_tenant=False)
    ids = [new_id() for _ in range(count)]
    uow = UnitOfWork()
    for i, message_id in enumerate(ids):
        data = {
            "contact_id": f"c{i}",
            "number_field": "mobile",
            "to": f"+3584012345{i:02d}",
            "text": "Hei" * (60 * (parts - 1) + 1),
            "encoding": "gsm7",
            "parts": parts,
            "credits": parts,
            "status": "queued",
            "transactional": False,
            "created_by": "u1",
            "created_at": clock.iso(clock.now()),
        }
        caller.store.add(uow, caller.store.new(tenant, KIND, message_id, data))
    uow.commit()
    return ids


def statuses(tenant: str, ids: list[str]) -> Counter[str]:
    from services.sms.service import service_caller

    records = service_caller(tenant, open_tenant=False).store.get_many(tenant, "message", ids)
    return Counter(str(r.data["status"]) for r in records.values())


def bodies(tenant: str, ids: list[str]) -> list[dict[str, Any]]:
    return [{"tenant_id": tenant, "message_id": m} for m in ids]


def settled_once(tenant: str, ids: list[str]) -> None:
    """Each message sent, charged once (one ledger charge, the balance's `charged`) and its
    `sms.sent` in the outbox."""
    from services.sms import credits
    from services.sms.service import service_caller
    from shared.ids import derived_id
    from shared.store import OutboxItem

    caller = service_caller(tenant, open_tenant=False)
    assert statuses(tenant, ids) == {"sent": len(ids)}
    charges = [e for e in caller.store.all_of_kind(tenant, "ledger_entry") if e.data["type"] == "charge"]
    assert sorted(e.data["message_id"] for e in charges) == sorted(ids)
    assert credits.balance(caller).charged == len(ids)
    for message_id in ids:
        assert OutboxItem.count(f"OUTBOX#{derived_id('sms.sent', message_id)}") == 1


def test_a_batch_of_ten_costs_one_provider_call_a_message_and_four_dynamodb_calls(
    sender: Any, aws_calls: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten messages of one tenant: one BatchGetItem (messages and settings), one more (their numbers'
    opt-outs), the limiter's one UpdateItem, one claim transaction, ten SendTextMessage, one
    settlement transaction."""
    from services.sms.handlers.sender import handler

    monkeypatch.setenv("MAX_SMS_RATE", "100")  # the calls of a batch, not a wait for the next second
    tenant = f"t-{new_id()}"
    ids = queued(tenant, 10)
    aws_calls.clear()
    assert handler(sqs_event(bodies(tenant, ids), QUEUE_ARN), sender) == {"batchItemFailures": []}
    calls = dict(aws_calls)
    dynamodb = sum(n for operation, n in calls.items() if operation != "SendTextMessage")
    print(f"\nSMS sender, AWS calls for a batch of 10: {calls}: {dynamodb / 10:.2f} DynamoDB calls a message")
    assert calls == {"BatchGetItem": 2, "UpdateItem": 1, "TransactWriteItems": 2, "SendTextMessage": 10}
    settled_once(tenant, ids)


def test_a_message_its_receipt_settled_mid_batch_leaves_the_other_nine_recorded(
    sender: Any, aws_calls: Counter[str], monkeypatch: pytest.MonkeyPatch, kernel_clock: KernelClock
) -> None:
    """The receipt of the 4th message settles it while the sender still sends the rest: the
    settlement's transaction is refused for it alone, the other nine commit in one more
    transaction; each message is sent once, charged once and has one `sms.sent`."""
    from services.sms import sending
    from services.sms.domain.receipts import Receipt
    from services.sms.handlers.sender import handler
    from services.sms.receipts import apply

    monkeypatch.setenv("MAX_SMS_RATE", "100")
    tenant = f"t-{new_id()}"
    ids = queued(tenant, 10)
    client = sending._sms()
    original = client.send_text_message
    sent: list[str] = []

    def answered(**params: Any) -> Any:
        answer = original(**params)
        message_id = params["Context"]["message_id"]
        sent.append(message_id)
        if message_id == ids[3]:  # its receipt comes at once (TEXT_SUCCESSFUL: the provider took it)
            now = kernel_clock.now()
            apply(
                Receipt(
                    tenant_id=tenant,
                    message_id=message_id,
                    event_type="TEXT_SUCCESSFUL",
                    provider_message_id=answer["MessageId"],
                    reason="",
                    at=now,
                    requested_at=now,
                )
            )
        return answer

    monkeypatch.setattr(client, "send_text_message", answered)
    aws_calls.clear()
    assert handler(sqs_event(bodies(tenant, ids), QUEUE_ARN), sender) == {"batchItemFailures": []}
    assert sorted(sent) == sorted(ids)
    settled_once(tenant, ids)
    assert aws_calls["TransactWriteItems"] == 1 + 1 + 2  # the claim, the receipt's, the refused and the nine


@pytest.mark.parametrize(("rate", "count", "parts", "windows"), [(3, 7, 1, [3, 3, 1]), (4, 3, 2, [4, 2])])
def test_a_batch_larger_than_the_rate_takes_its_parts_over_several_seconds(
    sender: Any,
    monkeypatch: pytest.MonkeyPatch,
    kernel_clock: KernelClock,
    rate: int,
    count: int,
    parts: int,
    windows: list[int],
) -> None:
    """With MAX_SMS_RATE=N parts a second, a batch of more than N parts takes one window per N
    parts: every message sent, no second over the rate, the sender waiting for each next second."""
    from services.sms.handlers.sender import handler
    from services.sms.sending import LIMITER

    monkeypatch.setenv("MAX_SMS_RATE", str(rate))
    tenant = f"t-{new_id()}"
    ids = queued(tenant, count, parts)
    first = int(kernel_clock.epoch())
    assert handler(sqs_event(bodies(tenant, ids), QUEUE_ARN), sender) == {"batchItemFailures": []}
    assert statuses(tenant, ids) == {"sent": count}
    taken = [LIMITER.taken(window) for window in range(first, first + len(windows) + 1)]
    assert taken == [*windows, 0], taken
    assert len(kernel_clock.slept) == len(windows) - 1  # it waited once for each next second


@pytest.mark.parametrize(("free", "sent"), [(0, 0), (1, 2)])
def test_a_wait_past_the_deadline_gives_back_the_messages_not_sent_unclaimed(
    sender: Any, monkeypatch: pytest.MonkeyPatch, kernel_clock: KernelClock, free: int, sent: int
) -> None:
    """At 2 parts a second, after `free` seconds every second is taken (another sender) until after
    the function would time out: the messages this second's parts covered go (none when it is
    taken too), each other one fails back to the queue still `queued` (not claimed), no second over
    the rate. A take of the whole batch's parts up front would give back all three."""
    from services.sms.handlers import sender as sender_handler
    from services.sms.sending import LIMITER

    monkeypatch.setenv("MAX_SMS_RATE", "2")
    tenant = f"t-{new_id()}"
    ids = queued(tenant, 3)
    event = sqs_event(bodies(tenant, ids), QUEUE_ARN)
    start = kernel_clock.epoch()
    ends = start + 1.0 + sender_handler.SEND_RESERVE_SECONDS
    monkeypatch.setattr(sender, "get_remaining_time_in_millis", lambda: (ends - kernel_clock.epoch()) * 1000)
    busy = range(int(start) + free, int(start) + free + 3)
    for window in busy:
        LIMITER.take(window, 2, 2)
    result = sender_handler.handler(event, sender)
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [
        r["messageId"] for r in event["Records"][sent:]
    ]
    assert statuses(tenant, ids) == Counter({"sent": sent, "queued": 3 - sent})
    assert kernel_clock.epoch() <= start + 1.0
    assert [LIMITER.taken(window) for window in range(int(start), int(start) + free + 3)] == [2] * (free + 3)


# ----------------------------------------------------------------------------- the jobs' sweep


def send_queue_bodies(aws: Emulator, tenant: str) -> list[dict[str, Any]]:
    """The send-queue messages naming `tenant`'s messages, taken off the queue (as the sender's
    event source would); others' are left alone."""
    import json

    from services.sms.settings import SmsSettings
    from shared.settings import load

    sqs, url = aws.client("sqs"), load(SmsSettings).send_queue_url
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []):
        mine = [m for m in batch if json.loads(m["Body"]).get("tenant_id") == tenant]
        for message in mine:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if len(mine) < len(batch):
            break
    return found


def run_sweep(lambda_env: Any, scheduled: float) -> None:
    """The jobs function given `sms.sweep` as the minute schedule puts it on its queue."""
    from datetime import UTC, datetime

    from services.sms.handlers.jobs import handler

    context = lambda_env("SmsJobsFunction")
    moment = datetime.fromtimestamp(scheduled, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = sqs_event([{"job": "sms.sweep", "scheduled_time": moment}], "arn:aws:sqs:eu-north-1:1:kontakt-it-sms-jobs")
    assert handler(event, context) == {"batchItemFailures": []}


def message(tenant: str, message_id: str) -> dict[str, Any]:
    from services.sms.service import service_caller

    record = service_caller(tenant, open_tenant=False).store.get(tenant, "message", message_id)
    assert record is not None
    return {**record.data, "in_sweep": record.duesk is not None}


def helsinki_evening(kernel_clock: KernelClock) -> float:
    """Moves the kernel's clock to the next 22:00 in Helsinki; returns the next 09:00 (epoch)."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Helsinki")
    now = kernel_clock.now().astimezone(zone)
    evening = now.replace(hour=22, minute=0, second=0, microsecond=0)
    evening += timedelta(days=1) if evening <= now else timedelta(0)
    kernel_clock.advance(evening.timestamp() - kernel_clock.epoch())
    return (evening + timedelta(hours=11)).timestamp()


def with_window(tenant: str) -> None:
    from datetime import time

    from services.sms.domain.setup import SmsSetupUpdate, SmsWindow
    from services.sms.service import service_caller
    from services.sms.setup import update_setup

    update_setup(service_caller(tenant), SmsSetupUpdate(window=SmsWindow(start=time(9), end=time(20))))


def test_a_marketing_message_outside_the_window_waits_for_its_opening_a_transactional_one_does_not(
    sender: Any, aws: Emulator, lambda_env: Any, kernel_clock: KernelClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.sms.handlers.sender import handler

    monkeypatch.setenv("MAX_SMS_RATE", "100")
    tenant = f"t-{new_id()}"
    with_window(tenant)
    opening = helsinki_evening(kernel_clock)  # 22:00: the 09-20 window is shut
    marketing, transactional = queued(tenant, 2)
    _set(tenant, transactional, transactional=True)  # an OTP or a reminder: not held
    assert handler(sqs_event(bodies(tenant, [marketing, transactional]), QUEUE_ARN), sender) == {
        "batchItemFailures": []
    }
    held = message(tenant, marketing)
    assert (held["status"], held["due_at"], held["in_sweep"]) == ("waiting", _iso(opening), True)
    assert message(tenant, transactional)["status"] == "sent"

    run_sweep(lambda_env, opening - 60)  # 08:59: not yet
    assert message(tenant, marketing)["status"] == "waiting" and send_queue_bodies(aws, tenant) == []

    kernel_clock.advance(opening + 30 - kernel_clock.epoch())  # 09:00:30, the sweep of 09:00
    run_sweep(lambda_env, opening)
    assert (message(tenant, marketing)["status"], message(tenant, marketing)["in_sweep"]) == ("queued", False)
    again = send_queue_bodies(aws, tenant)
    assert again == [{"tenant_id": tenant, "message_id": marketing}]
    lambda_env("SmsSenderFunction")
    assert handler(sqs_event(again, QUEUE_ARN), sender) == {"batchItemFailures": []}
    assert message(tenant, marketing)["status"] == "sent"


def test_a_sweep_that_fails_between_queueing_and_marking_loses_nothing_and_sends_once(
    sender: Any,
    aws: Emulator,
    lambda_env: Any,
    kernel_clock: KernelClock,
    monkeypatch: pytest.MonkeyPatch,
    sent_texts: list[str],
) -> None:
    """The first sweep queues the held message and dies before marking it: the message stays
    `waiting` in the index, the next sweep queues it again; of the two queue messages the sender
    sends one, and a third sweep finds nothing."""
    from services.sms import sweep
    from services.sms.handlers.sender import handler

    monkeypatch.setenv("MAX_SMS_RATE", "100")
    tenant = f"t-{new_id()}"
    with_window(tenant)
    opening = helsinki_evening(kernel_clock)
    [held] = queued(tenant, 1)
    handler(sqs_event(bodies(tenant, [held]), QUEUE_ARN), sender)
    assert message(tenant, held)["status"] == "waiting"
    kernel_clock.advance(opening + 30 - kernel_clock.epoch())

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed between queueing and marking")

    with monkeypatch.context() as patched:
        patched.setattr(sweep.sending, "stage_fields", crash)
        run_sweep(lambda_env, opening)  # the item fails alone (logged); the job itself succeeds
    assert (message(tenant, held)["status"], message(tenant, held)["in_sweep"]) == ("waiting", True)
    run_sweep(lambda_env, opening + 60)
    run_sweep(lambda_env, opening + 120)  # out of the index by now: queues nothing more
    queue = send_queue_bodies(aws, tenant)
    assert queue == [{"tenant_id": tenant, "message_id": held}] * 2
    lambda_env("SmsSenderFunction")
    sent_texts.clear()
    for body in queue:  # two deliveries, one after the other (as SQS would)
        assert handler(sqs_event([body], QUEUE_ARN), sender) == {"batchItemFailures": []}
    assert message(tenant, held)["status"] == "sent"
    assert len(sent_texts) == 1


def test_a_sent_message_without_a_receipt_for_72_hours_becomes_unknown_a_late_receipt_still_wins(
    sender: Any, lambda_env: Any, kernel_clock: KernelClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.sms.domain.receipts import Receipt
    from services.sms.handlers.sender import handler
    from services.sms.receipts import apply

    monkeypatch.setenv("MAX_SMS_RATE", "100")
    tenant = f"t-{new_id()}"
    silent, answered = queued(tenant, 2)
    sent_at = kernel_clock.epoch()
    assert handler(sqs_event(bodies(tenant, [silent, answered]), QUEUE_ARN), sender) == {"batchItemFailures": []}
    assert message(tenant, silent)["in_sweep"] and message(tenant, answered)["in_sweep"]

    def receipt(message_id: str, event_type: str = "TEXT_DELIVERED") -> Receipt:
        record = message(tenant, message_id)
        return Receipt(
            tenant_id=tenant,
            message_id=message_id,
            event_type=event_type,
            provider_message_id=str(record["provider_message_id"]),
            reason=event_type,
            at=kernel_clock.now(),
            requested_at=kernel_clock.now(),
        )

    kernel_clock.advance(3600)
    apply(receipt(answered))  # delivered within the 72 hours: out of the sweep
    assert (message(tenant, answered)["status"], message(tenant, answered)["in_sweep"]) == ("delivered", False)

    kernel_clock.advance(sent_at + 71 * 3600 - kernel_clock.epoch())
    run_sweep(lambda_env, kernel_clock.epoch())
    assert message(tenant, silent)["status"] == "sent"  # 71 h: still waiting for its receipt

    kernel_clock.advance(sent_at + 72 * 3600 + 60 - kernel_clock.epoch())
    run_sweep(lambda_env, kernel_clock.epoch())
    run_sweep(lambda_env, kernel_clock.epoch())  # a second firing changes nothing
    gone = message(tenant, silent)
    assert (gone["status"], gone["in_sweep"], gone["unknown_at"]) == ("unknown", False, _iso(kernel_clock.epoch()))
    assert message(tenant, answered)["status"] == "delivered"

    apply(receipt(silent))  # the receipt comes after all: the provider's word wins over "unknown"
    assert message(tenant, silent)["status"] == "delivered"


@pytest.fixture
def sent_texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The destination of every SendTextMessage the sender makes."""
    from services.sms import sending

    sent: list[str] = []
    client = sending._sms()
    original = client.send_text_message

    def counted(**params: Any) -> Any:
        sent.append(params["DestinationPhoneNumber"])
        return original(**params)

    monkeypatch.setattr(client, "send_text_message", counted)
    return sent


def _set(tenant: str, message_id: str, **fields: Any) -> None:
    from services.sms.service import service_caller
    from shared.store import UnitOfWork

    caller = service_caller(tenant, open_tenant=False)
    record = caller.store.get(tenant, "message", message_id)
    assert record is not None
    uow = UnitOfWork()
    caller.store.replace(uow, record, {**record.data, **fields})
    uow.commit()


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    from shared import clock

    return clock.iso(datetime.fromtimestamp(epoch, UTC))


def test_a_message_the_provider_refuses_fails_refunded_with_its_reason_and_sms_failed(sender: Any) -> None:
    """The provider refuses a message (here the emulator, as AWS, a number that is not E.164): it is
    "failed" with the provider's reason, its parts refunded, and `sms.failed` tells a requester the
    outcome (no receipt will: nothing was sent); the batch's other message is sent."""
    from services.sms import credits
    from services.sms.handlers.sender import handler
    from services.sms.service import service_caller
    from shared.ids import derived_id
    from shared.store import OutboxItem, UnitOfWork

    tenant = f"t-{new_id()}"
    caller = service_caller(tenant, open_tenant=False)
    ids = queued(tenant, 2)
    refused = caller.store.get(tenant, "message", ids[0])
    assert refused is not None
    uow = UnitOfWork()
    caller.store.replace(uow, refused, {**refused.data, "to": "0401234567", "request_id": "req-1"})
    uow.commit()

    assert handler(sqs_event(bodies(tenant, ids), QUEUE_ARN), sender) == {"batchItemFailures": []}
    records = caller.store.get_many(tenant, "message", ids)
    assert records[ids[0]].data["status"] == "failed"
    assert "ValidationException" in records[ids[0]].data["reason"]
    assert records[ids[1]].data["status"] == "sent"
    entries = {e.data["type"]: e.data["message_id"] for e in caller.store.all_of_kind(tenant, "ledger_entry")}
    assert entries == {"refund": ids[0], "charge": ids[1]}
    assert credits.balance(caller).charged == 1
    item = OutboxItem.get(f"OUTBOX#{derived_id('sms.failed', ids[0])}", "OUTBOX")
    event = json.loads(item.envelope)
    assert item.event_type == "sms.failed" and event["data"]["request_id"] == "req-1"
    assert event["data"]["receipt"] is None and "ValidationException" in event["data"]["reason"]
    assert OutboxItem.count(f"OUTBOX#{derived_id('sms.failed', ids[1])}") == 0


def test_a_number_that_opted_out_since_staging_gets_no_marketing_message(sender: Any, aws_calls: Counter[str]) -> None:
    """A STOP between staging and sending: the sender reads the batch's opt-outs (one BatchGetItem
    more) and the marketing message ends "opted_out", refunded, with `sms.failed` saying so; a
    transactional one still goes when its tenant sends those to opted-out numbers (staging's rule)."""
    from services.sms.domain.setup import SmsSetupUpdate
    from services.sms.handlers.sender import handler
    from services.sms.service import service_caller
    from services.sms.setup import update_setup
    from shared.ids import derived_id
    from shared.store import OutboxItem, UnitOfWork

    tenant = f"t-{new_id()}"
    caller = service_caller(tenant, open_tenant=False)
    update_setup(service_caller(tenant), SmsSetupUpdate(transactional_to_opted_out=True))
    marketing, transactional, other = queued(tenant, 3)
    _set(tenant, transactional, transactional=True, to=message(tenant, marketing)["to"])
    uow = UnitOfWork()
    number = str(message(tenant, marketing)["to"])
    stop = {"number": number, "keyword": "STOP", "opted_out_at": "2026-01-01T00:00:00+00:00"}
    caller.store.add(uow, caller.store.new(tenant, "opt_out", number, stop))  # as inbound.py writes it
    uow.commit()
    aws_calls.clear()
    event = sqs_event(bodies(tenant, [marketing, transactional, other]), QUEUE_ARN)
    assert handler(event, sender) == {"batchItemFailures": []}
    refused = message(tenant, marketing)
    assert (refused["status"], refused["reason"]) == ("opted_out", "The number opted out of this tenant's SMS.")
    assert (message(tenant, transactional)["status"], message(tenant, other)["status"]) == ("sent", "sent")
    entries = sorted((e.data["type"], e.data["message_id"]) for e in caller.store.all_of_kind(tenant, "ledger_entry"))
    assert entries == sorted([("refund", marketing), ("charge", transactional), ("charge", other)])
    failed = json.loads(OutboxItem.get(f"OUTBOX#{derived_id('sms.failed', marketing)}", "OUTBOX").envelope)
    assert failed["data"]["status"] == "opted_out"
    assert aws_calls["BatchGetItem"] == 2 and aws_calls["SendTextMessage"] == 2


def test_a_message_whose_queueing_failed_is_queued_by_the_sweep_and_sent_once(
    sender: Any, aws: Emulator, lambda_env: Any, kernel_clock: KernelClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """POST /sms/messages commits the message, then its SendMessage fails: the request still
    succeeds (a retry must not make a second message) and the message, listed for the sweep when
    written, is queued by the first sweep QUEUE_CHECK later, listed again until the sender claims
    it, then sent once; later sweeps queue nothing more."""
    from services.sms import credits, messages
    from services.sms.domain.credits import SmsTopUp
    from services.sms.handlers.sender import handler
    from services.sms.service import service_caller
    from shared.store import UnitOfWork

    monkeypatch.setenv("MAX_SMS_RATE", "100")
    tenant = f"t-{new_id()}"
    caller = service_caller(tenant, open_tenant=False)
    credits.top_up(caller, SmsTopUp(credits=5))
    data = {
        "contact_id": "c1",
        "number_field": "mobile",
        "to": "+358401234501",
        "text": "Hei",
        "encoding": "GSM-7",
        "parts": 1,
        "credits": 1,
        "status": "queued",
        "transactional": False,
        "created_by": "u1",
    }
    uow = UnitOfWork()
    message_id = messages.stage(caller, uow, new_id(), data).record_id
    uow.commit()
    written = kernel_clock.epoch()

    def unreachable() -> Any:
        raise RuntimeError("SQS unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(messages, "_sqs", unreachable)
        messages.enqueue_or_leave_to_sweep(tenant, message_id)  # logged, not raised: the request succeeds
    assert message(tenant, message_id)["in_sweep"]

    run_sweep(lambda_env, written + 60)  # within QUEUE_CHECK: the sender may simply not have claimed it yet
    assert send_queue_bodies(aws, tenant) == []
    kernel_clock.advance(messages.QUEUE_CHECK.total_seconds() + 30)
    run_sweep(lambda_env, kernel_clock.epoch())
    queue = send_queue_bodies(aws, tenant)
    assert queue == [{"tenant_id": tenant, "message_id": message_id}]
    assert (message(tenant, message_id)["status"], message(tenant, message_id)["in_sweep"]) == ("queued", True)

    lambda_env("SmsSenderFunction")
    assert handler(sqs_event(queue, QUEUE_ARN), sender) == {"batchItemFailures": []}
    assert (message(tenant, message_id)["status"], message(tenant, message_id)["in_sweep"]) == ("sent", True)
    kernel_clock.advance(messages.QUEUE_CHECK.total_seconds() * 3)
    run_sweep(lambda_env, kernel_clock.epoch())
    assert send_queue_bodies(aws, tenant) == []
    assert message(tenant, message_id)["status"] == "sent"


def test_a_claimed_message_of_an_erased_contact_is_not_sent_again_but_failed_refunded(
    sender: Any, sent_texts: list[str]
) -> None:
    """A message "sending" when its contact was erased (services/sms/erasure.py took its number and
    text) and without a receipt past the proof window: the sender does not send it again, it is
    "failed" (reason "contact erased") and its parts refunded."""
    from services.sms.handlers.sender import handler
    from services.sms.service import service_caller

    tenant = f"t-{new_id()}"
    caller = service_caller(tenant, open_tenant=False)
    ids = queued(tenant, 1)
    _set(tenant, ids[0], status="sending", claimed_at=_iso(0), to=None, text="[erased]", erased_at=_iso(0))

    assert handler(sqs_event(bodies(tenant, ids), QUEUE_ARN), sender) == {"batchItemFailures": []}
    record = caller.store.get(tenant, "message", ids[0])
    assert record is not None and (record.data["status"], record.data["reason"]) == ("failed", "contact erased")
    entries = [(e.data["type"], e.data["message_id"]) for e in caller.store.all_of_kind(tenant, "ledger_entry")]
    assert entries == [("refund", ids[0])]
    assert sent_texts == []
