"""Webhook endpoints: what a client sends and gets back."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

from services.webhooks.catalogue import filters
from shared.types import INPUT, OUTPUT, reject_null

Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
# https, or http to loopback (allowed under `kontakt dev` only; services/webhooks/endpoints.py).
Url = Annotated[
    str,
    StringConstraints(
        max_length=2048,
        pattern=r"^(https://[A-Za-z0-9.-]+|http://(localhost|127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|\[::1\]))"
        r"(:[0-9]{1,5})?(/[!-~]*)?$",
    ),
    Field(description="https://...; http:// only to loopback under `kontakt dev`"),
]
# An event type a webhook may receive, or `<prefix>.*` of one (the generated catalogue file).
if TYPE_CHECKING:
    EventFilter = str
else:
    EventFilter = Literal[filters()]
HeaderName = Annotated[str, StringConstraints(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")]
HeaderValue = Annotated[str, StringConstraints(pattern=r"^[\x20-\x7e]{0,500}$")]
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
