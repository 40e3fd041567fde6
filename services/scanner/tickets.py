"""Tickets and their articles: read, listed, and changed (status, priority, owner).

Records:
- kind "ticket", id = a new id (ULID), data {number, subject, status, priority, owner, owner_id,
  mailbox_id, requester_email, requester_contact_id?, article_count, created_at, updated_at}: listed
  under its requester (`by_contact`), the requester's account (`by_parent`: `T#<t>#ACCOUNT#<id>#TICKET`),
  its owner (`by_owner`) and its mailbox (`by_mailbox`).
  `number` is the tenant's running number, taken in the transaction that creates the ticket (the
  kernel's counter: a failed create takes none, so numbers have no gaps).
- kind "article", id = a new id, data {ticket_id, kind, message_id, from, to, cc, subject, text,
  new_text, html, truncated, unparsable, attachments [{id, filename, content_type, size, inline,
  content_id, key}], created_at}: listed under its ticket (`by_parent`).

Who sees and changes a ticket: the kernel's one permission check (`shared/permissions.py`) on the
ticket's owner, the directory's entity ownership rules; a ticket a caller may not see is "not found".
"""

from __future__ import annotations

import hashlib
import json
from functools import partial
from typing import Any

from services.scanner import notifications, threads
from services.scanner.domain.tickets import Article, ArticleSummary, Ticket, TicketPatch, TicketStatus
from services.scanner.events import TicketClosed, TicketCreated, TicketUpdated
from services.scanner.service import Caller
from services.scanner.settings import ScannerSettings
from services.scanner.store import Record, ScannerStore
from shared import clock, files
from shared.contracts.tickets import NewRequester
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.events import changes_of
from shared.merges import redirect_if_merged
from shared.pagination import Page
from shared.permissions import Action
from shared.service import commit, model_of, partition_page, patch_changes
from shared.settings import load
from shared.store import UnitOfWork, run_with_retries, tenant_key
from shared.types import Owner

TICKET = "ticket"
ARTICLE = "article"
COUNTER = "ticket"
INTERNAL = (
    "participants",
    "last_inbound_automatic",
)  # kept on the ticket, not shown: never "changed"  # the kernel counter of ticket numbers (UnitOfWork.take_number)


def bucket() -> str:
    return load(ScannerSettings).mail_bucket


def _owner(data: dict[str, Any]) -> Owner:
    owner = data.get("owner") or {}
    return Owner.model_construct(type="group" if owner.get("type") == "group" else "user", id=str(owner.get("id", "")))


def index(record: Record, tenant: str) -> None:
    data = record.data
    record.link_contact(tenant, data.get("requester_contact_id"))
    account = data.get("requester_account_id")  # listed under the account too: merges.py moves these
    record.gsi3pk, record.gsi3sk = (
        (tenant_key(tenant, "ACCOUNT", account, TICKET.upper()), record.record_id) if account else (None, None)
    )
    record.gsi4pk, record.gsi4sk = tenant_key(tenant, "OWNER", str(data["owner"]["id"]), "TICKET"), record.record_id
    mailbox = data.get("mailbox_id")
    record.gsi5pk, record.gsi5sk = (
        (tenant_key(tenant, "MAILBOX", mailbox, "TICKET"), record.record_id) if mailbox else (None, None)
    )


def reindex_accounts(tenant: str) -> int:
    """List under their requester's account the tenant's tickets written before that listing existed
    (`kontakt tenant reindex`; an account's merge finds its tickets there). Each one re-read and
    written alone, version-checked, so it is safe beside the consumer and to run again; returns how
    many were written."""
    store, written = ScannerStore(), 0
    for listed in Record.by_type.query(tenant_key(tenant, TICKET.upper())):
        if listed.data.get("requester_account_id") and listed.gsi3pk is None:
            written += bool(run_with_retries(partial(_list_under_account, store, tenant, listed.record_id)))
    return written


def _list_under_account(store: ScannerStore, tenant: str, ticket_id: str) -> bool:
    record = store.get(tenant, TICKET, ticket_id)
    if record is None or record.gsi3pk is not None or not record.data.get("requester_account_id"):
        return False
    index(record, tenant)
    uow = UnitOfWork()
    uow.update(record, [Record.gsi3pk.set(record.gsi3pk), Record.gsi3sk.set(record.gsi3sk)])
    uow.commit()
    return True


