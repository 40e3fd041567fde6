"""The event envelope and the catalogue where every event type is registered once."""

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


def new_event(
    event_type: str,
    tenant_id: str,
    data: BaseModel,
    *,
    actor: Actor = SYSTEM,
    correlation_id: str | None = None,
    event_id: str | None = None,
) -> Envelope:
    """An envelope for a registered event type; the payload must be that type's model."""
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
        data=data.model_dump(mode="json"),
    )


def payload_of(envelope: Envelope) -> BaseModel:
    """The typed payload of a received envelope."""
    return catalogue.spec(envelope.type).payload.model_validate(envelope.data)
