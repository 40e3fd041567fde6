"""The directory's caller context, tenant setup and access rules; handlers call the feature modules,
which call these, the domain and the store.

Every command builds one UnitOfWork (records, outbox events, counters) and commits it at once.
Every read checks access with the domain's rules; a record the caller may not see is a 404,
the same answer as a record that does not exist, so ids of other tenants or owners leak nothing.

A tenant exists when provisioning recorded it (`identity.create_tenant`); a request of a tenant
that was never provisioned is refused. Its settings and picklists are kernel settings (`DEFAULTS`),
installed on its first request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

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
from services.directory.features import FEATURES
from services.directory.store import DirectoryStore, Record
from shared import permissions
from shared import service as kernel
from shared.errors import Forbidden, Merged, NotFound, ValidationFailed
from shared.merges import survivor_of
from shared.pagination import Page
from shared.permissions import Action, Policy, Subject
from shared.service import INSTALLED, SETTING, Defaults, M, page
from shared.store import UnitOfWork, record_key

if TYPE_CHECKING:
    from services.directory.matching.rules import MatchingRules

TENANT_KIND = "tenant"
TENANT_SETTINGS = "tenant"  # the setting holding the tenant's TenantSettings

DEFAULTS = Defaults(FEATURES)
DEFAULTS.register(TENANT_SETTINGS, lambda: TenantSettings().model_dump(mode="json"))


def picklist_setting(name: PicklistName) -> str:
    """The setting holding one of the tenant's picklists."""
    return f"picklist.{name.value}"


def _register_picklist(name: PicklistName) -> None:
    DEFAULTS.register(picklist_setting(name), lambda: {"items": [i.model_dump() for i in default_picklists()[name]]})


for _name in PicklistName:
    _register_picklist(_name)


def duplicate_rules_setting(entity: str) -> str:
    """The setting holding the tenant's duplicate-matching rules for `entity` (contacts, accounts)."""
    return f"duplicates.{entity}"


def _default_duplicate_rules(entity: str) -> dict[str, Any]:
    from services.directory.matching.rules import default_rules  # only when a tenant's rules are read

    return default_rules(entity).model_dump(mode="json")  # type: ignore[arg-type]


def _register_duplicate_rules(entity: str) -> None:
    DEFAULTS.register(duplicate_rules_setting(entity), lambda: _default_duplicate_rules(entity))


for _entity in ("contacts", "accounts"):
    _register_duplicate_rules(_entity)
OPENED_WITH = tuple(duplicate_rules_setting(entity) for entity in ("contacts", "accounts"))