def record_for(caller: Caller, ticket_id: str, action: Action = Action.VIEW) -> Record:
    """The ticket the caller may see (404 otherwise) and, for another action, act on (403)."""
    record = caller.store.get(caller.tenant, TICKET, ticket_id)
    if record is None or not caller.allows(Action.VIEW, _owner(record.data)):
        raise NotFound(f"No ticket {ticket_id}.")
    if action != Action.VIEW and not caller.allows(action, _owner(record.data)):
        raise Forbidden("Only the ticket's owner (or a member of its group), a manager or an admin may change it.")
    return record


def get_ticket(caller: Caller, ticket_id: str) -> Ticket:
    return model_of(record_for(caller, ticket_id), Ticket)


def list_tickets(
    caller: Caller,
    cursor: str | None,
    limit: int,
    status: TicketStatus | None = None,
    owner_id: str | None = None,
    mailbox_id: str | None = None,
    contact_id: str | None = None,
) -> Page[Ticket]:
    """The tickets the caller sees, oldest first, each filter combination served by one index
    partition: the requester's (`contact_id`), else the owner's, else the mailbox's, else the
    tenant's; the other filters narrow it page-wise (a page may come back short with a cursor)."""
    tenant = caller.tenant
    wanted = {"status": status, "owner_id": owner_id, "mailbox_id": mailbox_id}
    redirect_if_merged(caller.store, tenant, contact=contact_id)  # 301 to the survivor's
    if contact_id:
        index, key, sort_key = Record.by_contact, tenant_key(tenant, "CONTACT", contact_id, "TICKET"), Record.gsi2sk
    elif owner_id:
        index, key, sort_key = Record.by_owner, tenant_key(tenant, "OWNER", owner_id, "TICKET"), Record.gsi4sk
        wanted.pop("owner_id")
    elif mailbox_id:
        index, key, sort_key = Record.by_mailbox, tenant_key(tenant, "MAILBOX", mailbox_id, "TICKET"), Record.gsi5sk
        wanted.pop("mailbox_id")
    else:
        index, key, sort_key = Record.by_type, tenant_key(tenant, TICKET.upper()), Record.gsi1sk
    condition = None
    for name, value in wanted.items():
        if value is not None:
            part = Record.fields[name] == str(value)
            condition = part if condition is None else condition & part
    keep = None
    if caller.visible_owners() is not None:

        def keep(batch: list[Any]) -> list[Any]:
            return [r for r in batch if r.kind == TICKET and caller.allows(Action.VIEW, _owner(r.data))]

    asked = json.dumps(wanted | {"contact_id": contact_id, "owner": owner_id, "mailbox": mailbox_id}, sort_keys=True)
    scope = f"tickets:{hashlib.sha256(asked.encode()).hexdigest()[:24]}"
    return partition_page(caller, scope, cursor, limit, index, key, sort_key, Ticket, condition=condition, keep=keep)


def change_ticket(caller: Caller, ticket_id: str, body: TicketPatch) -> Ticket:
    def run() -> Ticket:
        record = record_for(caller, ticket_id, Action.CHANGE)
        changes = body.model_dump(mode="json", exclude_unset=True)
        changed = sorted(patch_changes(record.data, changes))
        if not changed:
            return model_of(record, Ticket)
        if "owner" in changed:
            owner = Owner.model_validate(changes["owner"])
            if not caller.allows(Action.ASSIGN, _owner(record.data)):
                raise Forbidden("Only the ticket's owner, a manager or an admin may give it to someone else.")
            if not caller.may_give_to(owner):
                raise ValidationFailed.on("owner", "The new owner is not within your reach.", "not_allowed")
            changes["owner_id"] = owner.id
        before = record.data
        data = before | changes | {"updated_at": clock.now().isoformat()}
        uow = UnitOfWork()
        record.data = data
        index(record, caller.tenant)
        caller.store.replace(uow, record, data)
        shown = after(ticket_id, data, record.version)
        updated = TicketUpdated(id=ticket_id, ticket=shown, changed=changed)
        uow.publish(caller.event("ticket.updated", updated, changes=changes_of(before, data, changed)))
        if "status" in changed:
            if data.get("status") == "closed":
                uow.publish(caller.event("ticket.closed", TicketClosed(id=ticket_id, ticket=shown)))
            notifications.stage_status(uow, caller, data, shown, comment=None)
        uow.commit()
        return model_of(record, Ticket)

    return commit(run)


