"""The "change comments" notifications (issue 21 item 6, seed 002): a mail to a ticket's requester
when its status changes and on a public comment (a note that is not internal), from the standard
template the tenant may edit (tenant setting "ticket_notifications", scanner-wide: one template for
every mailbox; off by default).

They are automatic mails: none goes to a requester whose latest mail to the ticket was automatic
(`last_inbound_automatic`, set by the inbound path from `domain/automatic.py`'s `classify`), and
none answers an internal note or a reply (a reply is itself the mail). Each goes through
`email.send_requested` from the ticket's mailbox with the ticket's tag in its subject; its
Message-ID is recorded on the ticket, so an answer to it threads back. Staged in the transaction
of the change that caused it.
"""

from __future__ import annotations

import re
from typing import Any

from services.scanner import loops, threads
from services.scanner.domain.tickets import TicketNotifications, TicketNotificationsUpdate
from services.scanner.service import Caller, register_default
from shared.contracts.messaging import message_id_header
from shared.store import UnitOfWork
from shared.types import MAIL_SUBJECT_MAX

SETTING = "ticket_notifications"
REQUESTER = "scanner"  # as replies.py's: the Message-IDs derive from requester and request id
FIELDS = re.compile(r"\{(number|subject|status|comment)\}")
DEFAULT = {
    "enabled": False,
    "on_status": True,
    "on_comment": True,
    "subject": "[#TCK-{number}] {subject}: {status}",
    "text": "Hello,\n\nyour ticket {number} ({subject}) is now {status}.\n\n{comment}\n",
}
register_default(SETTING, lambda: dict(DEFAULT))


def settings(caller: Caller) -> TicketNotifications:
    return TicketNotifications.model_validate(caller.setting(SETTING))


def get_settings(caller: Caller) -> TicketNotifications:
    caller.address_setting(SETTING)
    found = caller.setting_record(SETTING)
    return TicketNotifications.model_validate({**DEFAULT, **found.data, "version": found.version or 1})


def update_settings(caller: Caller, body: TicketNotificationsUpdate) -> TicketNotifications:
    """A merge patch (admins); If-Match is evaluated on the setting (412)."""
    caller.require_admin()
    caller.address_setting(SETTING)
    current = settings(caller).model_dump(mode="json", exclude={"version"})
    merged = current | body.model_dump(mode="json", exclude_unset=True)
    caller.save_setting(SETTING, merged)
    caller.forget_setting(SETTING)
    return get_settings(caller)


def fill(template: str, values: dict[str, str]) -> str:
    """The template with {number}, {subject}, {status} and {comment} filled (nothing else is read)."""
    return FIELDS.sub(lambda m: values.get(m.group(1), ""), template)


def may_notify(ticket: dict[str, Any]) -> bool:
    """Whether an automatic mail may go to the ticket's requester: there is one, and their latest
    mail to the ticket was a person's (loop safety: never an automatic answer to an automatic mail).
    The per-sender limit of automatic mails (issue 21 item 7) is checked here too, once it exists."""
    return bool(ticket.get("requester_email")) and not ticket.get("last_inbound_automatic")


def _stage(
    uow: UnitOfWork, caller: Caller, ticket: dict[str, Any], shown: dict[str, Any], key: str, comment: str
) -> None:
    setting = settings(caller)
    mailbox = caller.store.get(caller.tenant, "mailbox", str(ticket.get("mailbox_id") or ""))
    values = {
        "number": str(shown["number"]),
        "subject": str(shown.get("subject") or ""),
        "status": str(shown.get("status") or ""),
        "comment": comment,
    }
    subject = " ".join(fill(setting.subject, values).split())
    tag = threads.tag(int(shown["number"]))
    if tag.lower() not in subject.lower():  # the tag threads an answer by subject too: always kept
        subject = f"{subject[: MAIL_SUBJECT_MAX - len(tag) - 1]} {tag}"
    subject = subject[:MAIL_SUBJECT_MAX]
    request_id = f"notify-{shown['id']}-{key}"
    if mailbox is None:
        return
    staged = loops.stage_automatic_mail(  # loop headers, From the mailbox, the per-recipient allowance
        uow,
        caller,
        mailbox=mailbox,
        to=str(ticket["requester_email"]),
        subject=subject,
        text=fill(setting.text, values),
        request_id=request_id,
        kind="auto-generated",
        contact_id=ticket.get("requester_contact_id"),
    )
    if staged:  # the requester's answer threads back to the ticket
        threads.stage_message(uow, caller.tenant, message_id_header(REQUESTER, request_id), str(shown["id"]))


def stage_status(
    uow: UnitOfWork, caller: Caller, ticket: dict[str, Any], shown: dict[str, Any], comment: str | None
) -> None:
    """Notify the requester of the ticket's new status (`shown`: the ticket after the change)."""
    setting = settings(caller)
    if setting.enabled and setting.on_status and may_notify(ticket):
        _stage(uow, caller, ticket, shown, f"v{shown['version']}", comment or "")


def stage_comment(
    uow: UnitOfWork, caller: Caller, ticket: dict[str, Any], shown: dict[str, Any], article_id: str, text: str
) -> None:
    """Notify the requester of a public comment (`shown`: the ticket after the comment was added)."""
    setting = settings(caller)
    if setting.enabled and setting.on_comment and may_notify(ticket):
        _stage(uow, caller, ticket, shown, f"comment-{article_id}", text)
