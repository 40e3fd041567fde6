"""Webhook endpoints: what a client sends and gets back."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

from services.webhooks.catalogue import filters
from shared.types import INPUT, OUTPUT, reject_null

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
_PORT = r"([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# The rules the handler applies beyond the pattern are services/webhooks/urls.py's.
Url = Annotated[
    str,
    StringConstraints(max_length=2048, pattern=rf"^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:{_PORT})?(/[!-~]*)?$"),
    Field(
        description="https://, or http:// only when the tenant's webhook settings have `allow_http` (else a 422 "
        "`http_not_allowed`; loopback http is always allowed under `kontakt dev`). The host is resolved when the "
        "URL is saved: a 422 `outbound_refused` when any of its addresses is not a public internet one (loopback, "
        "private, link-local and the metadata service, CGNAT, multicast, unspecified, unique-local, and the "
        "IPv4-mapped forms of those) unless the stack's OutboundAllow allows it, `unresolvable_host` when it "
        "resolves to none"
    ),
]
# An event type a webhook may receive, or `<prefix>.*` of one (the generated catalogue file).
if TYPE_CHECKING:
    EventFilter = str
else:
    EventFilter = Literal[filters()]
HeaderName = Annotated[str, StringConstraints(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")]
HeaderValue = Annotated[str, StringConstraints(pattern=r"^[\x20-\x7e]{0,500}$")]
# Why an endpoint is disabled: an admin turned it off, it answered 410 Gone, or it had no success for days.
DisabledReason = Literal["gone", "failing", "manual"]
GONE: DisabledReason = "gone"
FAILING: DisabledReason = "failing"
MANUAL: DisabledReason = "manual"
RateLimit = Annotated[int, Field(ge=1, le=1000, description="Requests per second at most")]


class EndpointCreate(BaseModel):
    model_config = INPUT

    url: Url
    description: Description = ""
    event_types: list[EventFilter] = Field(
        default_factory=list, max_length=100, description="Exact types or `<prefix>.*`; empty: every type"
    )
    enabled: bool = True
    rate_limit: RateLimit | None = None
    headers: dict[HeaderName, HeaderValue] = Field(
        default_factory=dict,
        max_length=10,
        json_schema_extra={"additionalProperties": False},
        description="Sent with every request; not hop-by-hop, content-type, user-agent nor webhook-*",
    )


class EndpointUpdate(BaseModel):
    model_config = INPUT

    url: Url | None = None
    description: Description | None = None
    event_types: list[EventFilter] | None = Field(None, max_length=100)
    enabled: bool | None = None
    rate_limit: RateLimit | None = Field(None, description="null: no limit")
    headers: dict[HeaderName, HeaderValue] | None = Field(
        None, max_length=10, json_schema_extra={"additionalProperties": False}
    )

    _not_null = field_validator("url", "description", "event_types", "enabled", "headers")(reject_null)


class Endpoint(BaseModel):
    model_config = OUTPUT

    id: str
    url: str
    description: str = ""
    event_types: list[str] = []
    enabled: bool = True
    rate_limit: int | None = None
    headers: dict[str, str] = {}
    disabled_reason: DisabledReason | None = Field(
        None,
        description="Why `enabled` is false: `manual` (an admin), `gone` (the endpoint answered 410 Gone) or "
        "`failing` (no successful delivery for days); null while enabled. `enabled: true` clears it",
    )
    disabled_at: datetime | None = Field(None, description="When the endpoint was disabled; null while enabled")
    secret_prefix: str = Field(description="The signing secret's first characters (the whole one is shown once)")
    created_by: str
    created_at: datetime
    version: int = 1


class EndpointWithSecret(Endpoint):
    secret: str = Field(description="The signing secret, `whsec_<base64>`: shown only in this answer")
    previous_secret_expires_at: datetime | None = None


class EventType(BaseModel):
    model_config = OUTPUT

    type: str
    version: int
    description: str
    schema_: dict = Field(alias="schema", serialization_alias="schema")  # type: ignore[type-arg]
    example: dict  # type: ignore[type-arg]
