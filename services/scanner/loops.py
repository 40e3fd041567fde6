"""Loop safety (issue 21 item 7): every automatic mail the scanner sends (a mailbox's auto-reply,
a ticket notification) goes through here.

The functions other parts of the scanner call (the replies and notifications too):
- `automatic_reasons(parsed, mailbox_address)`: why an inbound mail must never be answered
  automatically (`domain/automatic.py`'s classification with our addresses and our own
  Message-IDs); empty for a person's mail. The inbound function keeps the codes on the article
  (`automatic`), so a later notification about that ticket can check `may_answer(article)`;
- `may_answer(article)`: whether an article's mail (its stored `automatic` codes) may be answered
  automatically;
- `automatic_headers(mailbox_address, kind)`: what every automatic mail carries:
  `Auto-Submitted: auto-replied` (an answer to a mail) or `auto-generated` (a notification),
  `X-Loop: <mailbox address>` and `X-Auto-Response-Suppress: All` (RFC 3834; Exchange's);
- `take_allowance(uow, tenant, address)`: at most `MAX_AUTOMATIC` automatic mails to one address
  per `WINDOW` (3 hours), race-safe: a sliding window of send times in one item per (tenant,
  address), written in the caller's transaction on the condition of the version read (a
  concurrent writer makes the transaction fail and the caller's retry read again); False, staging
  nothing, when the address had its share;
- `stage_automatic_mail(uow, caller, ...)`: all of the above for one mail: refuses a recipient
  that is a system address, takes the allowance, and publishes `email.send_requested` from the
  mailbox's address with the headers. True when the mail was staged.

The mailbox's auto-reply (`auto_reply` {enabled, subject, body}) is the first user: sent when a
person's mail opens a ticket (inbound.py).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError
from pynamodb.attributes import ListAttribute, TTLAttribute, VersionAttribute

from services.scanner.domain.automatic import SYSTEM_SENDER, classify
from services.scanner.service import Caller
from services.scanner.store import Record
from shared import clock
from shared.contracts.messaging import EmailSendRequested
from shared.observability import logger
from shared.store import TableItem, UnitOfWork, record_key

if TYPE_CHECKING:  # the MIME parser (charset detection, reply parsing: ~30 ms) loads with an inbound mail only
    from services.scanner.domain.mime import ParsedMessage

MAX_AUTOMATIC = 10  # automatic mails to one address ...
WINDOW = timedelta(hours=3)  # ... in this long
ALLOWANCE = "automail"
OWN_MESSAGE_DOMAIN = "@kontakt>"  # the email service's Message-IDs: `<id@kontakt>`
AutoKind = Literal["auto-replied", "auto-generated"]


def is_own_message_id(message_id: str) -> bool:
    """Whether a Message-ID is one Kontakt's email service wrote (our own mail come back)."""
    return message_id.strip().lower().endswith(OWN_MESSAGE_DOMAIN)


def automatic_reasons(parsed: ParsedMessage, mailbox_address: str) -> list[str]:
    """Why the mail must not be answered automatically ("code: detail" each); [] for a person's mail."""
    found = classify(parsed, our_addresses=[mailbox_address], is_our_message_id=is_own_message_id)
    return [str(r) for r in found.reasons]


def may_answer(article: dict[str, Any]) -> bool:
    """Whether an article's mail may be answered automatically (it holds no `automatic` reasons)."""
    return not article.get("automatic")


def automatic_headers(mailbox_address: str, kind: AutoKind = "auto-replied") -> dict[str, str]:
    """The headers every automatic mail of a mailbox carries (RFC 3834, X-Loop, Exchange's suppression)."""
    return {"Auto-Submitted": kind, "X-Loop": mailbox_address, "X-Auto-Response-Suppress": "All"}


class Allowance(TableItem):
    """The automatic mails sent to one address of a tenant in the last WINDOW: `T#<t>#AUTOMAIL#<sha256 of
    the address>` / `AUTOMAIL`, their send times; versioned (a concurrent sender's write fails the
    other's transaction) and expiring a WINDOW after the last send."""

    sent: ListAttribute[str] = ListAttribute(default=list)  # ISO times
    version = VersionAttribute()
    expires_at = TTLAttribute(null=True)


def _key(tenant: str, address: str) -> str:
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()[:40]
    return record_key(tenant, ALLOWANCE, digest)


def _read(tenant: str, address: str) -> Allowance | None:
    try:
        return Allowance.get(_key(tenant, address), ALLOWANCE.upper(), consistent_read=True)
    except Allowance.DoesNotExist:
        return None


def _recent(times: list[str], now: datetime) -> list[str]:
    since = now - WINDOW
    return [t for t in times if datetime.fromisoformat(t) > since]


def sent_recently(tenant: str, address: str) -> int:
    """How many automatic mails went to the address in the last WINDOW (operators', tests' view)."""
    item = _read(tenant, address)
    return len(_recent(list(item.sent or []), clock.now())) if item is not None else 0


def take_allowance(uow: UnitOfWork, tenant: str, address: str) -> bool:
    """Stage one automatic mail to `address` in its 3-hour window; False (nothing staged) when full."""
    now = clock.now()
    item = _read(tenant, address)
    recent = _recent(list(item.sent or []), now) if item is not None else []
    if len(recent) >= MAX_AUTOMATIC:
        return False
    if item is None:
        item = Allowance(pk=_key(tenant, address), sk=ALLOWANCE.upper(), kind=ALLOWANCE)
    item.sent = [*recent, now.isoformat()]
    item.expires_at = now + WINDOW
    uow.save(item)  # on the version read (none: the item must not exist): a concurrent sender's fails
    return True


def _one_line(text: str, limit: int) -> str:
    """A header text: one line of printable characters, at most `limit` of them."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:limit]


def system_address(address: str) -> bool:
    """mailer-daemon, postmaster, no-reply and their spellings: never sent automatic mail."""
    return bool(SYSTEM_SENDER.match(address.strip().lower().partition("@")[0]))


def stage_automatic_mail(
    uow: UnitOfWork,
    caller: Caller,
    *,
    mailbox: Record,
    to: str,
    subject: str,
    text: str,
    request_id: str,
    kind: AutoKind = "auto-replied",
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    contact_id: str | None = None,
) -> bool:
    """Stage one automatic mail from the mailbox (From its address, the loop headers), if the
    recipient may get one now; True when staged. The caller checked the mail it answers
    (`automatic_reasons`) and commits `uow`, retrying on a conflict."""
    address = str(mailbox.data["address"])
    if not to or system_address(to) or to.strip().lower() == address.lower():
        return False
    if not take_allowance(uow, caller.tenant, to):
        return False
    try:
        request = EmailSendRequested(
            request_id=request_id,
            requester="scanner",
            to=to,
            contact_id=contact_id,
            subject=_one_line(subject, 500),
            text=text,
            from_address=address,
            from_name=_one_line(str(mailbox.data.get("name") or ""), 200) or None,
            headers=automatic_headers(address, kind),
            in_reply_to=in_reply_to,
            references=list(references or []),
        )
    except ValidationError as exc:  # never an error loop: the mail is simply not sent
        logger.warning("automatic mail not sent: its request is not valid", extra={"reasons": str(exc)[:500]})
        return False
    uow.publish(caller.event("email.send_requested", request))
    return True
