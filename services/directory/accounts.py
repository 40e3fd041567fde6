"""Accounts and contacts: commands and queries."""

from datetime import datetime
from typing import Any

from services.directory import events as ev
from services.directory.domain.models import (
    Account,
    AccountCreate,
    AccountUpdate,
    Contact,
    ContactCreate,
    ContactUpdate,
    Owner,
    apply_account_update,
    apply_contact_update,
    erase_contact,
    new_account,
    new_contact,
)
from services.directory.lookup import Order, Sort, find, key_country, stage_entries
from services.directory.service import (
    Caller,
    check_owner,
    check_picklists,
    check_reassign,
    number_for,
    readable,
    require_exists,
    writable,
)
from services.directory.store import Placement, Record, new_record, place_record
from shared import clock
from shared.errors import Conflict, Forbidden, ValidationFailed
from shared.events import changes_of
from shared.ids import new_id
from shared.pagination import Page
from shared.service import commit, model_of, patch_changes
from shared.store import UnitOfWork


def check_references(caller: Caller, uow: UnitOfWork, data: dict[str, Any]) -> None:
    if data.get("account_manager_id"):
        require_exists(caller, uow, "user", data["account_manager_id"], "account_manager_id")
    if data.get("account_id"):
        require_visible_account(caller, data["account_id"])
        require_exists(caller, uow, "account", data["account_id"], "account_id")
    for index, class_id in enumerate(data.get("classes") or []):
        require_exists(caller, uow, "class", class_id, f"classes.{index}")


def require_visible_account(caller: Caller, account_id: str) -> None:
    """An account the caller may not see is refused exactly as one that does not exist (the same
    422 and body), so the answer tells nothing of which account ids exist."""
    record = caller.store.get(caller.tenant, "account", account_id)
    if record is not None and not caller.can_read("accounts", Owner.model_validate(record.data["owner"])):
        raise ValidationFailed.on("account_id", f"No account {account_id}.", "not_found")


# ----------------------------------------------------------------------------- accounts


def _account_record(caller: Caller, account: Account) -> Record:
    data = account.model_dump(mode="json", exclude={"version"})
    return new_record(caller.tenant, "account", account.id, data, Placement(owner_id=account.owner.id))


def create_account(caller: Caller, body: AccountCreate) -> Account:
    check_picklists(caller, body)

    def command() -> Account:
        uow = UnitOfWork()
        account = new_account(
            body,
            account_id=new_id(),
            number=number_for(caller, uow, "accounts"),
            caller_user_id=caller.auth.user_id,
            now=clock.now(),
        )
        check_owner(caller, uow, account.owner)
        check_references(caller, uow, body.model_dump())
        add_account(caller, uow, account)
        uow.commit()
        return account

    return commit(command)


def add_account(caller: Caller, uow: UnitOfWork, account: Account) -> None:
    """The writes of a new account (shared by the API and the CSV import)."""
    uow.save(_account_record(caller, account), condition=Record.pk.does_not_exist())
    stage_entries(
        uow, caller.tenant, "account", account.id, _json(account), 1, new=True, country=key_country(caller, "account")
    )
    uow.publish(caller.event("account.created", ev.RecordChanged(id=account.id, record=_json(account))))


def get_account(caller: Caller, account_id: str) -> Account:
    return model_of(readable(caller, "account", account_id, "accounts"), Account)


def list_accounts(
    caller: Caller,
    cursor: str | None,
    limit: int,
    filters: dict[str, str | None],
    sort: Sort | None,
    order: Order,
    updated_since: datetime | None = None,
) -> Page[Account]:
    """Accounts the caller sees, filtered by at most one of `name` (prefix), `status`, `number`,
    `owner_id`, `class_id` (services/directory/lookup.py)."""
    return find(caller, "account", Account, cursor, limit, filters, sort, order, updated_since=updated_since)


def update_account(caller: Caller, account_id: str, body: AccountUpdate) -> Account:
    check_picklists(caller, body.changes())

    def command() -> Account:
        record = writable(caller, "account", account_id, "accounts")
        uow = UnitOfWork()
        after = change_account(caller, uow, record, body)
        uow.commit()
        return after

    return commit(command)


def change_account(caller: Caller, uow: UnitOfWork, record: Record, body: AccountUpdate) -> Account:
    """The writes of an account update (shared by the API and the CSV import); none when it
    changes nothing."""
    before = model_of(record, Account)
    if not patch_changes(before, body):
        return before
    after = apply_account_update(before, body, clock.now())
    if "owner" in body.model_fields_set:
        check_reassign(caller, uow, before.owner, after.owner)
    check_references(caller, uow, body.changes())
    place_record(record, caller.tenant, "account", before.id, Placement(owner_id=after.owner.id))
    _replace(caller, uow, record, "account", after)
    payload = ev.RecordChanged(id=before.id, record=_json(after), changed=sorted(body.model_fields_set))
    uow.publish(caller.event("account.updated", payload, changes=changes_of(before, after)))
    return after


def delete_account(caller: Caller, account_id: str) -> None:
    record = writable(caller, "account", account_id, "accounts")
    if not caller.can_delete(Owner.model_validate(record.data["owner"])):
        raise Forbidden("You may not delete this account.")
    if caller.store.page_by_parent(caller.tenant, "account", account_id, "contact", None, 1):
        raise Conflict("The account still has contacts; move or delete them first.")
    uow = UnitOfWork()
    caller.store.remove(uow, record)
    stage_entries(uow, caller.tenant, "account", account_id, None, 0, new=False)
    uow.publish(caller.event("account.deleted", ev.RecordDeleted(id=account_id)))
    uow.commit()


# ----------------------------------------------------------------------------- contacts


