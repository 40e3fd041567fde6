"""The directory's commands and queries: handlers call these, these call the domain and store.

Every command builds one UnitOfWork (records, outbox events, counters) and commits it at once.
Every read checks access with the domain's rules; a record the caller may not see is a 404,
the same answer as a record that does not exist, so ids of other tenants or owners leak nothing.
"""

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from services.directory import events as ev
from services.directory.domain import access
from services.directory.domain.models import (
    Module,
    Owner,
    PicklistItem,
    PicklistName,
    Role,
    TenantSettings,
    check_picklist_values,
    default_picklists,
    format_number,
)
from services.directory.store import DirectoryStore, Placement, Record, new_record, place_record
from shared import clock
from shared.auth import AuthContext
from shared.errors import FieldError, Forbidden, NotFound, ValidationFailed
from shared.events import Actor, new_event
from shared.ids import new_id
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.store import AlreadyApplied, UnitOfWork, run_with_retries

M = TypeVar("M", bound=BaseModel)

SETTINGS_ID = "settings"


@dataclass
class Caller:
    """The caller of one request, with the tenant's settings loaded once."""

    auth: AuthContext
    store: DirectoryStore
    signing_key: bytes
    settings: TenantSettings = field(default_factory=TenantSettings)
    _group_members: dict[str, set[str]] | None = None

    @property
    def tenant(self) -> str:
        return self.auth.tenant_id

    @property
    def role(self) -> Role:
        return self.auth.role

    @property
    def actor(self) -> Actor:
        return Actor(type="user", id=self.auth.user_id)

    def group_members(self) -> dict[str, set[str]]:
        """Members of the caller's groups (a manager sees their team's records)."""
        if self._group_members is None:
            self._group_members = {
                group: {r.data["user_id"] for r in self.store.children(self.tenant, "group", group, "membership")}
                for group in self.auth.groups
            }
        return self._group_members

    def _team(self) -> dict[str, set[str]] | None:
        return self.group_members() if self.role == Role.MANAGER else None

    def visible_owners(self, module: Module) -> set[str] | None:
        return access.visible_owner_ids(
            self.role, self.auth.user_id, self.auth.groups, module, self.settings, self._team()
        )

    def can_read(self, module: Module, owner: Owner, public: bool = False) -> bool:
        return access.can_read(
            self.role, self.auth.user_id, self.auth.groups, module, self.settings, owner, self._team(), public
        )

    def can_write(self, owner: Owner) -> bool:
        return access.can_write(self.role, self.auth.user_id, self.auth.groups, owner, self._team())

    def can_delete(self, owner: Owner) -> bool:
        return access.can_delete(self.role, self.auth.user_id, self.auth.groups, owner, self._team())

    def require_admin(self) -> None:
        if self.role != Role.ADMIN:
            raise Forbidden("Only an admin of the tenant may do this.")

    def event(self, event_type: str, payload: BaseModel, event_id: str | None = None) -> Any:
        return new_event(event_type, self.tenant, payload, actor=self.actor, event_id=event_id)


# ----------------------------------------------------------------------------- tenants


def ensure_tenant(caller: Caller) -> None:
    """Load the tenant's settings; a tenant seen for the first time gets its defaults installed."""
    record = caller.store.get(caller.tenant, "settings", SETTINGS_ID)
    if record is not None:
        caller.settings = TenantSettings.model_validate(record.data)
        return
    uow = UnitOfWork()
    install_defaults(uow, caller.tenant)
    with suppress(AlreadyApplied):  # another request installed them first
        uow.commit()


def install_defaults(uow: UnitOfWork, tenant_id: str) -> None:
    """A new tenant's settings and picklists; the transaction fails with AlreadyApplied if it has them."""
    uow.save(
        new_record(tenant_id, "settings", SETTINGS_ID, TenantSettings().model_dump(), Placement()),
        condition=Record.pk.does_not_exist(),
        on_conflict=AlreadyApplied,
    )
    for name, items in default_picklists().items():
        data = {"items": [i.model_dump() for i in items]}
        uow.save(new_record(tenant_id, "picklist", name.value, data, Placement()))


def picklists(caller: Caller) -> dict[PicklistName, list[PicklistItem]]:
    ids = [name.value for name in PicklistName]
    records = caller.store.get_many(caller.tenant, "picklist", ids)
    return {
        PicklistName(name): [PicklistItem.model_validate(i) for i in records[name].data.get("items", [])]
        for name in ids
        if name in records
    }


