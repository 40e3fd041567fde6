"""The email sender's batch against the emulator, in-process: AWS calls per recipient, campaign
pauses and cancellations, and the account-wide send-rate limiter under concurrent senders."""

from __future__ import annotations

import json
import threading
from collections import Counter
from contextlib import suppress
from typing import Any

import pytest

from infra.emulator import Emulator
from shared.ids import new_id
from tests.integration.conftest import sqs_event
from tests.kernel_clock import KernelClock

QUEUE_ARN = "arn:aws:sqs:eu-north-1:123456789012:kontakt-it-email-send"


@pytest.fixture
def sender(lambda_env: Any, aws: Emulator) -> Any:
    """The sender function's environment; its cached AWS clients made afresh for this emulator."""
    context = lambda_env("EmailSenderFunction")
    from services.email import ratelimit, sending, transactional, transports

    for cached in (sending._s3, ratelimit._ses, transports._ses, transactional._sqs):
        cached.cache_clear()
    ratelimit._cached.clear()
    return context  # the stack's SendingDomain is an SES identity the emulator holds


def _setup(
    tenant: str, count: int, campaign_status: str, changed: dict[int, dict[str, Any]] | None = None
) -> tuple[str, list[str]]:
    """A campaign and `count` of its mails queued (as the campaign's staging leaves them); `changed`:
    fields of the i-th mail."""
    from services.email.service import service_caller
    from services.email.transactional import new_message_record
    from shared.store import UnitOfWork

    caller = service_caller(tenant)
    campaign_id = new_id()
    uow = UnitOfWork()
    caller.store.add(uow, caller.store.new(tenant, "campaign", campaign_id, {"status": campaign_status}))
    ids = [new_id() for _ in range(count)]
    for i, message_id in enumerate(ids):
        data = {
            "to": f"r{i}@example.com",
            "subject": "Hello",
            "text": "Hi there",
            "status": "queued",
            "campaign_id": campaign_id,
            "message_id_header": f"<{message_id}@kontakt>",
            **(changed or {}).get(i, {}),
        }
        caller.store.add(uow, new_message_record(caller, message_id, data))
    uow.commit()
    return campaign_id, ids


def _bodies(tenant: str, campaign_id: str, ids: list[str]) -> list[dict[str, Any]]:
    return [{"tenant_id": tenant, "message_id": m, "campaign_id": campaign_id} for m in ids]


def _statuses(tenant: str, ids: list[str]) -> Counter[str]:
    from services.email.service import service_caller

    records = service_caller(tenant).store.get_many(tenant, "message", ids)
    return Counter(str(r.data["status"]) for r in records.values())