def after(ticket_id: str, data: dict[str, Any], version: int | None) -> dict[str, Any]:
    """The ticket as `GET /tickets/{id}` shows it once a change at `version` is written."""
    return Ticket.model_validate({"id": ticket_id, **data, "version": (version or 0) + 1}).model_dump(mode="json")


def list_articles(caller: Caller, ticket_id: str, cursor: str | None, limit: int) -> Page[ArticleSummary]:
    record_for(caller, ticket_id)
    key = tenant_key(caller.tenant, TICKET.upper(), ticket_id, ARTICLE.upper())
    return partition_page(
        caller, f"articles:{ticket_id}", cursor, limit, Record.by_parent, key, Record.gsi3sk, ArticleSummary
    )


def get_article(caller: Caller, ticket_id: str, article_id: str) -> Article:
    record_for(caller, ticket_id)
    record = caller.store.get(caller.tenant, ARTICLE, article_id)
    if record is None or record.data.get("ticket_id") != ticket_id:
        raise NotFound(f"No article {article_id} on ticket {ticket_id}.")
    data = record.data
    attachments = [
        {**a, "download_url": files.presign_download(bucket(), a["key"], a["filename"], a["content_type"])}
        for a in data.get("attachments") or []
    ]
    return Article.model_validate(
        {"id": record.record_id, **data, "attachments": attachments, "version": record.version}
    )


def stage_article(uow: UnitOfWork, caller: Caller, ticket_id: str, article_id: str, article: dict[str, Any]) -> None:
    tenant = caller.tenant
    record = caller.store.new(
        tenant, ARTICLE, article_id, article | {"ticket_id": ticket_id, "created_at": clock.now().isoformat()}
    )
    record.gsi3pk = tenant_key(tenant, TICKET.upper(), ticket_id, ARTICLE.upper())
    record.gsi3sk = article_id
    caller.store.add(uow, record)
    threads.stage_message(uow, tenant, article.get("message_id"), ticket_id)


def stage_new_ticket(
    uow: UnitOfWork,
    caller: Caller,
    ticket_id: str,
    ticket: dict[str, Any],
    article_id: str,
    article: dict[str, Any],
    new_contact: NewRequester | None = None,
) -> Record:
    """Stage a ticket opened by an inbound mail, its first article and `ticket.created` (one transaction)."""
    tenant = caller.tenant
    number = uow.take_number(tenant, COUNTER)
    at = clock.now().isoformat()
    data = ticket | {"number": number, "owner_id": ticket["owner"]["id"], "article_count": 1}
    data |= {"created_at": at, "updated_at": at}
    record = caller.store.new(tenant, TICKET, ticket_id, data)
    index(record, tenant)
    caller.store.add(uow, record)
    threads.stage_number(uow, tenant, number, ticket_id)
    stage_article(uow, caller, ticket_id, article_id, article)
    shown = Ticket.model_validate({"id": ticket_id, **data, "version": 1}).model_dump(mode="json")
    created = TicketCreated(id=ticket_id, ticket=shown, article_id=article_id, new_contact=new_contact)
    uow.publish(caller.event("ticket.created", created))
    return record


def stage_reply(
    uow: UnitOfWork, caller: Caller, record: Record, article_id: str, article: dict[str, Any], changes: dict[str, Any]
) -> None:
    """Stage an inbound mail answering a ticket: the article on it, the ticket's `changes` (its
    participants, a reopened status) and `ticket.updated` (one transaction, on the ticket's version)."""
    ticket_id = record.record_id
    before = record.data
    data = before | changes | {"article_count": int(before.get("article_count", 0)) + 1}
    data["updated_at"] = clock.now().isoformat()
    record.data = data
    index(record, caller.tenant)
    caller.store.replace(uow, record, data)
    stage_article(uow, caller, ticket_id, article_id, article)
    changed = sorted({"article_count", *(k for k in changes if before.get(k) != changes[k] and k not in INTERNAL)})
    shown = after(ticket_id, data, record.version)
    updated = TicketUpdated(id=ticket_id, ticket=shown, changed=changed)
    uow.publish(caller.event("ticket.updated", updated, changes=changes_of(before, data, changed)))
