"""Events the webhooks service publishes, registered once in the catalogue (docs/events.md).

None is consumed by another service (their payloads live here, not in `shared/contracts/`), and the
webhooks service's own rule leaves every `webhook.*` type out (template.yaml's WebhooksEventsRule),
so no delivery ever makes another. An admin's change to an endpoint or the settings is one of them
too (`webhook.endpoint_updated` ...): the audit trail records it, and no endpoint is ever sent a
change of endpoints, so no delivery can lead to another change of one. No payload holds a secret:
the signing secret and the custom headers' values (an `Authorization` header is a credential) show
in an event's `changes` as `[secret]` only.
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


class WebhookEndpointChanged(BaseModel):
    """An admin's change to a webhook endpoint: the endpoint as it is after it (as it was, for a
    deletion). Never its signing secret nor its headers' values."""

    id: str = Field(description="The endpoint's id")
    url: str
    description: str = ""
    event_types: list[str] = Field(description="Its filters; empty: every type")
    enabled: bool
    disabled_reason: str | None = Field(None, description="manual, gone or failing while disabled")
    header_names: list[str] = Field(description="The names of its custom headers (their values are never shown)")
    previous_secret_expires_at: datetime | None = Field(
        None, description="After a rotation: until when the previous secret still signs"
    )


class WebhookSettingsUpdated(BaseModel):
    """The tenant's webhook settings after an admin's change."""

    allow_http: bool
    retention_days: int


for event_type, what in (
    ("webhook.endpoint_created", "An admin registered a webhook endpoint (its secret is in no event)."),
    ("webhook.endpoint_updated", "An admin changed a webhook endpoint (its URL, filters, headers, rate or enabled)."),
    ("webhook.endpoint_deleted", "An admin deleted a webhook endpoint."),
    ("webhook.endpoint_secret_rotated", "An admin rotated a webhook endpoint's signing secret (the old signs 24 h)."),
):
    catalogue.register(event_type, WebhookEndpointChanged, producer=PRODUCER, description=what)


class WebhookMessageResent(BaseModel):
    """An admin sent a message of the delivery log again: a resend, or one of a recovery's."""

    message_id: str
    endpoint_id: str
    event_id: str = Field(description="The event the message carries")
    event_type: str


class WebhookTestSent(BaseModel):
    """An admin sent a test event (`webhook.test`) to one endpoint: one message of its delivery log."""

    message_id: str
    endpoint_id: str


catalogue.register(
    "webhook.message_resent",
    WebhookMessageResent,
    producer=PRODUCER,
    description="An admin sent a delivered or failed webhook message again (a resend or a recovery).",
)
catalogue.register(
    "webhook.test_sent",
    WebhookTestSent,
    producer=PRODUCER,
    description="An admin sent a test event to a webhook endpoint.",
)
catalogue.register(
    "webhook.settings_updated",
    WebhookSettingsUpdated,
    producer=PRODUCER,
    description="An admin changed the tenant's webhook settings (allow_http, retention_days).",
)
