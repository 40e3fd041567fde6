"""The activities service's caller context, tenant setup and access rules.

Access [002 Käyttöoikeudet, with its exception for activities]: activities are shared calendar
entries, so everyone in the tenant sees them; the responsible user, the creator, managers and
admins change and delete them. Feature modules add their own rules (contact orders have their
permission set).

A tenant seen for the first time gets its default lists installed (activity types, the CRM
classification of seed 001, and whatever feature modules register with `register_default`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from services.activities.store import ActivitiesStore, Record, new_record
from shared.auth import AuthContext, Role
from shared.errors import Forbidden
from shared.events import Actor, Envelope, new_event
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.store import AlreadyApplied, UnitOfWork, run_with_retries

M = TypeVar("M", bound=BaseModel)

SETTING = "setting"
_DEFAULTS: dict[str, Callable[[], dict[str, Any]]] = {}


def register_default(name: str, factory: Callable[[], dict[str, Any]]) -> None:
    """A tenant setting (stored as one record) and its value for a new tenant."""
    _DEFAULTS[name] = factory


@dataclass
class Caller:
    """The caller of one request (or a service acting for a tenant)."""

    auth: AuthContext
    store: ActivitiesStore
    signing_key: bytes = b""
    _settings: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def tenant(self) -> str:
        return self.auth.tenant_id

    @property
    def user_id(self) -> str:
        return self.auth.user_id

    @property
    def role(self) -> Role:
        return self.auth.role

    @property
    def actor(self) -> Actor:
        kind = "service" if self.user_id.startswith("service:") else "user"
        return Actor(type=kind, id=self.user_id)

    @property
    def is_manager(self) -> bool:
        return self.role in (Role.ADMIN, Role.MANAGER)

    def require_admin(self) -> None:
        if self.role != Role.ADMIN:
            raise Forbidden("Only an admin of the tenant may do this.")

    def require_manager(self) -> None:
        if not self.is_manager:
            raise Forbidden("Only a manager or an admin may do this.")

    def event(self, event_type: str, payload: BaseModel, event_id: str | None = None) -> Envelope:
        return new_event(event_type, self.tenant, payload, actor=self.actor, event_id=event_id)

    def setting(self, name: str) -> dict[str, Any]:
        """A tenant setting's value, read once per request."""
        if name not in self._settings:
            record = self.store.get(self.tenant, SETTING, name)
            self._settings[name] = record.data if record else _DEFAULTS[name]()
        return self._settings[name]

    def setting_record(self, name: str) -> Record:
        record = self.store.get(self.tenant, SETTING, name)
        return record or new_record(self.tenant, SETTING, name, _DEFAULTS[name]())

    def save_setting(self, name: str, value: dict[str, Any]) -> None:
        """Replace a setting; the version check refuses a save over someone else's."""
        record = self.setting_record(name)
        uow = UnitOfWork()
        self.store.replace(uow, record, value)
        uow.commit()
        self._settings[name] = value


def service_caller(tenant_id: str, service: str = "activities") -> Caller:
    """A caller for work a service does for a tenant (consumers, jobs): an admin of that tenant."""
    auth = AuthContext(tenant_id=tenant_id, user_id=f"service:{service}", role=Role.ADMIN)
    caller = Caller(auth=auth, store=ActivitiesStore())
    ensure_tenant(caller)
    return caller


def ensure_tenant(caller: Caller) -> None:
    """Install the default settings of a tenant seen for the first time."""
    marker = caller.store.get(caller.tenant, SETTING, "installed")
    if marker is not None and set(marker.data.get("names", [])) >= set(_DEFAULTS):
        return
    installed = set(marker.data.get("names", [])) if marker else set()
    uow = UnitOfWork()
    for name, factory in _DEFAULTS.items():
        if name not in installed:
            uow.save(
                new_record(caller.tenant, SETTING, name, factory()),
                condition=Record.pk.does_not_exist(),
                on_conflict=AlreadyApplied,
            )
    names = sorted(installed | set(_DEFAULTS))
    if marker is None:
        uow.save(
            new_record(caller.tenant, SETTING, "installed", {"names": names}),
            condition=Record.pk.does_not_exist(),
            on_conflict=AlreadyApplied,
        )
    else:
        caller.store.replace(uow, marker, {"names": names})
    with suppress(AlreadyApplied):  # another request installed them first
        uow.commit()


def model_of(record: Record, model: type[M]) -> M:
    return model.model_validate({"id": record.record_id, **record.data, "version": record.version})


def page(
    caller: Caller,
    scope: str,
    cursor: str | None,
    limit: int,
    fetch: Callable[[dict[str, Any] | None, int], list[Record]],
    position: Callable[[Record], dict[str, Any]],
    model: type[M],
) -> Page[M]:
    """One page of a list; the cursor is the last item's position, signed for this list and tenant."""
    scope = f"{caller.tenant}:{scope}"
    after = decode_cursor(cursor, scope, caller.signing_key) if cursor else None
    records = fetch(after, limit + 1)
    items = [model_of(r, model) for r in records[:limit]]
    next_cursor = None
    if len(records) > limit:
        next_cursor = encode_cursor(position(records[limit - 1]), scope, caller.signing_key)
    return Page[model](items=items, next_cursor=next_cursor)  # type: ignore[valid-type]


def commit(command: Callable[[], M]) -> M:
    """Run a command, again if a concurrent writer saved the same record in between."""
    result: M = run_with_retries(command)
    return result
