"""The audit trail's records and rules: pure, no store.

An audit record is what one bus event says about a change: who (the envelope's actor: a user, an
API key, a service or the system), when (`occurred_at`), from where (the request's origin and
correlation id), what (the event type, the entity it is about, the fields changed old -> new). It
copies no payload: only the envelope's `changes` carry values, and those of an erased contact are
masked (`masked`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, field_validator

from shared.events import MASKED, Actor, Change, Envelope, Origin
from shared.types import INPUT, OUTPUT, reject_null

MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650
DEFAULT_RETENTION_DAYS = 365
# The payload fields that name the entity of an event whose payload has no `id` (or `<entity>_id`),
# in the order tried: a message, a request, an endpoint, an inbound text, then the contact.
ENTITY_ID_FIELDS = ("message_id", "request_id", "endpoint_id", "inbound_id", "contact_id")
TENANT_ENTITY = "-"  # the entity id of an event about the tenant as a whole (its settings)


class AuditRecord(BaseModel):
    """One audit record: what one event says about a change."""

    model_config = OUTPUT

    id: str = Field(description="The event's id (one record per event)")
    type: str = Field(description="The event type, `<entity>.<verb>`")
    entity_type: str = Field(description="The kind of record changed (the event type's `<entity>`)")
    entity_id: str = Field(description=f"The record's id (`{TENANT_ENTITY}`: the tenant as a whole)")
    occurred_at: datetime = Field(description="When it happened (UTC)")
    actor: Actor = Field(description="Who did it: a user, an API key (`key`), a service or the system")
    correlation_id: str = Field(description="The request id (`X-Request-Id`) or event that started the chain")
    origin: Origin | None = Field(None, description="The request's id, IP and user agent; none for scheduled work")
    changes: list[Change] = Field(default_factory=list, description="The fields changed, old -> new")
    masked: bool = Field(False, description="Personal values were erased from `changes` (GDPR)")


def entity_of(envelope: Envelope) -> tuple[str, str]:
    """The entity an event is about: its type's `<entity>` and the payload's `id`, `<entity>_id` or
    one of `ENTITY_ID_FIELDS`; `TENANT_ENTITY` when it names none (a tenant-wide setting)."""
    entity = envelope.type.split(".", 1)[0]
    data = envelope.data
    for name in ("id", f"{entity}_id", *ENTITY_ID_FIELDS):
        value = data.get(name)
        if isinstance(value, str) and value:
            return entity, value[:128]
    return entity, TENANT_ENTITY


def contact_of(record: AuditRecord, data: dict[str, Any]) -> str | None:
    """The contact whose erasure masks this record: the contact itself, or the one its payload names
    (`contact_id`, or a `*_contact_id`, at the top or in the record it carries: a ticket's requester)."""
    if record.entity_type == "contact":
        return record.entity_id
    for fields in (data, *(value for value in data.values() if isinstance(value, dict))):
        for name, value in fields.items():
            if (name == "contact_id" or name.endswith("_contact_id")) and isinstance(value, str) and value:
                return value
    return None


def record_of(envelope: Envelope) -> AuditRecord:
    entity_type, entity_id = entity_of(envelope)
    return AuditRecord(
        id=envelope.id,
        type=envelope.type,
        entity_type=entity_type,
        entity_id=entity_id,
        occurred_at=envelope.occurred_at.astimezone(UTC),
        actor=envelope.actor,
        correlation_id=envelope.correlation_id,
        origin=envelope.origin,
        changes=envelope.changes,
    )


def masked(record: AuditRecord) -> AuditRecord:
    """The record without personal values: who, when, where from and which fields stay."""
    changes = [Change(field=c.field, old=_mask(c.old), new=_mask(c.new)) for c in record.changes]
    return record.model_copy(update={"changes": changes, "masked": True})


def _mask(value: Any) -> Any:
    return None if value is None else MASKED


# The times a query may name: any other is taken as the nearest of these (no record is older or newer).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def sort_time(moment: datetime) -> str:
    """A time as the records' sort keys spell it: UTC, microseconds, `Z` (text order is time order)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def bounded(moment: datetime) -> datetime:
    """A query's time in UTC, within EARLIEST and LATEST (year 1 in a zone east of UTC is no year)."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        return EARLIEST if moment.year < EARLIEST.year else LATEST
    return min(max(utc, EARLIEST), LATEST)


def expiry(occurred_at: datetime, retention_days: int) -> datetime:
    return occurred_at + timedelta(days=retention_days)


class AuditSetup(BaseModel):
    """The tenant's audit settings as stored and shown."""

    model_config = OUTPUT

    retention_days: int = Field(
        DEFAULT_RETENTION_DAYS,
        ge=MIN_RETENTION_DAYS,
        le=MAX_RETENTION_DAYS,
        description="Days each audit record is kept (the table's TTL deletes it after)",
    )


class AuditSetupUpdate(BaseModel):
    """A JSON Merge Patch of the settings."""

    model_config = INPUT

    retention_days: int | None = Field(
        None,
        ge=MIN_RETENTION_DAYS,
        le=MAX_RETENTION_DAYS,
        description=f"{MIN_RETENTION_DAYS}-{MAX_RETENTION_DAYS}; applies to the records written from then on",
    )

    _not_null = field_validator("retention_days", mode="before")(reject_null)

    def merged(self, current: AuditSetup) -> AuditSetup:
        return AuditSetup.model_validate({**current.model_dump(), **self.model_dump(exclude_unset=True)})
