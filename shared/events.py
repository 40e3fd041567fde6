"""The event envelope and the catalogue where every event type is registered once."""

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_jsonable_python

from shared import clock
from shared.ids import new_id


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: str = Field(description="user, key (an API key acting as a service user of its tenant), system or service")
    id: str


class Origin(BaseModel):
    """Where the request that started an event's chain came from (none: a schedule or the system)."""

    model_config = ConfigDict(frozen=True)

    request_id: str = Field(max_length=128, description="The request's id (its `X-Request-Id`)")
    ip: str | None = Field(None, max_length=64, description="The client's address as API Gateway saw it")
    user_agent: str | None = Field(None, max_length=256, description="The client's `User-Agent`, cut to 256")


class Change(BaseModel):
    """One field an update changed: its value before and after (`[erased]` where personal data was
    erased; a text over 500 characters is cut, a list or object over 1000 bytes stands as its size)."""

    model_config = ConfigDict(frozen=True)

    field: str
    old: Any = None
    new: Any = None


# Constructed, not validated: validating at import would build Actor's validator in every cold start (~2 ms).
SYSTEM = Actor.model_construct(type="system", id="kontakt")


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
    origin: Origin | None = Field(
        None,
        description="The request that started the chain (its id, IP, user agent); none for a schedule's work. "
        "Kept for the audit trail: a webhook's body leaves it out",
    )
    changes: list[Change] = Field(
        default_factory=list, description="An update's changed fields, old and new (the audit trail's `what`)"
    )

    def outward_json(self) -> str:
        """The envelope as it leaves Kontakt (a webhook's body): without `origin`, the requesting
        person's IP address and user agent, which are personal data kept for the audit trail only."""
        return self.model_dump_json(exclude={"origin"})


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
# The request (or the handled event's request) and correlation id of the events made now: set by the
# API entry for a request (`requesting`) and by `handling` for a consumer, so no service passes them.
_origin: ContextVar[Origin | None] = ContextVar("origin", default=None)
_correlation: ContextVar[str | None] = ContextVar("correlation", default=None)


def chain_of(envelope: Envelope, automation_id: str | None = None, record_id: str | None = None) -> list[Cause]:
    """The causation of an event caused by `envelope` (by an automation acting for a record)."""
    link = Cause(event_id=envelope.id, event_type=envelope.type, automation_id=automation_id, record_id=record_id)
    return [*envelope.causation, link][-MAX_CAUSATION:]


@contextmanager
def handling(envelope: Envelope) -> Iterator[None]:
    """Events made while a consumer handles `envelope` carry it at the end of their causation
    (shared/consumer.py opens this around every handler), so a chain survives any service."""
    token = _causes.set(tuple(chain_of(envelope)))
    origin = _origin.set(envelope.origin)
    correlation = _correlation.set(envelope.correlation_id)  # the chain keeps the id it started with
    try:
        yield
    finally:
        _correlation.reset(correlation)
        _origin.reset(origin)
        _causes.reset(token)


@contextmanager
def requesting(origin: Origin) -> Iterator[None]:
    """Events made during an API request carry its origin, and its id as their correlation id
    (shared/entry.py opens this around every HTTP handler)."""
    token = _origin.set(origin)
    correlation = _correlation.set(origin.request_id or None)
    try:
        yield
    finally:
        _correlation.reset(correlation)
        _origin.reset(token)


# An event's changes stay small (EventBridge takes 256 KB an event): a text value is cut at
# MAX_CHANGE_TEXT characters, a list or object larger than MAX_CHANGE_JSON bytes stands as its size,
# at most MAX_CHANGES fields are listed (the payload's `changed` names them all).
MAX_CHANGE_TEXT = 500
MAX_CHANGE_JSON = 1000
MAX_CHANGES = 40
MASKED = "[erased]"
SECRET = "[secret]"
# Bookkeeping every update changes: not what a person changed.
UNAUDITED_FIELDS = frozenset({"version", "updated_at", "updated_by"})


def changes_of(
    before: BaseModel | Mapping[str, Any] | None,
    after: BaseModel | Mapping[str, Any],
    fields: Iterable[str] | None = None,
    *,
    mask_old: bool = False,
    secret: Iterable[str] = (),
) -> list[Change]:
    """The fields whose value differs between a record's `before` and `after` (dicts or models, as
    JSON), old -> new; `fields` limits them (e.g. the fields a PATCH sent). `mask_old`: the old
    values are personal data being erased, recorded as `MASKED`. `secret`: fields (passwords,
    tokens) recorded as changed, both values as `SECRET`: events and the audit trail never hold them."""
    old, new = _as_json(before or {}), _as_json(after)
    names = sorted(fields) if fields is not None else sorted(set(old) | set(new))
    found = []
    for name in names:
        if name in UNAUDITED_FIELDS or old.get(name) == new.get(name):
            continue
        if name in secret:
            found.append(Change(field=name, old=_hidden(old.get(name)), new=_hidden(new.get(name))))
            continue
        shown = MASKED if mask_old and old.get(name) is not None else _small(old.get(name))
        found.append(Change(field=name, old=shown, new=_small(new.get(name))))
    return found[:MAX_CHANGES]


def _hidden(value: Any) -> str | None:
    return None if value in (None, "") else SECRET


def _as_json(value: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return dict(value.model_dump(mode="json"))
    return dict(to_jsonable_python(dict(value)))


def _small(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_CHANGE_TEXT else value[:MAX_CHANGE_TEXT] + "…"
    if isinstance(value, list | dict):
        size = len(json.dumps(value, separators=(",", ":")))
        return value if size <= MAX_CHANGE_JSON else f"[{size} bytes]"
    return value


def new_event(
    event_type: str,
    tenant_id: str,
    data: BaseModel,
    *,
    actor: Actor = SYSTEM,
    correlation_id: str | None = None,
    event_id: str | None = None,
    causation: list[Cause] | None = None,
    changes: list[Change] | None = None,
) -> Envelope:
    """An envelope for a registered event type; the payload must be that type's model.

    `causation`: its chain (default: the chain of the event being handled, if any).
    `correlation_id` (default): the request's id during a request, the handled event's in a
    consumer, else the event's own. The origin is the request's (or the handled event's).
    `changes`: an update's fields old -> new (`changes_of`)."""
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
        correlation_id=correlation_id or _correlation.get() or event_id,
        causation=list(_causes.get()) if causation is None else causation,
        data=data.model_dump(mode="json"),
        origin=_origin.get(),
        changes=changes or [],
    )


def payload_of(envelope: Envelope) -> BaseModel:
    """The typed payload of a received envelope."""
    return catalogue.spec(envelope.type).payload.model_validate(envelope.data)