@dataclass
class Caller(kernel.Caller):
    """The caller of one directory request, with the directory's ownership rules."""

    store: DirectoryStore = field(default_factory=DirectoryStore)
    defaults: Defaults = field(default=DEFAULTS)
    _group_members: dict[str, set[str]] | None = None
    _parsed_settings: tuple[dict[str, Any], TenantSettings] | None = None
    _parsed_rules: dict[str, tuple[dict[str, Any], MatchingRules]] = field(default_factory=dict)
    _subject: Subject | None = None

    def open(self) -> None:
        """Refuse a tenant provisioning never recorded (403: a token never creates a tenant), then
        install the defaults it lacks. One BatchGetItem reads the tenant, its marker and its settings
        (the duplicate rules too: every account and contact write keys phone numbers by their country)."""
        read = (TENANT_SETTINGS, *OPENED_WITH)
        records = self.store.get_each(
            self.tenant, [(TENANT_KIND, self.tenant), (SETTING, INSTALLED), *((SETTING, name) for name in read)]
        )
        if (TENANT_KIND, self.tenant) not in records:
            raise Forbidden("This tenant does not exist.")
        for name in read:
            setting = records.get((SETTING, name))
            if setting is not None:
                self._settings[name] = setting.data
        kernel.install_defaults(self, records.get((SETTING, INSTALLED)))

    @property
    def settings(self) -> TenantSettings:
        """The tenant's settings, read once per request."""
        value = self.setting(TENANT_SETTINGS)
        if self._parsed_settings is None or self._parsed_settings[0] is not value:
            self._parsed_settings = (value, TenantSettings.model_validate(value))
        return self._parsed_settings[1]

    def duplicate_rules(self, entity: str) -> MatchingRules:
        """The tenant's duplicate-matching rules for `entity` (contacts, accounts): its setting, or
        the defaults a new tenant starts with."""
        from services.directory.matching.rules import parse_rules

        value = self.setting(duplicate_rules_setting(entity))
        parsed = self._parsed_rules.get(entity)
        if parsed is None or parsed[0] is not value:  # parsed once per value (an import checks every row)
            parsed = self._parsed_rules[entity] = (value, parse_rules(entity, value))  # type: ignore[arg-type]
        return parsed[1]

    def group_members(self) -> dict[str, set[str]]:
        """Members of the caller's groups (a manager sees their team's records)."""
        if self._group_members is None:
            self._group_members = {
                group: {r.data["user_id"] for r in self.store.children(self.tenant, "group", group, "membership")}
                for group in self.auth.groups
            }
        return self._group_members

    def team(self) -> dict[str, set[str]] | None:
        """A manager's team, read only when the policy limits managers to it."""
        limited = self.role == Role.MANAGER and not self.policy.managers_see_all
        return self.group_members() if limited else None

    @property
    def subject(self) -> Subject:
        """The caller for the kernel's permission check (a manager's team read once)."""
        if self._subject is None:
            self._subject = access.subject(self.role, self.user_id, self.auth.groups, self.team())
        return self._subject

    @property
    def policy(self) -> Policy:
        return access.policy(self.settings)

    def allows(self, action: Action, module: str, owner: Owner | None = None, public: bool = False) -> bool:
        return permissions.allows(self.subject, action, module, owner, self.policy, public=public)

    def visible_owners(self, module: Module) -> set[str] | None:
        return permissions.visible_owners(self.subject, module, self.policy)

    def can_read(self, module: Module, owner: Owner, public: bool = False) -> bool:
        return self.allows(Action.VIEW, module, owner, public)

    def can_write(self, owner: Owner) -> bool:
        return self.allows(Action.CHANGE, "", owner)

    def can_delete(self, owner: Owner) -> bool:
        return self.allows(Action.DELETE, "", owner)

    def can_reassign(self, owner: Owner) -> bool:
        """Whether the caller may change the owner of a record `owner` owns now."""
        return self.allows(Action.ASSIGN, "", owner)


def service_caller(tenant_id: str, service: str = "directory", *, open_tenant: bool = True) -> Caller:
    """A caller for work this service does for a tenant (consumers, jobs): an admin of that tenant."""
    return kernel.service_caller(Caller, tenant_id, service, open_tenant=open_tenant)


def acting_caller(tenant_id: str, user_id: str) -> Caller:
    """A caller acting for one user outside a request, with an admin's reach (see `kernel.acting_caller`)."""
    return kernel.acting_caller(Caller, tenant_id, user_id)


# ----------------------------------------------------------------------------- picklists


def picklists(caller: Caller) -> dict[PicklistName, list[PicklistItem]]:
    values = caller.settings_of([picklist_setting(name) for name in PicklistName])
    return {
        name: [PicklistItem.model_validate(i) for i in values[picklist_setting(name)].get("items", [])]
        for name in PicklistName
    }


def check_picklists(caller: Caller, values: BaseModel | dict[str, Any]) -> None:
    errors = check_picklist_values(values, picklists(caller))
    if errors:
        raise ValidationFailed("Some values are not in the tenant's lists.", errors)


# ----------------------------------------------------------------------------- records and their owners


MERGEABLE = ("account", "contact")