def _json(model: Account | Contact) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _replace(caller: Caller, uow: UnitOfWork, record: Record, kind: str, after: Account | Contact) -> None:
    """Save an account's or contact's new data with its index entries."""
    data = after.model_dump(mode="json", exclude={"version"})
    caller.store.replace(uow, record, data)
    version = (record.version or 0) + 1
    stage_entries(uow, caller.tenant, kind, after.id, data, version, new=False, country=key_country(caller, kind))


def _contact_record(caller: Caller, contact: Contact) -> Record:
    data = contact.model_dump(mode="json", exclude={"version"})
    return new_record(caller.tenant, "contact", contact.id, data, _placement(contact))


def _placement(contact: Contact) -> Placement:
    parent = ("account", contact.account_id) if contact.account_id else None
    return Placement(owner_id=contact.owner.id, parent=parent)


def create_contact(caller: Caller, body: ContactCreate) -> Contact:
    check_picklists(caller, body)

    def command() -> Contact:
        uow = UnitOfWork()
        contact = new_contact(
            body,
            contact_id=new_id(),
            number=number_for(caller, uow, "contacts"),
            caller_user_id=caller.auth.user_id,
            now=clock.now(),
        )
        check_owner(caller, uow, contact.owner)
        check_references(caller, uow, body.model_dump())
        add_contact(caller, uow, contact)
        uow.commit()
        return contact

    return commit(command)


def add_contact(caller: Caller, uow: UnitOfWork, contact: Contact) -> None:
    """The writes of a new contact (shared by the API and the CSV import)."""
    uow.save(_contact_record(caller, contact), condition=Record.pk.does_not_exist())
    stage_entries(
        uow, caller.tenant, "contact", contact.id, _json(contact), 1, new=True, country=key_country(caller, "contact")
    )
    uow.publish(caller.event("contact.created", ev.RecordChanged(id=contact.id, record=_json(contact))))


def get_contact(caller: Caller, contact_id: str) -> Contact:
    return model_of(readable(caller, "contact", contact_id, "contacts"), Contact)


def list_contacts(
    caller: Caller,
    cursor: str | None,
    limit: int,
    filters: dict[str, str | None],
    sort: Sort | None,
    order: Order,
    updated_since: datetime | None = None,
) -> Page[Contact]:
    """Contacts the caller sees, filtered by at most one of `account_id`, `email`, `phone`, `name`
    (prefix of "last first"), `owner_id`, `class_id` (services/directory/lookup.py)."""
    return find(
        caller,
        "contact",
        Contact,
        cursor,
        limit,
        filters,
        sort,
        order,
        parent=("account_id", "account"),
        updated_since=updated_since,
    )


def update_contact(caller: Caller, contact_id: str, body: ContactUpdate) -> Contact:
    check_picklists(caller, body.changes())

    def command() -> Contact:
        record = writable(caller, "contact", contact_id, "contacts")
        uow = UnitOfWork()
        after = change_contact(caller, uow, record, body)
        uow.commit()
        return after

    return commit(command)


def change_contact(caller: Caller, uow: UnitOfWork, record: Record, body: ContactUpdate) -> Contact:
    """The writes of a contact update (shared by the API and the CSV import); none when it
    changes nothing."""
    before = model_of(record, Contact)
    if not patch_changes(before, body):
        return before
    after = apply_contact_update(before, body, clock.now())
    if "owner" in body.model_fields_set:
        check_reassign(caller, uow, before.owner, after.owner)
    check_references(caller, uow, body.changes())
    place_record(record, caller.tenant, "contact", before.id, _placement(after))
    _replace(caller, uow, record, "contact", after)
    payload = ev.RecordChanged(id=before.id, record=_json(after), changed=sorted(body.model_fields_set))
    uow.publish(caller.event("contact.updated", payload, changes=changes_of(before, after)))
    return after


def delete_contact(caller: Caller, contact_id: str) -> None:
    record = writable(caller, "contact", contact_id, "contacts")
    if not caller.can_delete(Owner.model_validate(record.data["owner"])):
        raise Forbidden("You may not delete this contact.")
    uow = UnitOfWork()
    caller.store.remove(uow, record)
    stage_entries(uow, caller.tenant, "contact", contact_id, None, 0, new=False)
    uow.publish(caller.event("contact.deleted", ev.RecordDeleted(id=contact_id)))
    uow.commit()


# ----------------------------------------------------------------------------- GDPR


def export_contact(caller: Caller, contact_id: str) -> dict[str, Any]:
    """Everything the directory holds about one person (GDPR access request)."""
    record = readable(caller, "contact", contact_id, "contacts")
    contact = model_of(record, Contact)
    memberships = [r.data["target_group_id"] for r in caller.store.contact_memberships(caller.tenant, contact_id)]
    account = caller.store.get(caller.tenant, "account", contact.account_id) if contact.account_id else None
    return {
        "exported_at": clock.iso(clock.now()),
        "contact": contact.model_dump(mode="json"),
        "account": {"id": account.data["id"], "name": account.data["name"]} if account else None,
        "target_groups_added_to": memberships,
    }


def erase(caller: Caller, contact_id: str) -> Contact:
    """GDPR erasure: personal fields removed for good; other services are told to erase theirs."""
    caller.require_admin()

    def command() -> Contact:
        record = readable(caller, "contact", contact_id, "contacts")
        before = model_of(record, Contact)
        erased = erase_contact(before, clock.now())
        uow = UnitOfWork()
        place_record(record, caller.tenant, "contact", contact_id, _placement(erased))
        _replace(caller, uow, record, "contact", erased)
        cleared = changes_of(before, erased, mask_old=True)  # what was erased, never the values
        uow.publish(caller.event("contact.erased", ev.ContactErased(id=contact_id), changes=cleared))
        uow.commit()
        return erased

    return commit(command)
