"""The SMS sender against the emulator, in-process: the account-wide send rate (message parts a
second, shared/send_rate.py) spreads a batch larger than the rate over several one-second windows."""

from __future__ import annotations

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


def test_a_wait_past_the_deadline_gives_the_messages_back_unclaimed(
    sender: Any, monkeypatch: pytest.MonkeyPatch, kernel_clock: KernelClock
) -> None:
    """Every second is taken (another sender) until after the function would time out: each
    message fails back to the queue still `queued` (not claimed), nothing sent, no second over the rate."""
    from services.sms.handlers import sender as sender_handler
    from services.sms.sending import LIMITER

    monkeypatch.setenv("MAX_SMS_RATE", "2")
    tenant = f"t-{new_id()}"
    ids = queued(tenant, 3)
    event = sqs_event(bodies(tenant, ids), QUEUE_ARN)
    start = kernel_clock.epoch()
    ends = start + 1.0 + sender_handler.SEND_RESERVE_SECONDS
    monkeypatch.setattr(sender, "get_remaining_time_in_millis", lambda: (ends - kernel_clock.epoch()) * 1000)
    busy = range(int(start), int(start) + 3)
    for window in busy:
        LIMITER.take(window, 2, 2)
    result = sender_handler.handler(event, sender)
    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == {r["messageId"] for r in event["Records"]}
    assert statuses(tenant, ids) == {"queued": 3}
    assert kernel_clock.epoch() <= start + 1.0
    assert [LIMITER.taken(window) for window in busy] == [2, 2, 2]
