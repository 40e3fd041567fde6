"""Contact orders [003]: facilities, a tenant list of the places orders are about.

`facility` records, id derived from (customer, name), so a name is created once: an order that
names a new facility creates it.
"""

from __future__ import annotations

from datetime import datetime

from services.activities import references
from services.activities.domain.facilities import Facility, FacilityCreate
from services.activities.domain.order_settings import Permission, require, require_any_view
from services.activities.order_settings import permissions
from services.activities.service import Caller
from services.activities.store import Record, new_record
from shared import clock
from shared.errors import Conflict, ValidationFailed
from shared.ids import derived_id
from shared.lookup import only_since
from shared.pagination import Page
from shared.service import partition_page, sync_page
from shared.store import UnitOfWork, tenant_key

FACILITY = "facility"


def facility_id_of(account_id: str | None, name: str) -> str:
    return derived_id("facility", account_id or "", " ".join(name.casefold().split()))


def resolve_facility(
    caller: Caller, uow: UnitOfWork, facility_id: str | None, name: str | None, account_id: str
) -> tuple[str | None, str | None]:
    """(id, name) of the order's facility: an existing one by id, or one by name, created if new."""
    if facility_id:
        record = caller.store.get(caller.tenant, FACILITY, facility_id)
        if record is None:
            raise ValidationFailed.on("facility_id", f"No facility {facility_id}.", "not_found")
        return facility_id, record.data["name"]
    if not name:
        return None, None
    found_id = facility_id_of(account_id, name)
    if caller.store.get(caller.tenant, FACILITY, found_id) is None:
        _stage_new(caller, uow, found_id, name, account_id)
    return found_id, name


def _stage_new(caller: Caller, uow: UnitOfWork, facility_id: str, name: str, account_id: str | None) -> Facility:
    facility = Facility(
        id=facility_id, name=name, account_id=account_id, created_by=caller.user_id, created_at=clock.now()
    )
    caller.store.add(uow, new_record(caller.tenant, FACILITY, facility_id, facility.model_dump(mode="json")))
    return facility


def create_facility(caller: Caller, body: FacilityCreate) -> Facility:
    perms = permissions(caller)
    if not perms & {Permission.create, Permission.edit}:
        require(perms, Permission.create, "add a facility")
    account_id = references.resolved(caller, None, body.account_id)[1]
    facility_id = facility_id_of(account_id, body.name)
    if caller.store.get(caller.tenant, FACILITY, facility_id) is not None:
        raise Conflict(f"The facility {body.name} exists already (id {facility_id}).")
    uow = UnitOfWork()
    facility = _stage_new(caller, uow, facility_id, body.name, account_id)
    uow.commit()
    return facility


def list_facilities(
    caller: Caller, cursor: str | None, limit: int, account_id: str | None, updated_since: datetime | None = None
) -> Page[Facility]:
    require_any_view(permissions(caller))
    if updated_since is not None:
        others = {"account_id": account_id}
        only_since(others)
        return sync_page(caller, FACILITY, updated_since, cursor, limit, Facility)
    condition = (Record.fields["account_id"] == account_id) if account_id else None
    scope = f"facilities:{account_id or ''}"
    return partition_page(
        caller, scope, cursor, limit, Record.by_type, tenant_key(caller.tenant, FACILITY.upper()), Record.gsi1sk,
        Facility, upper="~", condition=condition, convert=lambda r: Facility.model_validate(r.data),
    )  # fmt: skip


def of_accounts(caller: Caller, account_ids: list[str]) -> list[Record]:
    """The facilities of these customers (read in full: a tenant list, read whole by the merge)."""
    condition = Record.fields["account_id"].is_in(*account_ids)
    key = tenant_key(caller.tenant, FACILITY.upper())
    return list(Record.by_type.query(key, filter_condition=condition, page_size=100))
