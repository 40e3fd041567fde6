"""A reply's delivery status, as the email service reports it (issue 21 item 6).

A reply's article (replies.py) lists one `delivery` entry per mail it asked for, "queued" at first.
The email service's outcome events name the request each mail came from (`requester`, `request_id`:
`shared/contracts/messaging.py`), and the template's rule routes to the scanner only those whose
requester is the scanner. The request id of a reply's mail is `reply-<article id>-<n>`, its
Message-ID `message_id_header("scanner", request_id)`: the entry with that Message-ID on that article
takes the status and its time:

    queued -> sent (the mail server took it) -> delivered | bounced | rejected
    queued -> failed | skipped | suppressed | opted_out (the email service did not send it)

A status moves only forward (the events of one mail may arrive in any order: a `email.sent` after
its `email.delivered` only adds `sent_at`), so an event delivered again changes nothing, and the
article's write commits with the consumer's dedupe marker (on the article's version: a concurrent
change makes the event come again). A bounce after a delivery (a later asynchronous bounce) wins.
Other mails of the scanner (auto-replies, notifications, oversize notes) have no article: ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.scanner import tickets
from services.scanner.notifications import REQUESTER
from services.scanner.service import service_caller
from services.scanner.subscriptions import subscribe
from shared import clock
from shared.contracts.messaging import (
    EmailBounced,
    EmailFailed,
    EmailFeedback,
    EmailRejected,
    EmailSent,
    message_id_header,
)
from shared.events import Envelope
from shared.observability import logger
from shared.store import UnitOfWork

REPLY_REQUEST = "reply"  # a reply's mails are the requests `reply-<article id>-<n>` (replies.py)
# How far along a mail is: a status replaces another of a lower rank only.
RANK = {"queued": 0, "sent": 1, "delivered": 2}
FINAL = 3  # bounced, rejected and the email service's failed, skipped, suppressed, opted_out


def rank(status: str) -> int:
    return RANK.get(status, FINAL)


def advanced(entry: dict[str, Any], status: str, at: datetime, **details: Any) -> dict[str, Any]:
    """The delivery entry after a report of `status` at `at` (the entry itself when it says nothing new)."""
    after = dict(entry)
    if status == "sent" and not after.get("sent_at"):
        after["sent_at"] = clock.iso(at)
    if rank(status) > rank(str(entry.get("status") or "queued")):
        after |= {"status": status, "at": clock.iso(at)} | {k: v for k, v in details.items() if v is not None}
    return after


def _article_of(request_id: str) -> str | None:
    """The article id of a reply's mail (`reply-<article id>-<n>`); None for the scanner's other mails."""
    head, _, n = request_id.rpartition("-")
    prefix = f"{REPLY_REQUEST}-"
    return head[len(prefix) :] if head.startswith(prefix) and n.isdigit() else None


def record(envelope: Envelope, uow: UnitOfWork, report: BaseModel, status: str, at: datetime, **details: Any) -> None:
    requester, request_id = getattr(report, "requester", None), getattr(report, "request_id", None)
    article_id = _article_of(str(request_id or "")) if requester == REQUESTER else None
    if article_id is None:
        return
    caller = service_caller(envelope.tenant_id)
    article = caller.store.get(caller.tenant, tickets.ARTICLE, article_id)
    if article is None:
        logger.info("delivery report for an unknown reply", extra={"article_id": article_id, "status": status})
        return
    message_id = message_id_header(REQUESTER, str(request_id))
    entries = list(article.data.get("delivery") or [])
    changed = [advanced(e, status, at, **details) if e.get("message_id") == message_id else e for e in entries]
    if changed != entries:
        caller.store.replace(uow, article, article.data | {"delivery": changed})  # with the dedupe marker


@subscribe("email.sent")
def on_sent(envelope: Envelope, uow: UnitOfWork) -> None:
    report = EmailSent.model_validate(envelope.data)
    record(envelope, uow, report, "sent", report.sent_at)


@subscribe("email.delivered")
def on_delivered(envelope: Envelope, uow: UnitOfWork) -> None:
    report = EmailFeedback.model_validate(envelope.data)
    record(envelope, uow, report, "delivered", report.at)


@subscribe("email.bounced")
def on_bounced(envelope: Envelope, uow: UnitOfWork) -> None:
    report = EmailBounced.model_validate(envelope.data)
    record(envelope, uow, report, "bounced", report.at, bounce_type=report.bounce_type)


@subscribe("email.rejected")
def on_rejected(envelope: Envelope, uow: UnitOfWork) -> None:
    report = EmailRejected.model_validate(envelope.data)
    record(envelope, uow, report, "rejected", report.at, reason=report.reason)


@subscribe("email.failed")
def on_failed(envelope: Envelope, uow: UnitOfWork) -> None:
    report = EmailFailed.model_validate(envelope.data)
    record(envelope, uow, report, report.status, report.at, reason=report.reason)
