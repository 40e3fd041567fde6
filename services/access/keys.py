"""API keys: create, list, read, change, lock, unlock, revoke (admins only; keys are checked in checks.py).

Records: kind "apikey", id `key_<ULID>` (also the user id the key acts as), data {name, permissions,
role, status, expires_at?, allowed_ips, prefix, secret_hash, created_by, created_at}. The secret is
returned by `create_key` once and stored only as its SHA-256. Every command commits its record and
its event together (`UnitOfWork`).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from services.access.checks import KIND
from services.access.domain.keys import (
    CreatedKey,
    Key,
    KeyCreate,
    KeyStatus,
    KeyUpdate,
    new_secret,
    prefix,
    secret_hash,
)
from services.access.events import ApiKeyChanged
from services.access.service import Caller
from services.access.store import Record
from shared import clock, key_permissions
from shared.auth import Role
from shared.errors import Conflict, DomainError, FieldError, Forbidden, NotFound
from shared.events import changes_of
from shared.ids import new_id
from shared.pagination import Page
from shared.service import page
from shared.store import UnitOfWork

RANK = {Role.USER: 0, Role.MANAGER: 1, Role.ADMIN: 2}
# What an admin may change on a key (KeyUpdate), the only fields its events' `changes` show: never
# its secret_hash (the audit trail keeps changes for a year).
CHANGEABLE = ("name", "permissions", "role", "expires_at", "allowed_ips")


class InvalidKey(DomainError):
    status, code, title = 422, "validation_failed", "Validation failed"


def _admin(caller: Caller) -> None:
    if caller.auth.key_id is not None:
        raise Forbidden("API keys cannot manage API keys.")
    caller.require_admin()


def _record(caller: Caller, key_id: str) -> Record:
    record = caller.store.get(caller.tenant, KIND, key_id)
    if record is None:
        raise NotFound(f"No API key {key_id}.")
    return record


def key_of(record: Record) -> Key:
    return Key.model_validate(
        {
            "id": record.record_id,
            **record.data,
            "last_used_at": record.last_used_at,
            "last_used_ip": record.last_used_ip,
            "version": record.version,
        }
    )


@cache
def api_routes() -> tuple[key_permissions.Route, ...]:
    """The routes of the merged API document (every service's), which a permission must name."""
    from shared.api import KONTAKT_OPENAPI  # the document's place; shared.api is loaded by the API anyway

    document = json.loads(KONTAKT_OPENAPI.read_text(encoding="utf-8"))
    methods = {"get", "head", "post", "put", "patch", "delete"}
    return tuple(
        key_permissions.Route(method.upper(), path)
        for path, operations in document.get("paths", {}).items()
        for method in operations
        if method in methods
    )


def _check(caller: Caller, permissions: list[str] | None, role: Role | None) -> None:
    errors = []
    for index, permission in enumerate(permissions or []):
        problem = key_permissions.problems(permission, api_routes())
        if problem:
            errors.append(FieldError(field=f"permissions.{index}", message=problem, code="invalid_permission"))
    if role is not None and RANK[role] > RANK[caller.role]:
        errors.append(FieldError(field="role", message="at most your own role", code="too_high"))
    if errors:
        raise InvalidKey("The key's permissions or role are not valid.", errors)


def create_key(caller: Caller, body: KeyCreate) -> CreatedKey:
    _admin(caller)
    _check(caller, body.permissions, body.role)
    key_id = f"key_{new_id()}"
    secret = new_secret(caller.tenant, key_id)
    data = {
        **body.model_dump(mode="json"),
        "permissions": sorted(set(body.permissions)),
        "status": KeyStatus.ACTIVE.value,
        "prefix": prefix(caller.tenant, key_id),
        "secret_hash": secret_hash(secret),
        "created_by": caller.user_id,
        "created_at": clock.now().isoformat(),
    }
    record = caller.store.new(caller.tenant, KIND, key_id, data)
    uow = UnitOfWork()
    caller.store.add(uow, record)
    uow.publish(caller.event("api_key.created", _changed(record)))
    uow.commit()
    return CreatedKey.model_validate({**key_of(record).model_dump(), "secret": secret})


def _changed(record: Record) -> ApiKeyChanged:
    data = record.data
    return ApiKeyChanged(
        id=record.record_id,
        name=data["name"],
        prefix=data["prefix"],
        status=data["status"],
        permissions=data["permissions"],
        role=data["role"],
    )


def get_key(caller: Caller, key_id: str) -> Key:
    _admin(caller)
    return key_of(_record(caller, key_id))


def list_keys(caller: Caller, cursor: str | None, limit: int) -> Page[Key]:
    """The tenant's keys in id order (oldest first), revoked ones too, with their last use."""
    _admin(caller)
    read: dict[str, Record] = {}

    def fetch(after: dict[str, Any] | None, n: int) -> list[Record]:
        records = caller.store.page_by_type(caller.tenant, KIND, after["id"] if after else None, n)
        read.update((r.record_id, r) for r in records)
        return records

    listed = page(caller, KIND, cursor, limit, fetch, lambda r: {"id": r.record_id}, Key)
    listed.items = [key_of(read[item.id]) for item in listed.items]
    return listed


def update_key(caller: Caller, key_id: str, body: KeyUpdate) -> Key:
    _admin(caller)
    record = _record(caller, key_id)
    _refuse_revoked(record)
    given = body.model_dump(mode="json", include=body.model_fields_set)
    removed = [name for name in ("name", "permissions") if name in given and given[name] is None]
    if removed:
        errors = [FieldError(field=name, message="cannot be removed", code="required") for name in removed]
        raise InvalidKey("A key's name and permissions cannot be removed.", errors)
    _check(caller, body.permissions, body.role)
    if given.get("role") is None:
        given.pop("role", None)
    if given.get("allowed_ips") is None and "allowed_ips" in given:
        given["allowed_ips"] = []
    if "permissions" in given:
        given["permissions"] = sorted(set(given["permissions"]))
    before = dict(record.data)
    uow = UnitOfWork()
    caller.store.replace(uow, record, {**record.data, **given})
    changes = changes_of(before, record.data, [name for name in given if name in CHANGEABLE])
    uow.publish(caller.event("api_key.updated", _changed(record), changes=changes))
    uow.commit()
    return key_of(record)


def _refuse_revoked(record: Record) -> None:
    if record.data["status"] == KeyStatus.REVOKED:
        raise Conflict("The API key is revoked: it cannot be changed or used again.")


def set_status(caller: Caller, key_id: str, status: KeyStatus) -> Key:
    """Lock, unlock or revoke a key; the authorizer sees it within its cache period (seconds)."""
    _admin(caller)
    record = _record(caller, key_id)
    _refuse_revoked(record)
    if record.data["status"] == status:
        return key_of(record)  # already so: nothing changes, no event
    changes = changes_of({"status": record.data["status"]}, {"status": status.value})
    uow = UnitOfWork()
    caller.store.replace(uow, record, {**record.data, "status": status.value})
    event = {KeyStatus.ACTIVE: "api_key.unlocked", KeyStatus.LOCKED: "api_key.locked"}.get(status, "api_key.revoked")
    uow.publish(caller.event(event, _changed(record), changes=changes))
    uow.commit()
    return key_of(record)
