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

    id: str
    type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    version: int = 1
    tenant_id: str
    occurred_at: datetime
    actor: Actor
    correlation_id: str
    data: dict[str, Any]


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
