"""Target groups: the groups, their hand-added members, preview and resolution.

Resolution walks the tenant's contacts through the by_type index once, evaluating the group's
conditions in the domain, and reads each account a condition needs once (cached per walk).
Hand-added members are read from the group's member items and fetched in batches.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.directory import events as ev
from services.directory.admin import class_types
from services.directory.domain.conditions import (
    TargetGroup,
    TargetGroupCreate,
    TargetGroupMembersChange,
    TargetGroupUpdate,
    apply_target_group_update,
    evaluate,
    is_contactable,
    needs_account,
    new_target_group,
)
from services.directory.domain.models import Contact, Owner
from services.directory.lookup import Order, Sort, find, stage_entries
from services.directory.service import (
    Caller,
    check_owner,
    check_reassign,
    number_for,
    readable,
    require_exists,
    writable,
)
from services.directory.store import Placement, Record, new_record, place_record
from shared import clock
from shared.conditions import uses_classes
from shared.contracts.target_groups import TargetGroupChanged
from shared.errors import Forbidden, ValidationFailed
from shared.events import changes_of
from shared.ids import new_id
from shared.pagination import Page
from shared.service import commit, model_of, patch_changes
from shared.store import UnitOfWork, tenant_key

MEMBERS_PER_TRANSACTION = 50  # an added member is two items (its row, the check that its contact exists)


class Preview(BaseModel):
    count: int
    sample: list[Contact]


def member_record(caller: Caller, group_id: str, contact_id: str) -> Record:
    """A hand-added member: listed under the group and under the contact (for GDPR export)."""
    item = new_record(
        caller.tenant,
        "tg_member",
        f"{group_id}.{contact_id}",
        {"target_group_id": group_id, "contact_id": contact_id},
        Placement(owner_id=None, parent=("target_group", group_id)),
    )
    item.gsi1pk, item.gsi1sk = tenant_key(caller.tenant, "CONTACT", contact_id, "TG_MEMBER"), group_id
    return item


def _data(group: TargetGroup) -> dict[str, Any]:
    return group.model_dump(mode="json", exclude={"version"})


def _record(caller: Caller, group: TargetGroup) -> Record:
    return new_record(caller.tenant, "target_group", group.id, _data(group), Placement(owner_id=group.owner.id))


def _changed(group: TargetGroup) -> TargetGroupChanged:
    """The event payload: the group's conditions travel so that consumers can evaluate them."""
    return TargetGroupChanged(id=group.id, name=group.name, conditions=list(group.conditions), match=group.match)


def create(caller: Caller, body: TargetGroupCreate) -> TargetGroup:
    visible = _visible_contacts(caller, list(body.contact_ids))
    for index, contact_id in enumerate(body.contact_ids):  # refused before the group is made
        if contact_id not in visible:
            raise ValidationFailed.on(f"contact_ids.{index}", f"No contact {contact_id}.", "not_found")

    def command() -> TargetGroup:
        uow = UnitOfWork()
        group = new_target_group(
            body,
            group_id=new_id(),
            number=number_for(caller, uow, "target_groups"),
            caller_user_id=caller.auth.user_id,
            now=clock.now(),
        )
        check_owner(caller, uow, group.owner)
        _check_condition_refs(caller, uow, group)
        uow.save(_record(caller, group), condition=Record.pk.does_not_exist())
        stage_entries(uow, caller.tenant, "target_group", group.id, _data(group), 1, new=True)
        uow.publish(caller.event("target_group.created", _changed(group)))
        uow.commit()
        return group

    group = commit(command)
    if body.contact_ids:
        _change_members(caller, group.id, TargetGroupMembersChange(add=body.contact_ids))
    return group


def _check_condition_refs(caller: Caller, uow: UnitOfWork, group: TargetGroup) -> None:
    for index, condition in enumerate(group.conditions):
        if condition.op == "in_class":
            require_exists(caller, uow, "class", condition.value, f"conditions.{index}.value")
        elif condition.op == "in_classification_type":
            require_exists(caller, uow, "classification_type", condition.value, f"conditions.{index}.value")


