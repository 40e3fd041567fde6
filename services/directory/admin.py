"""Users, groups, picklists, tenant settings, classes and classification types.

A group's members are kept on its record (`member_ids`) besides the membership items (which
serve the access rules): a change of members saves the group record, whose version makes
concurrent changes of one group take turns, and publishes group.updated with the whole list
after the change in the same transaction.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.directory import events as ev
from services.directory.domain.models import (
    MAX_GROUP_CHANGES,
    Class,
    ClassCreate,
    ClassificationType,
    ClassificationTypeCreate,
    Group,
    GroupCreate,
    Me,
    PicklistItem,
    PicklistName,
    PicklistReplace,
    TenantSettings,
    User,
    UserCreate,
    UserUpdate,
)
from services.directory.lookup import Order, Sort, find, stage_entries
from services.directory.service import TENANT_SETTINGS, Caller, picklist_setting, picklists, require_exists
from services.directory.store import Placement, Record, new_record
from shared.errors import NotFound, ValidationFailed
from shared.events import changes_of
from shared.ids import new_id
from shared.pagination import Page
from shared.service import M, commit, model_of, patch_changes
from shared.store import UnitOfWork


def _get(caller: Caller, kind: str, record_id: str) -> Record:
    record = caller.store.get(caller.tenant, kind, record_id)
    if record is None:
        raise NotFound(f"No {kind.replace('_', ' ')} {record_id}.")
    return record


# ----------------------------------------------------------------------------- users and groups


def _membership(caller: Caller, group_id: str, user_id: str) -> Record:
    item = new_record(
        caller.tenant,
        "membership",
        f"{group_id}.{user_id}",
        {"user_id": user_id},
        Placement(parent=("group", group_id)),
    )
    item.gsi1pk = item.gsi1sk = None  # memberships are listed only under their group
    return item


def _member_ids(caller: Caller, group: Record) -> list[str]:
    """The group's members; a group saved before they were kept on it reads its membership items."""
    data = group.data
    if "member_ids" in data:
        return list(data["member_ids"])
    members = caller.store.children(caller.tenant, "group", group.record_id, "membership")
    return sorted(r.data["user_id"] for r in members)


def _save_members(caller: Caller, uow: UnitOfWork, group: Record, member_ids: list[str]) -> None:
    before = _member_ids(caller, group)
    data = group.data | {"member_ids": member_ids}
    caller.store.replace(uow, group, data)  # its version fails a concurrent change of this group
    payload = ev.GroupChanged(id=group.record_id, name=data["name"], member_ids=member_ids)
    changes = changes_of({"member_ids": before}, {"member_ids": member_ids})
    uow.publish(caller.event("group.updated", payload, changes=changes))


def _set_memberships(caller: Caller, uow: UnitOfWork, user_id: str, old: list[str], new: list[str]) -> None:
    added = [g for g in new if g not in old]
    removed = sorted(set(old) - set(new))
    if len(added) + len(removed) > MAX_GROUP_CHANGES:
        message = f"A user may join or leave at most {MAX_GROUP_CHANGES} groups at once."
        raise ValidationFailed.on("groups", message, "too_many")
    for group_id in added:
        group = caller.store.get(caller.tenant, "group", group_id)
        if group is None:
            raise ValidationFailed.on(f"groups.{new.index(group_id)}", f"No group {group_id}.", "not_found")
        uow.save(_membership(caller, group_id, user_id))
        _save_members(caller, uow, group, sorted({*_member_ids(caller, group), user_id}))
    for group_id in removed:
        uow.delete(_membership(caller, group_id, user_id), check_version=False)
        group = caller.store.get(caller.tenant, "group", group_id)
        if group is not None:
            _save_members(caller, uow, group, [m for m in _member_ids(caller, group) if m != user_id])


def create_user(caller: Caller, body: UserCreate) -> User:
    caller.require_admin()

    def command() -> User:
        user = User(id=new_id(), **body.model_dump())
        uow = UnitOfWork()
        uow.save(
            new_record(caller.tenant, "user", user.id, user.model_dump(mode="json"), Placement()),
            condition=Record.pk.does_not_exist(),
        )
        stage_entries(uow, caller.tenant, "user", user.id, user.model_dump(mode="json"), 1, new=True)
        _set_memberships(caller, uow, user.id, [], user.groups)
        uow.publish(caller.event("user.created", ev.UserCreated(id=user.id)))
        uow.commit()
        return user

    return commit(command)


def update_user(caller: Caller, user_id: str, body: UserUpdate) -> User:
    caller.require_admin()

    def command() -> User:
        record = _get(caller, "user", user_id)
        before = User.model_validate(record.data)
        if not patch_changes(before, body):
            return before
        after = User.model_validate(before.model_dump() | body.model_dump(exclude_unset=True))
        uow = UnitOfWork()
        # Fields the API does not show (the linked login) stay as they are.
        caller.store.replace(uow, record, record.data | after.model_dump(mode="json"))
        stage_entries(
            uow, caller.tenant, "user", user_id, after.model_dump(mode="json"), (record.version or 0) + 1, new=False
        )
        _set_memberships(caller, uow, user_id, before.groups, after.groups)
        uow.commit()
        return after

    return commit(command)


def get_user(caller: Caller, user_id: str) -> User:
    return User.model_validate(_get(caller, "user", user_id).data)


def list_users(
    caller: Caller,
    cursor: str | None,
    limit: int,
    filters: dict[str, str | None],
    sort: Sort | None,
    order: Order,
    updated_since: datetime | None = None,
) -> Page[User]:
    """The tenant's users, filtered by at most one of `email`, `role`, `group_id`, `name` (prefix)."""
    return find(caller, "user", User, cursor, limit, filters, sort, order, updated_since=updated_since)


