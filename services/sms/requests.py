"""SMS for the other services [issue 19 item 3c]: `sms.send_requested` (shared/contracts/messaging.py)
becomes one message to one contact, through the checks of `POST /sms/messages` (messages.check and
messages.stage: the same code), done as the user the request names (`requested_by`: the contact
must be one they may see) or, without one, as the requesting service (every contact).

One message per tenant and request id: its id is derived from them, so a redelivered or repeated
request finds it and makes nothing twice. A queued message commits with its reservation in its own
transaction, then goes on the send queue; a crash before queueing redelivers the event, which finds
the message still `queued` and queues it again (the sender's claim sends it once).

A request that cannot be sent (SMS off, the contact unknown or out of sight, no number, an invalid
or landline one, opted out, a bad text or tag, over the part limit, credits short, or a request the
contract refuses) is recorded as its message with the status (`invalid_number`, `opted_out`,
`failed`) and the reason, nothing reserved, and answered with `sms.failed` carrying the request id,
in the consumer's unit of work (with its dedupe marker). It is never retried: the same request
would fail again.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from services.sms import events, messages
from services.sms.domain.messages import KIND, SmsMessageRequest, SmsMessageStatus
from services.sms.service import Caller, service_caller
from services.sms.subscriptions import subscribe
from shared import clock
from shared.contracts.messaging import SmsSendRequested
from shared.errors import DomainError
from shared.events import Envelope
from shared.ids import derived_id
from shared.observability import logger
from shared.service import user_caller
from shared.store import ConcurrentUpdate, UnitOfWork

EVENT = "sms.send_requested"
# A refused check's code -> the message's status (every other refusal: failed)
STATUS_OF = {
    "no_number": SmsMessageStatus.invalid_number,
    "invalid_number": SmsMessageStatus.invalid_number,
    "not_mobile": SmsMessageStatus.invalid_number,
    "opted_out": SmsMessageStatus.opted_out,
}


def message_id_of(tenant: str, request_id: str) -> str:
    """The id of the message a request makes: the same for every delivery of the request."""
    return derived_id(EVENT, tenant, request_id)


def _status(exc: DomainError) -> tuple[SmsMessageStatus, str]:
    code = exc.errors[0].code if exc.errors else exc.code
    return STATUS_OF.get(code, SmsMessageStatus.failed), exc.detail


def _request(envelope: Envelope) -> tuple[SmsSendRequested | None, str | None]:
    """The request, or (with the fields it can be recorded under) why the contract refuses it."""
    try:
        return SmsSendRequested.model_validate(envelope.data), None
    except ValidationError as exc:
        errors = exc.errors()
    reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
    keep = {"request_id", "contact_id"}
    bad = {str(e["loc"][0]) for e in errors if e["loc"]}
    if bad & keep:
        logger.warning("SMS send request refused", extra={"event_id": envelope.id, "reasons": reasons})
        return None, None
    data = {k: v for k, v in envelope.data.items() if k in keep}
    return SmsSendRequested.model_validate({**data, "text": ""}), f"The send request is not valid: {reasons}"


@subscribe(EVENT)
def on_send_requested(envelope: Envelope, uow: UnitOfWork) -> None:
    request, refused = _request(envelope)
    if request is None:
        return  # nothing to record it under: logged
    caller = service_caller(envelope.tenant_id, envelope.actor.id)
    message_id = message_id_of(caller.tenant, request.request_id)
    existing = caller.store.get(caller.tenant, KIND, message_id)
    if existing is not None:
        if existing.data.get("status") == SmsMessageStatus.queued:
            messages.enqueue(caller.tenant, message_id)  # an earlier delivery may have stopped before queueing
        return
    actor = user_caller(Caller, caller.tenant, request.requested_by) if request.requested_by else caller
    body = SmsMessageRequest.model_construct(
        contact_id=request.contact_id,
        number_field=request.number_field,
        text=request.text,
        transactional=request.transactional,
    )
    data: dict[str, Any] = {**messages.message_data(actor, body), "request_id": request.request_id}
    try:
        if refused:
            raise DomainError(refused)
        body = SmsMessageRequest.model_validate(body.model_dump())  # the API's rules: a blank text, a bad id
        messages.check(actor, body, data)
        if data["status"] == SmsMessageStatus.queued:
            own = UnitOfWork()
            messages.stage(actor, own, message_id, data)
            own.commit()  # a short balance: PaymentRequired, nothing written
            messages.enqueue(caller.tenant, message_id)
            return
        status, reason = SmsMessageStatus.failed, str(data.get("reason"))
    except ConcurrentUpdate:
        raise  # a concurrent delivery wrote the message: the retry finds it
    except ValidationError as exc:
        status, reason = SmsMessageStatus.failed, "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
    except DomainError as exc:
        status, reason = _status(exc)
    data.update(status=status.value, reason=reason, parts=0, credits=0)
    record = messages.stage(actor, uow, message_id, data)  # not queued: nothing reserved
    failed = events.SmsFailed(
        message_id=message_id,
        contact_id=request.contact_id,
        to=data.get("to"),
        at=clock.now(),
        status=status.value,
        reason=reason,
        request_id=request.request_id,
    )
    uow.publish(caller.event("sms.failed", failed, event_id=derived_id("sms.failed", message_id)))
    logger.info("requested SMS not sent", extra={"message_id": record.record_id, "status": status.value})