def test_a_batch_of_ten_costs_about_one_call_per_recipient(
    sender: Any, aws_calls: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.email import stats
    from services.email.handlers.sender import handler

    monkeypatch.setenv("MAX_SEND_RATE", "1000")  # the calls of a batch, not a wait for the next second

    tenant = f"t-{new_id()}"
    measured = []
    for _ in range(2):  # the first batch also reads the account's send quota (cached for minutes)
        campaign_id, ids = _setup(tenant, 10, "sending")
        aws_calls.clear()
        result = handler(sqs_event(_bodies(tenant, campaign_id, ids), QUEUE_ARN), sender)
        measured.append(dict(aws_calls))
        assert result == {"batchItemFailures": []}
        assert _statuses(tenant, ids) == {"sent": 10}
        counts = stats.read_counts(tenant, campaign_id)
        assert (counts["sent"], counts["queued"]) == (10, -10)
    steady = measured[-1]
    per_recipient = sum(steady.values()) / 10
    print(f"\nAWS calls for a batch of 10: first {measured[0]}, then {steady}: {per_recipient:.2f} per recipient")
    # one BatchGet, one of the recipients' consent, one claim transaction (with the rate tokens), one
    # record transaction: 14 calls for 10 mails
    assert steady == {"BatchGetItem": 2, "TransactWriteItems": 2, "SendEmail": 10}
    assert per_recipient <= 1.4


def test_a_batch_waits_for_the_next_second_when_this_one_is_taken(
    sender: Any, monkeypatch: pytest.MonkeyPatch, kernel_clock: KernelClock
) -> None:
    """Three batches of the rate each: one second each, every second filled to the rate and no more.
    The kernel's clock stands still but for the sender's own waits, so each batch after the first
    finds its second full and waits for the next."""
    from services.email import ratelimit
    from services.email.handlers.sender import handler

    monkeypatch.setenv("MAX_SEND_RATE", "5")
    tenant = f"t-{new_id()}"
    first = ratelimit.window_of(kernel_clock.epoch())
    for _ in range(3):
        campaign_id, ids = _setup(tenant, 5, "sending")
        assert handler(sqs_event(_bodies(tenant, campaign_id, ids), QUEUE_ARN), sender) == {"batchItemFailures": []}
        assert _statuses(tenant, ids) == {"sent": 5}
    taken = {window: _taken(ratelimit, window) for window in range(first, first + 4)}
    assert taken == {first: 5, first + 1: 5, first + 2: 5, first + 3: 0}, taken
    assert len(kernel_clock.slept) == 2, kernel_clock.slept  # the second and the third batch waited once each
    assert ratelimit.window_of(kernel_clock.epoch()) == first + 2


def test_a_paused_campaign_leaves_its_mails_queued_a_cancelled_one_skips_them(sender: Any) -> None:
    from services.email import stats
    from services.email.handlers.sender import handler

    tenant = f"t-{new_id()}"
    paused, paused_ids = _setup(tenant, 2, "paused")
    cancelled, cancelled_ids = _setup(tenant, 3, "cancelled")
    event = sqs_event(_bodies(tenant, paused, paused_ids) + _bodies(tenant, cancelled, cancelled_ids), QUEUE_ARN)
    assert handler(event, sender) == {"batchItemFailures": []}  # every queue message is done with
    assert _statuses(tenant, paused_ids) == {"queued": 2}
    assert _statuses(tenant, cancelled_ids) == {"skipped": 3}
    counts = stats.read_counts(tenant, cancelled)
    assert (counts["skipped"], counts["queued"], counts["sent"]) == (3, -3, 0)
    assert stats.read_counts(tenant, paused)["queued"] == 0

    # delivered again: nothing changes, no count moves twice
    assert handler(event, sender) == {"batchItemFailures": []}
    assert stats.read_counts(tenant, cancelled)["skipped"] == 3


def test_a_mail_whose_address_refused_mail_since_staging_does_not_go(sender: Any, aws_calls: Counter[str]) -> None:
    """Consent is read again at send time (one BatchGet more a batch), by staging's rules: a
    suppression stops every mail, an opt-out only the mails of its list type; a mail claimed by a
    dead sender is checked before it is sent again."""
    from services.email import list_types, stats
    from services.email.domain.list_types import suppression_id
    from services.email.handlers.sender import handler
    from services.email.service import service_caller
    from shared.store import UnitOfWork

    tenant = f"t-{new_id()}"
    marketing = {"list_type_id": "marketing"}
    dead_claim = {**marketing, "status": "sending", "claimed_at": "2020-01-01T00:00:00+00:00"}
    changed = {0: marketing, 1: marketing, 2: {"list_type_id": "service-notices"}, 3: {}, 4: marketing, 5: dead_claim}
    campaign_id, ids = _setup(tenant, 6, "sending", changed)
    caller = service_caller(tenant)
    uow = UnitOfWork()
    bounce = {"address": "r0@example.com", "reason": "hard_bounce"}
    caller.store.add(uow, caller.store.new(tenant, "suppression", suppression_id("R0@example.com "), bounce))
    uow.commit()
    for i in (1, 2, 3, 5):  # after staging: opted out of marketing
        list_types.opt_out(caller, f"r{i}@example.com", "marketing", None, "one_click")
    aws_calls.clear()
    assert handler(sqs_event(_bodies(tenant, campaign_id, ids), QUEUE_ARN), sender) == {"batchItemFailures": []}
    statuses = [caller.store.get(tenant, "message", m).data["status"] for m in ids]  # type: ignore[union-attr]
    assert statuses == ["suppressed", "opted_out", "sent", "sent", "sent", "opted_out"]
    counts = stats.read_counts(tenant, campaign_id)
    assert (counts["suppressed"], counts["opted_out"], counts["sent"], counts["queued"]) == (1, 2, 3, -6)
    assert aws_calls["BatchGetItem"] == 2  # the mails with their settings and campaign, then their consent


def test_a_mail_claimed_by_a_dead_sender_waits_for_its_proof(sender: Any, aws_calls: Counter[str]) -> None:
    from services.email import proofs, sending, stats
    from services.email.handlers.sender import handler
    from services.email.service import service_caller
    from shared.store import UnitOfWork

    tenant = f"t-{new_id()}"
    campaign_id, [message_id] = _setup(tenant, 1, "sending")
    caller = service_caller(tenant)
    record = caller.store.get(tenant, "message", message_id)
    assert record is not None
    uow = UnitOfWork()  # what a sender that died after its claim leaves
    claimed = {**record.data, "status": "sending", "claimed_at": "2099-01-01T00:00:00+00:00", "attempts": 1}
    caller.store.replace(uow, record, claimed)
    uow.commit()
    event = sqs_event(_bodies(tenant, campaign_id, [message_id]), QUEUE_ARN)
    [failure] = handler(event, sender)["batchItemFailures"]  # no proof, window open: retry later
    assert failure["itemIdentifier"] == event["Records"][0]["messageId"]
    assert aws_calls["SendEmail"] == 0

    mail = {
        "timestamp": "2026-11-24T10:00:00Z",
        "messageId": "ses-1",
        "headers": [{"name": "Message-ID", "value": f"<{message_id}@kontakt>"}],
    }
    sending.record_proof({"eventType": "Send", "mail": mail})  # no tenant tag: only kept
    sending.record_proof({"eventType": "Send", "mail": {**mail, "messageId": "ses-again"}})  # the first proof stays
    assert _statuses(tenant, [message_id]) == {"sending": 1}
    assert proofs.get(message_id) is not None
    assert handler(event, sender) == {"batchItemFailures": []}  # the redelivery settles it from the proof
    assert _statuses(tenant, [message_id]) == {"sent": 1}
    assert aws_calls["SendEmail"] == 0
    settled = caller.store.get(tenant, "message", message_id)
    assert settled is not None and settled.data["ses_message_id"] == "ses-1"
    assert stats.read_counts(tenant, campaign_id)["sent"] == 1

    # a proof that names the tenant settles by itself a mail claimed longer ago than the sender's timeout
    campaign_id, [other] = _setup(tenant, 1, "sending")
    record = caller.store.get(tenant, "message", other)
    assert record is not None
    uow = UnitOfWork()
    abandoned = {"status": "sending", "claimed_at": "2000-01-01T00:00:00+00:00", "attempts": 1}
    caller.store.replace(uow, record, {**record.data, **abandoned})
    uow.commit()
    tagged = {**mail, "messageId": "ses-2", "tags": {"tenant": [tenant], "message": [other]}}
    sending.record_proof({"eventType": "Send", "mail": tagged})
    sending.record_proof({"eventType": "Send", "mail": tagged})  # again: nothing more
    assert _statuses(tenant, [other]) == {"sent": 1}
    assert stats.read_counts(tenant, campaign_id)["sent"] == 1
    assert aws_calls["SendEmail"] == 0


@pytest.mark.parametrize(("rate", "mails"), [(5, 5), (2, 5)], ids=["claim-waits", "send-waits"])
def test_a_batch_the_rate_would_keep_past_the_timeout_is_given_back(
    sender: Any,
    aws_calls: Counter[str],
    monkeypatch: pytest.MonkeyPatch,
    kernel_clock: KernelClock,
    rate: int,
    mails: int,
) -> None:
    """Every second is full until after the function would time out: the handler returns at its
    deadline, every message failed (SQS redelivers them), every mail still queued, none sent.
    rate 5: the claim waits (tokens taken with the claim); rate 2: the claimed mails wait to send."""
    from services.email import ratelimit
    from services.email.handlers import sender as sender_handler

    monkeypatch.setenv("MAX_SEND_RATE", str(rate))
    margin = 1.0  # seconds the function has for waiting, past its send reserve
    tenant = f"t-{new_id()}"
    campaign_id, ids = _setup(tenant, mails, "sending")
    event = sqs_event(_bodies(tenant, campaign_id, ids), QUEUE_ARN)
    start = kernel_clock.epoch()
    ends = start + margin + sender_handler.SEND_RESERVE_SECONDS  # when the function would time out
    monkeypatch.setattr(sender, "get_remaining_time_in_millis", lambda: (ends - kernel_clock.epoch()) * 1000)
    busy = range(ratelimit.window_of(start), ratelimit.window_of(start + margin) + 2)
    for window in busy:  # another sender took every token of these seconds, and of the one after the deadline
        ratelimit._take(window, rate - _taken(ratelimit, window), rate)
    result = sender_handler.handler(event, sender)
    assert {f["itemIdentifier"] for f in result["batchItemFailures"]} == {r["messageId"] for r in event["Records"]}
    assert kernel_clock.slept, "it waited for the next second while the deadline allowed"
    assert kernel_clock.epoch() <= start + margin, kernel_clock.slept  # it never waited past its deadline
    assert _statuses(tenant, ids) == {"queued": mails}  # released (or never claimed): the retry sends them
    assert aws_calls["SendEmail"] == 0
    assert {window: _taken(ratelimit, window) for window in busy} == dict.fromkeys(busy, rate)  # never past the rate


def _taken(ratelimit: Any, window: int) -> int:
    with suppress(ratelimit.RateWindow.DoesNotExist):
        return int(ratelimit.RateWindow.get(f"{ratelimit.KEY_PREFIX}{window}", "RATE").taken or 0)
    return 0


def test_concurrent_senders_never_pass_the_rate_in_any_second(sender: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.email import ratelimit

    limit, senders, takes, tokens = 7, 5, 3, 2
    won: list[tuple[int, int]] = []
    lock = threading.Lock()
    real_take = ratelimit._take

    def observed(window: int, count: int, size: int) -> bool:
        ok = real_take(window, count, size)
        if ok:
            with lock:
                won.append((window, count))
        return ok

    monkeypatch.setattr(ratelimit, "_take", observed)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(takes):
                ratelimit.acquire(tokens, limit=limit)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    per_window: Counter[int] = Counter()
    for window, count in won:
        per_window[window] += count
    assert sum(per_window.values()) == senders * takes * tokens  # every token was granted
    assert max(per_window.values()) <= limit, per_window
    for window, taken in per_window.items():  # and the table agrees
        assert _taken(ratelimit, window) >= taken  # (another test may have taken from the same second)
    assert len(per_window) >= (senders * takes * tokens) // limit  # 30 tokens at 7/s span 5+ seconds


def test_a_failed_mail_is_retried_alone(sender: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    from services.email import transports
    from services.email.handlers.sender import handler

    tenant = f"t-{new_id()}"
    campaign_id, ids = _setup(tenant, 3, "sending")
    real_send = transports.SesTransport.send
    throttled = "r1@example.com"

    def send(self: Any, raw: bytes, from_addr: str, to_addrs: list[str], **kwargs: Any) -> str:
        if to_addrs == [throttled]:
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail")
        return real_send(self, raw, from_addr, to_addrs, **kwargs)

    monkeypatch.setattr(transports.SesTransport, "send", send)
    event = sqs_event(_bodies(tenant, campaign_id, ids), QUEUE_ARN)
    result = handler(event, sender)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    # SES said no: the claim is released, so the retry sends at once (no proof window to wait)
    assert _statuses(tenant, ids) == {"sent": 2, "queued": 1}
    monkeypatch.setattr(transports.SesTransport, "send", real_send)
    retry = sqs_event(_bodies(tenant, campaign_id, [ids[1]]), QUEUE_ARN)
    assert handler(retry, sender) == {"batchItemFailures": []}
    assert _statuses(tenant, ids) == {"sent": 3}


def test_a_mail_that_cannot_be_built_fails_alone_with_its_reason(sender: Any) -> None:
    """A From name or a recipient's name stored with a line break (before the API refused it) makes
    a mail that cannot be built: that recipient fails with the reason, at once and for good; the
    tenant's and the batch's other mails go, and nothing is retried."""
    from services.email import stats
    from services.email.handlers.sender import handler
    from services.email.service import service_caller
    from services.email.settings import default_from_address
    from shared.ids import derived_id
    from shared.service import SETTING
    from shared.store import OutboxItem, UnitOfWork

    broken, fine = f"t-{new_id()}", f"t-{new_id()}"
    setting = {"from_address": default_from_address(), "from_name": "Shop\r\nBcc: all@evil.example", "reply_to": []}
    caller = service_caller(broken, open_tenant=False)
    uow = UnitOfWork()
    caller.store.add(uow, caller.store.new(broken, SETTING, "email", setting))
    uow.commit()
    broken_campaign, broken_ids = _setup(broken, 1, "sending")
    requested = {"to_name": "Ann\nBcc: all@evil.example", "requester": "scanner", "request_id": "reply-a-1"}
    fine_campaign, fine_ids = _setup(fine, 2, "sending", {1: requested})

    bodies = _bodies(broken, broken_campaign, broken_ids) + _bodies(fine, fine_campaign, fine_ids)
    assert handler(sqs_event(bodies, QUEUE_ARN), sender) == {"batchItemFailures": []}
    assert _statuses(broken, broken_ids) == {"failed": 1}
    assert _statuses(fine, fine_ids) == {"sent": 1, "failed": 1}
    errors = {
        m: service_caller(t).store.get(t, "message", m).data.get("error")  # type: ignore[union-attr]
        for t, m in ((broken, broken_ids[0]), (fine, fine_ids[1]))
    }
    assert "From name contains a line break" in str(errors[broken_ids[0]]), errors
    assert "recipient's name contains a line break" in str(errors[fine_ids[1]]), errors
    counts = stats.read_counts(broken, broken_campaign)
    assert (counts["failed"], counts["queued"]) == (1, -1)
    # a requested mail's requester hears that it will not go (email.failed names its request); no one else's does
    outbox = {m: list(OutboxItem.query(f"OUTBOX#{derived_id('email.failed', m)}")) for m in broken_ids + fine_ids}
    assert [m for m, found in outbox.items() if found] == [fine_ids[1]]
    failed = json.loads(outbox[fine_ids[1]][0].envelope)["data"]
    assert (failed["requester"], failed["request_id"], failed["status"]) == ("scanner", "reply-a-1", "failed")
    assert failed["reason"] == errors[fine_ids[1]]


def test_mails_settled_or_reported_on_meanwhile_cost_the_batch_one_transaction_more(
    sender: Any, aws_calls: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the batch sends, SES's Send event of one mail settles it (feedback's proof) and a
    delivery report is written on another (feedback's history): the batch records the other nine in
    one more transaction, reads nothing again, counts every mail once and keeps the report."""
    from services.email import sending, stats, transports
    from services.email.handlers.sender import handler
    from services.email.service import service_caller
    from shared.store import UnitOfWork

    monkeypatch.setenv("MAX_SEND_RATE", "1000")
    monkeypatch.setenv("SENDER_TIMEOUT_SECONDS", "0")  # the proof takes this sender for gone: it settles
    tenant = f"t-{new_id()}"
    campaign_id, ids = _setup(tenant, 10, "sending")
    caller = service_caller(tenant)
    real_send = transports.SesTransport.send
    sent: list[str] = []

    def meanwhile() -> None:  # feedback's writes, from another process (not this thread's calls)
        settled, reported = ids[2], ids[5]
        mail = {"timestamp": "2026-11-24T10:00:00Z", "messageId": "ses-proof", "headers": []}
        mail["tags"] = {"tenant": [tenant], "message": [settled]}
        sending.record_proof({"eventType": "Send", "mail": mail})
        record = caller.store.get(tenant, "message", reported)
        assert record is not None and record.data["status"] == "sending"
        uow = UnitOfWork()
        caller.store.replace(uow, record, {**record.data, "delivery": "delivered"})
        uow.commit()

    def send(self: Any, raw: bytes, from_addr: str, to_addrs: list[str], **kwargs: Any) -> str:
        sent.append(to_addrs[0])
        if len(sent) == 7:
            other = threading.Thread(target=meanwhile)
            other.start()
            other.join()
        return real_send(self, raw, from_addr, to_addrs, **kwargs)

    monkeypatch.setattr(transports.SesTransport, "send", send)
    handler(sqs_event(_bodies(tenant, campaign_id, ids[:1]), QUEUE_ARN), sender)  # the quota read, once
    aws_calls.clear()
    event = sqs_event(_bodies(tenant, campaign_id, ids[1:]), QUEUE_ARN)
    assert handler(event, sender) == {"batchItemFailures": []}
    # the reads (the mails, their consent), the claim, the outcomes (refused: one mail was settled), the other eight's
    assert dict(aws_calls) == {"BatchGetItem": 2, "TransactWriteItems": 3, "SendEmail": 9}
    assert _statuses(tenant, ids) == {"sent": 10}
    counts = stats.read_counts(tenant, campaign_id)
    assert (counts["sent"], counts["queued"]) == (10, -10)
    settled = caller.store.get(tenant, "message", ids[2])
    assert settled is not None and settled.data["ses_message_id"] == "ses-proof"  # the proof's record stays
    reported = caller.store.get(tenant, "message", ids[5])
    assert reported is not None and reported.data["delivery"] == "delivered"  # the report stays
    assert reported.data["ses_message_id"] and reported.data.get("sent_at")