def readable(caller: Caller, kind: str, record_id: str, module: Module) -> Record:
    """A record the caller may see, or 404; a merged account or contact whose survivor the caller
    may see: `Merged` (301 on a GET, else 410, naming the survivor)."""
    record = caller.store.get(caller.tenant, kind, record_id)
    if record is None or record.data.get("merged_into"):
        _moved(caller, kind, record_id, module, record)
        raise NotFound(f"No {kind.replace('_', ' ')} {record_id}.")
    owner = Owner.model_validate(record.data["owner"])
    if not caller.can_read(module, owner, public=bool(record.data.get("public"))):
        raise NotFound(f"No {kind.replace('_', ' ')} {record_id}.")
    return record


def _moved(caller: Caller, kind: str, record_id: str, module: Module, record: Record | None) -> None:
    """Raise `Merged` when the record was merged into one the caller may see (a merge's first step
    marks the merged record `merged_into`; its second removes it, leaving the marker)."""
    if kind not in MERGEABLE:
        return
    survivor = survivor_of(caller.store, caller.tenant, kind, record_id)
    if survivor is None and record is not None:
        survivor = str(record.data["merged_into"])
    if survivor is None:
        return
    try:
        readable(caller, kind, survivor, module)
    except NotFound:
        return  # a survivor the caller may not see: the merged id is unknown to them too
    raise Merged(kind, record_id, survivor)


def writable(caller: Caller, kind: str, record_id: str, module: Module) -> Record:
    record = readable(caller, kind, record_id, module)
    if not caller.can_write(Owner.model_validate(record.data["owner"])):
        raise Forbidden(f"You may see this {kind.replace('_', ' ')} but not change it.")
    return record


def check_owner(caller: Caller, uow: UnitOfWork, owner: Owner, field_name: str = "owner") -> None:
    """The caller may give records to this owner, and the owner exists."""
    if not permissions.may_give_to(caller.subject, owner):
        raise ValidationFailed.on(field_name, "You may not give records to this owner.", "owner_not_allowed")
    if owner.type == "user" and owner.id == caller.user_id:
        return  # the caller is a user of the tenant by their token
    require_exists(caller, uow, owner.type, owner.id, f"{field_name}.id")


def check_reassign(caller: Caller, uow: UnitOfWork, before: Owner, after: Owner) -> None:
    """A change of owner: only admins, managers within their reach and the current owner (the
    user themselves, not a member of the owning group) may make it, to an owner they may give to."""
    if after == before:
        return
    if not caller.can_reassign(before):
        raise Forbidden("Only an admin, a manager or the record's owner may change its owner.")
    check_owner(caller, uow, after)


def require_exists(caller: Caller, uow: UnitOfWork, kind: str, record_id: str, field_name: str) -> None:
    """Commit only if that record exists at commit time (a transactional reference check)."""
    message = f"No {kind.replace('_', ' ')} {record_id}."
    uow.check(
        Record,
        record_key(caller.tenant, kind, record_id),
        kind.upper(),
        Record.pk.exists(),
        lambda: ValidationFailed.on(field_name, message, "not_found"),
    )


# ----------------------------------------------------------------------------- lists


def id_page(
    caller: Caller,
    scope: str,
    cursor: str | None,
    limit: int,
    fetch: Callable[[str | None, int], list[Record]],
    model: type[M],
) -> Page[M]:
    """A kernel page of a list walked in id order from an exclusive "after id" (the directory's indexes)."""

    def fetch_after(position: dict[str, Any] | None, count: int) -> list[Record]:
        return fetch(position["after"] if position else None, count)

    return page(caller, scope, cursor, limit, fetch_after, lambda r: {"after": r.record_id}, model)


def number_for(caller: Caller, uow: UnitOfWork, module: Module) -> str:
    return format_number(caller.settings, module, uow.take_number(caller.tenant, module))


__all__ = [
    "DEFAULTS",
    "TENANT_KIND",
    "TENANT_SETTINGS",
    "Caller",
    "acting_caller",
    "check_owner",
    "check_picklists",
    "check_reassign",
    "id_page",
    "number_for",
    "picklist_setting",
    "picklists",
    "readable",
    "require_exists",
    "service_caller",
    "writable",
]
