"""Events the webhooks service publishes, registered once in the catalogue (docs/events.md).

None is consumed by another service (their payloads live here, not in `shared/contracts/`), and the
webhooks service's own rule leaves every `webhook.*` type out (template.yaml's WebhooksEventsRule),
so no delivery ever makes another.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.events import catalogue

PRODUCER = "webhooks"


class WebhookExhausted(BaseModel):
    """A message failed every attempt of the retry schedule."""

    endpoint_id: str
    message_id: str = Field(description="The message, also its requests' `webhook-id`")
    event_id: str = Field(description="The event the message carried")
    event_type: str
    attempts: int
    last_status_code: int | None = Field(default=None, description="The last answer's status (none: no answer)")
    at: datetime


class WebhookEndpointDisabled(BaseModel):
    """Kontakt disabled an endpoint: it answered 410 Gone, or it had no success for 5 days."""

    endpoint_id: str
    url: str
    reason: str = Field(description="gone (a 410 answer) or failing (no success for 5 days, 10 failures or more)")
    at: datetime


class WebhookTest(BaseModel):
    """What the "send test event" action delivers to one endpoint."""

    endpoint_id: str
    message: str = Field(description="A fixed text saying this is a test")
    requested_by: str | None = Field(default=None, description="The user who asked for it")


class WebhookWorkflowCall(BaseModel):
    """What a workflow's `call_webhook` action delivers to the one endpoint it names: the record as
    the event that started the run showed it."""

    workflow_id: str
    run_id: str = Field(description="The run (`GET /workflows/{id}/runs/{run_id}`)")
    entity: str = Field(description="contact or account")
    record_id: str
    record: dict[str, Any]
    trigger_event_id: str = Field(description="The event that started the run")
    trigger_event_type: str


catalogue.register(
    "webhook.exhausted", WebhookExhausted, producer=PRODUCER, description="A webhook message failed every attempt."
)
catalogue.register(
    "webhook.endpoint_disabled",
    WebhookEndpointDisabled,
    producer=PRODUCER,
    description="A webhook endpoint was disabled by Kontakt (410 Gone, or failing for 5 days).",
)
catalogue.register(
    "webhook.test",
    WebhookTest,
    producer=PRODUCER,
    description="A test event, delivered to one endpoint on request (never put on the bus to others).",
)
catalogue.register(
    "webhook.workflow_call",
    WebhookWorkflowCall,
    producer=PRODUCER,
    description="A workflow's call, delivered to the one endpoint it names (never put on the bus).",
)