def get(caller: Caller, group_id: str) -> TargetGroup:
    return model_of(readable(caller, "target_group", group_id, "target_groups"), TargetGroup)


def list_groups(
    caller: Caller,
    cursor: str | None,
    limit: int,
    filters: dict[str, str | None],
    sort: Sort | None,
    order: Order,
    updated_since: datetime | None = None,
) -> Page[TargetGroup]:
    """The target groups of the owners the caller sees, filtered by at most one of `name` (prefix)
    and `owner_id` (services/directory/lookup.py); with `updated_since`, the kernel's sync page
    (no filter, sort or order)."""
    return find(caller, "target_group", TargetGroup, cursor, limit, filters, sort, order, updated_since=updated_since)


def update(caller: Caller, group_id: str, body: TargetGroupUpdate) -> TargetGroup:
    def command() -> TargetGroup:
        record = writable(caller, "target_group", group_id, "target_groups")
        before = model_of(record, TargetGroup)
        if not patch_changes(before, body):
            return before
        after = apply_target_group_update(before, body, clock.now())
        uow = UnitOfWork()
        if "owner" in body.model_fields_set:
            check_reassign(caller, uow, Owner.model_validate(record.data["owner"]), after.owner)
        _check_condition_refs(caller, uow, after)
        place_record(record, caller.tenant, "target_group", group_id, Placement(owner_id=after.owner.id))
        caller.store.replace(uow, record, _data(after))
        stage_entries(uow, caller.tenant, "target_group", group_id, _data(after), 0, new=False)
        uow.publish(caller.event("target_group.updated", _changed(after), changes=changes_of(before, after)))
        uow.commit()
        return after

    return commit(command)


def delete(caller: Caller, group_id: str) -> None:
    record = writable(caller, "target_group", group_id, "target_groups")
    if not caller.can_delete(Owner.model_validate(record.data["owner"])):
        raise Forbidden("You may not delete this target group.")
    members = [m.data["contact_id"] for m in _member_records(caller, group_id)]
    _change_members(caller, group_id, TargetGroupMembersChange(remove=members), publish=False)
    uow = UnitOfWork()
    caller.store.remove(uow, caller.store.get(caller.tenant, "target_group", group_id) or record)
    stage_entries(uow, caller.tenant, "target_group", group_id, None, 0, new=False)
    uow.publish(caller.event("target_group.deleted", ev.RecordDeleted(id=group_id)))
    uow.commit()


def change_members(caller: Caller, group_id: str, body: TargetGroupMembersChange) -> TargetGroup:
    writable(caller, "target_group", group_id, "target_groups")
    _change_members(caller, group_id, body)
    return get(caller, group_id)


def _change_members(caller: Caller, group_id: str, body: TargetGroupMembersChange, publish: bool = True) -> None:
    """Add and remove hand-added members, in transactions of at most MEMBERS_PER_TRANSACTION members each."""
    ops = [(True, c) for c in body.add] + [(False, c) for c in body.remove]
    for start in range(0, len(ops), MEMBERS_PER_TRANSACTION):
        chunk = ops[start : start + MEMBERS_PER_TRANSACTION]
        uow = UnitOfWork()
        visible = _visible_contacts(caller, [c for add, c in chunk if add])
        for add, contact_id in chunk:
            if add:
                field_name = f"add.{body.add.index(contact_id)}"
                if contact_id not in visible:
                    raise ValidationFailed.on(field_name, f"No contact {contact_id}.", "not_found")
                require_exists(caller, uow, "contact", contact_id, field_name)
                uow.save(member_record(caller, group_id, contact_id))
            else:
                uow.delete(member_record(caller, group_id, contact_id), check_version=False)
        uow.commit()
    if ops and publish:
        recount(caller, group_id)