def check_picklists(caller: Caller, values: BaseModel | dict[str, Any]) -> None:
    errors = check_picklist_values(values, picklists(caller))
    if errors:
        raise ValidationFailed("Some values are not in the tenant's lists.", errors)


# ----------------------------------------------------------------------------- generic records


def model_of(record: Record, model: type[M]) -> M:
    return model.model_validate({**record.data, "version": record.version})


def readable(caller: Caller, kind: str, record_id: str, module: Module) -> Record:
    """A record the caller may see, or 404."""
    record = caller.store.get(caller.tenant, kind, record_id)
    if record is None:
        raise NotFound(f"No {kind.replace('_', ' ')} {record_id}.")
    owner = Owner.model_validate(record.data["owner"])
    if not caller.can_read(module, owner, public=bool(record.data.get("public"))):
        raise NotFound(f"No {kind.replace('_', ' ')} {record_id}.")
    return record


def writable(caller: Caller, kind: str, record_id: str, module: Module) -> Record:
    record = readable(caller, kind, record_id, module)
    if not caller.can_write(Owner.model_validate(record.data["owner"])):
        raise Forbidden(f"You may see this {kind.replace('_', ' ')} but not change it.")
    return record


def check_owner(caller: Caller, uow: UnitOfWork, owner: Owner, field_name: str = "owner") -> None:
    """The caller may give records to this owner, and the owner exists."""
    if not access.can_assign_owner(caller.role, caller.auth.user_id, caller.auth.groups, owner, caller._team()):
        raise ValidationFailed.on(field_name, "You may not give records to this owner.", "owner_not_allowed")
    if owner.type == "user" and owner.id == caller.auth.user_id:
        return  # the caller is a user of the tenant by their token
    require_exists(caller, uow, owner.type, owner.id, f"{field_name}.id")


def require_exists(caller: Caller, uow: UnitOfWork, kind: str, record_id: str, field_name: str) -> None:
    """Commit only if that record exists at commit time (a transactional reference check)."""
    from services.directory.store import record_key

    message = f"No {kind.replace('_', ' ')} {record_id}."
    uow.check(
        Record,
        record_key(caller.tenant, kind, record_id),
        kind.upper(),
        Record.pk.exists(),
        lambda: ValidationFailed.on(field_name, message, "not_found"),
    )


def page(
    caller: Caller,
    scope: str,
    cursor: str | None,
    limit: int,
    fetch: Callable[[str | None, int], list[Record]],
    model: type[M],
) -> Page[M]:
    """One page of a list; the cursor is the last id, signed for this list and tenant."""
    scope = f"{caller.tenant}:{scope}"
    after = decode_cursor(cursor, scope, caller.signing_key)["after"] if cursor else None
    records = fetch(after, limit + 1)
    items = [model_of(r, model) for r in records[:limit]]
    next_cursor = None
    if len(records) > limit:
        next_cursor = encode_cursor({"after": records[limit - 1].record_id}, scope, caller.signing_key)
    return Page[model](items=items, next_cursor=next_cursor)  # type: ignore[valid-type]


def owned_page(caller: Caller, kind: str, module: Module, cursor: str | None, limit: int, model: type[M]) -> Page[M]:
    """A list of records of a kind, restricted to the owners the caller may see."""
    owners = caller.visible_owners(module)
    if owners is None:
        return page(
            caller, kind, cursor, limit, lambda a, n: caller.store.page_by_type(caller.tenant, kind, a, n), model
        )
    return page(
        caller,
        kind,
        cursor,
        limit,
        lambda a, n: caller.store.page_by_owners(caller.tenant, kind, owners, a, n),
        model,
    )


def number_for(caller: Caller, uow: UnitOfWork, module: Module) -> str:
    return format_number(caller.settings, module, uow.take_number(caller.tenant, module))


def commit(command: Callable[[], M]) -> M:
    """Run a command, again if a concurrent writer took the same counter or version."""
    result: M = run_with_retries(command)
    return result


def field_error(field_name: str, message: str, code: str = "invalid") -> FieldError:
    return FieldError(field=field_name, message=message, code=code)


__all__ = [
    "Caller",
    "check_owner",
    "check_picklists",
    "clock",
    "commit",
    "ensure_tenant",
    "ev",
    "field_error",
    "model_of",
    "new_id",
    "new_record",
    "number_for",
    "owned_page",
    "page",
    "place_record",
    "readable",
    "require_exists",
    "writable",
]
