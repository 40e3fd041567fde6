"""Calls workflows ask for (`webhook.call_requested`, shared/contracts/workflows.py): one message to
the one endpoint a workflow's `call_webhook` action names, whatever that endpoint's `event_types`.

The message carries a `webhook.workflow_call` envelope (events.py; never put on the bus), whose id
is derived from the request's, so its message id (`messages.message_id_of`) is too: the message is a
put if absent in the consumer's unit of work with its dedupe marker, and a redelivered request makes
no second message. From there it is any message: signed, delivered, retried, logged and replayable
(delivery.py, log.py). An endpoint that is not the tenant's (deleted since the workflow was defined)
gets nothing: the request is refused once (`webhook.call_refused`); a disabled one's message fails
unsent (`endpoint_disabled`) as any other's.
"""

from services.webhooks import messages
from services.webhooks.endpoints import ENDPOINT
from services.webhooks.events import WebhookWorkflowCall
from services.webhooks.subscriptions import subscribe
from shared import clock
from shared.contracts.workflows import WebhookCallRequested, refusal
from shared.errors import FieldError, NotFound
from shared.events import Actor, Envelope, chain_of, new_event
from shared.ids import derived_id
from shared.observability import logger
from shared.store import AlreadyApplied, UnitOfWork

WEBHOOKS = Actor(type="service", id="webhooks")


@subscribe("webhook.call_requested")
def call_endpoint(envelope: Envelope, uow: UnitOfWork) -> None:
    request = WebhookCallRequested.model_validate(envelope.data)
    tenant = envelope.tenant_id
    if messages.STORE.get(tenant, ENDPOINT, request.endpoint_id) is None:
        logger.warning("webhook call to an unknown endpoint", extra={"endpoint_id": request.endpoint_id})
        unknown = NotFound(
            f"No webhook endpoint {request.endpoint_id}.", [FieldError(field="endpoint_id", message="not found")]
        )
        uow.publish(refusal(envelope, request.request_id, unknown))
        return
    call = WebhookWorkflowCall(**request.model_dump(exclude={"request_id", "endpoint_id"}))
    delivered = new_event(
        "webhook.workflow_call",
        tenant,
        call,
        actor=WEBHOOKS,
        correlation_id=envelope.correlation_id,
        event_id=derived_id(envelope.id, "call"),
        causation=chain_of(envelope),
    )
    record = messages.new_message(
        tenant, request.endpoint_id, delivered.id, delivered.type, delivered.outward_json(), clock.now()
    )
    messages.STORE.add(uow, record, on_conflict=AlreadyApplied)
    slow = request.endpoint_id in messages.slow_endpoints(tenant)
    queued = [(record.record_id, 1)]
    uow.after_commit(lambda: messages.enqueue_or_leave_to_sweep(tenant, queued, slow=slow))
