"""The delivery log (issue 20, item 6): an endpoint's messages and each message's attempts, newest
first, and replay: resend one message, or recover every failed message of an endpoint since a time.

Admins only, as the endpoints themselves. The records are the delivery side's (messages.py): a
message listed under its endpoint (`by_type` `T#<t>#ENDPOINT#<id>#MESSAGE` / `<created_at>#<id>`),
an attempt under its message (`T#<t>#MESSAGE#<id>#ATTEMPT` / its number). Replay puts a finished
message back to `pending` (messages.requeue) with a new round of the retry schedule; attempts keep
their numbers, so the log shows every one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from services.webhooks import messages
from services.webhooks.domain.messages import (
    ATTEMPT,
    MESSAGE,
    WebhookAttempt,
    WebhookMessage,
    WebhookMessageStatus,
    WebhookRecovered,
    WebhookRecoverRequest,
)
from services.webhooks.endpoints import ENDPOINT
from services.webhooks.events import WebhookTest, WebhookTestSent
from services.webhooks.service import Caller
from services.webhooks.store import Record
from shared import clock
from shared.errors import Conflict, NotFound
from shared.events import new_event
from shared.pagination import Page
from shared.service import partition_page
from shared.store import UnitOfWork, tenant_key

TEST_TEXT = "A test event from Kontakt: this endpoint receives and verifies webhooks."
RECOVER_MAX = 1000  # messages one recover request puts back; `more` says to call again


def _endpoint(caller: Caller, endpoint_id: str) -> Record:
    caller.require_admin()
    record = caller.store.get(caller.tenant, ENDPOINT, endpoint_id)
    if record is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}.")
    return record


def _message(caller: Caller, endpoint_id: str, message_id: str) -> Record:
    _endpoint(caller, endpoint_id)
    record = caller.store.get(caller.tenant, MESSAGE, message_id)
    if record is None or record.data.get("endpoint_id") != endpoint_id:
        raise NotFound(f"No message {message_id} of endpoint {endpoint_id}.")
    return record


def message_of(record: Record) -> WebhookMessage:
    data = dict(record.data)
    data["payload"] = json.loads(str(data.get("payload") or "{}"))
    return WebhookMessage.model_validate({"id": record.record_id, **data})


def list_messages(
    caller: Caller,
    endpoint_id: str,
    status: WebhookMessageStatus | None,
    since: str | None,
    until: str | None,
    cursor: str | None,
    limit: int,
) -> Page[WebhookMessage]:
    """An endpoint's messages, newest first; `status` filters page-wise (a page may be shorter than
    `limit`, with a cursor)."""
    _endpoint(caller, endpoint_id)
    scope = hashlib.sha256(json.dumps([endpoint_id, status, since, until]).encode()).hexdigest()[:16]
    return partition_page(
        caller,
        f"webhook-messages:{scope}",
        cursor,
        limit,
        Record.by_type,
        tenant_key(caller.tenant, "ENDPOINT", endpoint_id, MESSAGE.upper()),
        Record.gsi1sk,
        WebhookMessage,
        newest_first=True,
        lower=since,
        upper=until,
        condition=Record.fields["status"] == status.value if status else None,
        convert=message_of,
    )


def get_message(caller: Caller, endpoint_id: str, message_id: str) -> WebhookMessage:
    return message_of(_message(caller, endpoint_id, message_id))


def list_attempts(
    caller: Caller, endpoint_id: str, message_id: str, cursor: str | None, limit: int
) -> Page[WebhookAttempt]:
    """A message's attempts, the latest first."""
    _message(caller, endpoint_id, message_id)
    return partition_page(
        caller,
        f"webhook-attempts:{message_id}",
        cursor,
        limit,
        Record.by_type,
        tenant_key(caller.tenant, "MESSAGE", message_id, ATTEMPT.upper()),
        Record.gsi1sk,
        WebhookAttempt,
        newest_first=True,
    )


def resend(caller: Caller, endpoint_id: str, message_id: str) -> WebhookMessage:
    """A delivered or failed message goes out again now (a new round of the schedule); one still
    pending or being sent is a 409: it is on its way."""
    endpoint = _endpoint(caller, endpoint_id)
    record = _message(caller, endpoint_id, message_id)
    if record.data.get("status") in (WebhookMessageStatus.pending, WebhookMessageStatus.sending):
        raise Conflict(f"Message {message_id} is still being delivered.")
    _check_enabled(endpoint)
    requeued = messages.requeue(caller, record.record_id)
    if requeued is None:  # claimed meanwhile
        raise Conflict(f"Message {message_id} is still being delivered.")
    return message_of(requeued)  # as committed: a read now could already find it claimed (sending)


def recover(caller: Caller, endpoint_id: str, body: WebhookRecoverRequest) -> WebhookRecovered:
    """Every failed message of the endpoint created in [since, until) goes out again, oldest first,
    at most RECOVER_MAX a request."""
    endpoint = _endpoint(caller, endpoint_id)
    _check_enabled(endpoint)
    until = body.until or clock.now()
    failed = _failed_between(caller, endpoint_id, body.since, until)
    queued = sum(messages.requeue(caller, r.record_id) is not None for r in failed[:RECOVER_MAX])
    return WebhookRecovered(queued=queued, more=len(failed) > RECOVER_MAX)


def _failed_between(caller: Caller, endpoint_id: str, since: datetime, until: datetime) -> list[Record]:
    key = tenant_key(caller.tenant, "ENDPOINT", endpoint_id, MESSAGE.upper())
    between = Record.gsi1sk.between(clock.iso(since), clock.iso(until))
    found = Record.by_type.query(
        key,
        range_key_condition=between,
        filter_condition=Record.fields["status"] == WebhookMessageStatus.failed.value,
        limit=RECOVER_MAX + 1,
    )
    return [r for r in found if str(r.data.get("created_at", "")) < clock.iso(until)]


def send_test(caller: Caller, endpoint_id: str) -> WebhookMessage:
    """The "send test event" action: a `webhook.test` envelope as one message to this endpoint only
    (never on the bus), delivered, signed and retried as any other."""
    endpoint = _endpoint(caller, endpoint_id)
    _check_enabled(endpoint)
    data = WebhookTest(endpoint_id=endpoint_id, message=TEST_TEXT, requested_by=caller.user_id)
    envelope = new_event("webhook.test", caller.tenant, data, actor=caller.actor)
    record = messages.new_message(
        caller.tenant, endpoint_id, envelope.id, envelope.type, envelope.outward_json(), clock.now()
    )
    uow = UnitOfWork()
    caller.store.add(uow, record)
    sent = WebhookTestSent(message_id=record.record_id, endpoint_id=endpoint_id)
    uow.publish(caller.event("webhook.test_sent", sent))  # the audit trail's; `webhook.test` never goes on the bus
    uow.after_commit(lambda: messages.enqueue_or_leave_to_sweep(caller.tenant, [(record.record_id, 1)]))
    uow.commit()
    return message_of(record)


def _check_enabled(endpoint: Record) -> None:
    if not endpoint.data.get("enabled", True):
        raise Conflict("The endpoint is disabled: enable it first.")
