"""The tenant's webhook settings: whether endpoints may use plain http, and how long the delivery
log (message and attempt records) is kept."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator

from shared.types import INPUT, OUTPUT, reject_null

MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 90
DEFAULT_RETENTION_DAYS = 30

RetentionDays = Annotated[int, Field(ge=MIN_RETENTION_DAYS, le=MAX_RETENTION_DAYS)]


class WebhookSettings(BaseModel):
    """The tenant's webhook settings as stored and shown."""

    model_config = OUTPUT

    allow_http: bool = Field(
        False,
        description="Endpoint URLs may use plain http:// to any host (else https only; loopback http is always "
        "allowed under `kontakt dev`)",
    )
    retention_days: int = Field(
        DEFAULT_RETENTION_DAYS,
        ge=MIN_RETENTION_DAYS,
        le=MAX_RETENTION_DAYS,
        description="Days the delivery log keeps each message and attempt record",
    )


class WebhookSettingsUpdate(BaseModel):
    """A JSON Merge Patch of the settings: what is sent replaces what is stored."""

    model_config = INPUT

    allow_http: bool | None = Field(
        None,
        description="false is refused (409, each such endpoint named) while an endpoint uses http:// (but "
        "loopback under `kontakt dev`): change those to https or delete them first",
    )
    retention_days: RetentionDays | None = Field(None, description="1-90; applies to the records written from then on")

    _not_null = field_validator("allow_http", "retention_days", mode="before")(reject_null)

    def merged(self, current: WebhookSettings) -> WebhookSettings:
        changes: dict[str, Any] = self.model_dump(mode="json", exclude_unset=True)
        return WebhookSettings.model_validate({**current.model_dump(mode="json"), **changes})