def me(caller: Caller) -> Me:
    """The caller's own user record, with the role and groups their token carries."""
    record = caller.store.get(caller.tenant, "user", caller.user_id)
    if record is None:
        raise NotFound(f"No user {caller.user_id}: the caller is not a user of this tenant's directory.")
    user = User.model_validate(record.data)
    return Me(
        **user.model_dump(), tenant_id=caller.tenant, token_role=caller.role, token_groups=list(caller.auth.groups)
    )


def _add_admin_record(
    caller: Caller,
    kind: str,
    item: M,
    uow: UnitOfWork | None = None,
    created: BaseModel | None = None,
    stored: dict[str, Any] | None = None,
) -> M:
    """Save a tenant-wide admin record (group, classification type, class).

    `created` is the payload of the `<kind>.created` event to publish with it; `stored` are
    fields kept on the record besides the item's.
    """
    uow = uow or UnitOfWork()
    data = item.model_dump(mode="json") | (stored or {})
    uow.save(new_record(caller.tenant, kind, str(data["id"]), data, Placement()))
    stage_entries(uow, caller.tenant, kind, str(data["id"]), item.model_dump(mode="json"), 1, new=True)
    if created is not None:
        uow.publish(caller.event(f"{kind}.created", created))
    uow.commit()
    return item


def create_group(caller: Caller, body: GroupCreate) -> Group:
    caller.require_admin()
    group = Group(id=new_id(), name=body.name)
    created = ev.GroupChanged(id=group.id, name=group.name, member_ids=[])
    return _add_admin_record(caller, "group", group, created=created, stored={"member_ids": []})


def get_group(caller: Caller, group_id: str) -> Group:
    return Group.model_validate(_get(caller, "group", group_id).data)


def list_groups(
    caller: Caller,
    cursor: str | None,
    limit: int,
    name: str | None,
    sort: Sort | None,
    order: Order,
    updated_since: datetime | None = None,
) -> Page[Group]:
    return find(caller, "group", Group, cursor, limit, {"name": name}, sort, order, updated_since=updated_since)


# ----------------------------------------------------------------------------- picklists and settings


def get_picklist(caller: Caller, name: PicklistName) -> list[PicklistItem]:
    caller.address_setting(picklist_setting(name))
    return picklists(caller).get(name, [])


def replace_picklist(caller: Caller, name: PicklistName, body: PicklistReplace) -> list[PicklistItem]:
    caller.require_admin()
    caller.address_setting(picklist_setting(name))
    caller.save_setting(picklist_setting(name), {"items": [i.model_dump() for i in body.items]})
    return body.items


def get_settings(caller: Caller) -> TenantSettings:
    caller.address_setting(TENANT_SETTINGS)
    return caller.settings


def replace_settings(caller: Caller, body: TenantSettings) -> TenantSettings:
    """Replace the settings; a change of the open modules is announced in the same transaction
    (`tenant.access_changed`: the email service shows contacts by the same rule)."""
    caller.require_admin()
    caller.address_setting(TENANT_SETTINGS)
    before = sorted(caller.settings.open_modules)
    uow = UnitOfWork()
    caller.stage_setting(uow, TENANT_SETTINGS, body.model_dump(mode="json"))
    if sorted(body.open_modules) != before:
        after = sorted(body.open_modules)
        changes = changes_of({"open_modules": before}, {"open_modules": after})
        uow.publish(caller.event("tenant.access_changed", ev.TenantAccessChanged(open_modules=after), changes=changes))
    uow.commit()
    return body


# ----------------------------------------------------------------------------- classes


def create_classification_type(caller: Caller, body: ClassificationTypeCreate) -> ClassificationType:
    caller.require_admin()
    return _add_admin_record(caller, "classification_type", ClassificationType(id=new_id(), name=body.name))


def list_classification_types(
    caller: Caller,
    cursor: str | None,
    limit: int,
    name: str | None,
    sort: Sort | None,
    order: Order,
    updated_since: datetime | None = None,
) -> Page[ClassificationType]:
    return find(
        caller,
        "classification_type",
        ClassificationType,
        cursor,
        limit,
        {"name": name},
        sort,
        order,
        updated_since=updated_since,
    )


def get_classification_type(caller: Caller, type_id: str) -> ClassificationType:
    return ClassificationType.model_validate(_get(caller, "classification_type", type_id).data)


def create_class(caller: Caller, body: ClassCreate) -> Class:
    caller.require_admin()
    item = Class(id=new_id(), **body.model_dump())
    uow = UnitOfWork()
    if item.classification_type_id:
        require_exists(caller, uow, "classification_type", item.classification_type_id, "classification_type_id")
    created = ev.ClassChanged(id=item.id, name=item.name, classification_type_id=item.classification_type_id)
    return _add_admin_record(caller, "class", item, uow, created=created)


def list_classes(
    caller: Caller,
    cursor: str | None,
    limit: int,
    filters: dict[str, str | None],
    sort: Sort | None,
    order: Order,
    updated_since: datetime | None = None,
) -> Page[Class]:
    """Classes, filtered by at most one of `classification_type_id`, `name` (prefix)."""
    return find(caller, "class", Class, cursor, limit, filters, sort, order, updated_since=updated_since)


def get_class(caller: Caller, class_id: str) -> Class:
    return model_of(_get(caller, "class", class_id), Class)


def class_types(caller: Caller) -> dict[str, str]:
    """class id -> classification type id, for every class of the tenant."""
    return {
        r.data["id"]: r.data["classification_type_id"]
        for r in caller.store.all_of_kind(caller.tenant, "class")
        if r.data.get("classification_type_id")
    }