def _visible_contacts(caller: Caller, contact_ids: list[str]) -> set[str]:
    """The ids among `contact_ids` of contacts the caller may see (one BatchGetItem per 100)."""
    found: set[str] = set()
    ids = list(dict.fromkeys(contact_ids))
    for start in range(0, len(ids), 100):
        for contact_id, record in caller.store.get_many(caller.tenant, "contact", ids[start : start + 100]).items():
            if caller.can_read("contacts", Owner.model_validate(record.data["owner"])):
                found.add(contact_id)
    return found


def recount(caller: Caller, group_id: str) -> None:
    def command() -> TargetGroup:
        record = writable(caller, "target_group", group_id, "target_groups")
        count = sum(1 for _ in _member_records(caller, group_id))
        before = model_of(record, TargetGroup)
        after = apply_target_group_update(before, TargetGroupUpdate(), clock.now(), count)
        uow = UnitOfWork()
        caller.store.replace(uow, record, after.model_dump(mode="json", exclude={"version"}))
        uow.publish(caller.event("target_group.updated", _changed(after), changes=changes_of(before, after)))
        uow.commit()
        return after

    commit(command)


def _member_records(caller: Caller, group_id: str) -> Iterator[Record]:
    return caller.store.children(caller.tenant, "target_group", group_id, "tg_member")


def static_members(caller: Caller, group_id: str) -> list[str]:
    return [m.data["contact_id"] for m in _member_records(caller, group_id)]


# ----------------------------------------------------------------------------- resolution


class Resolver:
    """Walks a group's members once: hand-added first, then contacts matching the conditions."""

    def __init__(self, caller: Caller, group: TargetGroup, viewer: Caller | None = None) -> None:
        """`viewer`: whose sight the members are limited to (the request's caller by default; the
        acting user for an audience); a contact they may not see is not a member for them."""
        self.caller = caller
        self.group = group
        self.viewer = viewer or caller
        self._sees_all: bool | None = None
        self.items_read = 0
        self._accounts: dict[str, dict[str, Any] | None] = {}
        self._class_types = class_types(caller) if uses_classes(group.conditions) else {}

    def members(self) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        hand_added = static_members(self.caller, self.group.id)
        self.items_read += len(hand_added)
        for start in range(0, len(hand_added), 100):
            batch = self.caller.store.get_many(self.caller.tenant, "contact", hand_added[start : start + 100])
            self.items_read += len(batch)
            for contact_id in sorted(batch):
                contact = dict(batch[contact_id].data)
                if is_contactable(contact) and self._visible(contact):
                    seen.add(contact_id)
                    yield contact
        if not self.group.conditions:
            return
        for record in self.caller.store.all_of_kind(self.caller.tenant, "contact"):
            self.items_read += 1
            contact = dict(record.data)
            if contact["id"] in seen or not self._visible(contact):
                continue
            account = self._account(contact) if needs_account(self.group.conditions) else None
            if evaluate(contact, account, self.group.conditions, self.group.match, self._class_types):
                yield contact

    def _visible(self, contact: dict[str, Any]) -> bool:
        if self._sees_all is None:
            self._sees_all = self.viewer.visible_owners("contacts") is None
        return self._sees_all or self.viewer.can_read("contacts", Owner.model_validate(contact["owner"]))

    def _account(self, contact: dict[str, Any]) -> dict[str, Any] | None:
        account_id = contact.get("account_id")
        if not account_id:
            return None
        if account_id not in self._accounts:
            record = self.caller.store.get(self.caller.tenant, "account", account_id)
            self.items_read += 1
            self._accounts[account_id] = dict(record.data) if record else None
        return self._accounts[account_id]


def preview(caller: Caller, group_id: str, sample_size: int = 20) -> Preview:
    group = get(caller, group_id)
    count, sample = 0, list[Contact]()
    for contact in Resolver(caller, group).members():
        count += 1
        if len(sample) < sample_size:
            sample.append(Contact.model_validate(contact))
    return Preview(count=count, sample=sample)
