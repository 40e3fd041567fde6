"""The event envelope and the catalogue where every event type is registered once."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared import clock
from shared.ids import new_id


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: str = Field(description="user, system or service")
    id: str


SYSTEM = Actor(type="system", id="kontakt")


class Cause(BaseModel):
    """One link of an event's causation chain: an event that led to it, and the automation (a
    workflow) that acted on that event for a record, if one did."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    event_type: str
    automation_id: str | None = Field(None, description="The workflow that acted on the event, if one did")
    record_id: str | None = Field(None, description="The record the automation acted for")


class Envelope(BaseModel):
    """What travels on the bus, as EventBridge's `detail`. `detail-type` is `type`."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The event's id (a ULID); consumers dedupe on it")
    type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$", description="`<entity>.<verb>`, also the `detail-type`")
    version: int = Field(1, description="The version of the payload's shape for this type")
    tenant_id: str = Field(description="The tenant the event belongs to")
    occurred_at: datetime = Field(description="When it happened (UTC)")
    actor: Actor = Field(description="Who caused it: a user, the system or a service")
    correlation_id: str = Field(description="The id of the request or event that started the chain")
    causation: list[Cause] = Field(
        default_factory=list,
        description="The events that led to this one, oldest first (empty: a person's request or a schedule "
        "started it); an automation reads it to stop loops",
    )
    data: dict[str, Any] = Field(description="The payload: the registered model of this type, as JSON")


@dataclass(frozen=True)
class EventSpec:
    event_type: str
    version: int
    producer: str
    payload: type[BaseModel]
    description: str


class Catalogue:
    def __init__(self) -> None:
        self._specs: dict[str, EventSpec] = {}

    def register(
        self, event_type: str, payload: type[BaseModel], *, producer: str, description: str, version: int = 1
    ) -> EventSpec:
        if event_type in self._specs:
            raise ValueError(f"event type {event_type} is registered twice")
        spec = EventSpec(event_type, version, producer, payload, description)
        self._specs[event_type] = spec
        return spec

    def spec(self, event_type: str) -> EventSpec:
        try:
            return self._specs[event_type]
        except KeyError:
            raise KeyError(f"event type {event_type} is not in the catalogue") from None

    def all(self) -> list[EventSpec]:
        return sorted(self._specs.values(), key=lambda s: s.event_type)


catalogue = Catalogue()


# The most recent links an envelope keeps: a cascade through every service is far shorter, and an
# automation's loop guard stops a chain at 5 of its own actions; an envelope stays small (EventBridge
# takes 256 KB) whatever chain a fault might make.
MAX_CAUSATION = 32

# The chain of the event a consumer is handling: what an event published meanwhile was caused by.
_causes: ContextVar[tuple[Cause, ...]] = ContextVar("causes", default=())


def chain_of(envelope: Envelope, automation_id: str | None = None, record_id: str | None = None) -> list[Cause]:
    """The causation of an event caused by `envelope` (by an automation acting for a record)."""
    link = Cause(event_id=envelope.id, event_type=envelope.type, automation_id=automation_id, record_id=record_id)
    return [*envelope.causation, link][-MAX_CAUSATION:]


@contextmanager
def handling(envelope: Envelope) -> Iterator[None]:
    """Events made while a consumer handles `envelope` carry it at the end of their causation
    (shared/consumer.py opens this around every handler), so a chain survives any service."""
    token = _causes.set(tuple(chain_of(envelope)))
    try:
        yield
    finally:
        _causes.reset(token)


def new_event(
    event_type: str,
    tenant_id: str,
    data: BaseModel,
    *,
    actor: Actor = SYSTEM,
    correlation_id: str | None = None,
    event_id: str | None = None,
    causation: list[Cause] | None = None,
) -> Envelope:
    """An envelope for a registered event type; the payload must be that type's model.

    `causation`: its chain (default: the chain of the event being handled, if any)."""
    spec = catalogue.spec(event_type)
    if not isinstance(data, spec.payload):
        raise TypeError(f"{event_type} takes {spec.payload.__name__}, not {type(data).__name__}")
    event_id = event_id or new_id()
    return Envelope(
        id=event_id,
        type=event_type,
        version=spec.version,
        tenant_id=tenant_id,
        occurred_at=clock.now(),
        actor=actor,
        correlation_id=correlation_id or event_id,
        causation=list(_causes.get()) if causation is None else causation,
        data=data.model_dump(mode="json"),
    )


def payload_of(envelope: Envelope) -> BaseModel:
    """The typed payload of a received envelope."""
    return catalogue.spec(envelope.type).payload.model_validate(envelope.data)
