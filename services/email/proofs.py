"""Proofs that SES accepted a mail (its "Send" events), for the sender's crash recovery.

The configuration set publishes an SES "Send" event for every mail SES accepted; `proof_of(detail)`
reads the proof in it: our message id (from the mail's tag "message" or its Message-ID header
`<id@kontakt>`), the SES message id and, when tagged, the tenant. The sender's
`record_proof(detail)` (services/email/sending.py) settles a mail still "sending" at once when the
proof names its tenant; otherwise it `keep`s the proof here, keyed by our message id (no tenant's
data, like feedback's message -> tenant lookups), and a redelivery of the mail's queue message
`get`s it and settles the mail from it instead of sending it again.

A leaf: this module knows proofs and their records, not the sender that uses them.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.email.domain.feedback import event_time, mail_message_id, mail_tag
from services.email.store import EmailStore
from shared.store import ConcurrentUpdate, UnitOfWork

LOOKUP = "_"  # no tenant's data: records keyed by a message id alone
KIND = "proof"
STORE = EmailStore()


class Proof(BaseModel):
    message_id: str
    ses_message_id: str
    tenant_id: str | None = None
    at: datetime


def proof_of(detail: dict[str, Any]) -> Proof | None:
    """The proof in an SES "Send" event record; None for a mail that is not ours."""
    mail = detail.get("mail") or {}
    message_id = mail_message_id(mail)
    ses_message_id = mail.get("messageId")
    if not message_id or not ses_message_id:
        return None
    return Proof(
        message_id=message_id,
        ses_message_id=str(ses_message_id),
        tenant_id=mail_tag(mail, "tenant"),
        at=event_time((detail.get("send") or {}).get("timestamp"), mail.get("timestamp")),
    )


def keep(proof: Proof) -> None:
    """Keep the proof (once) for the sender's redelivery of the mail's queue message."""
    uow = UnitOfWork()
    STORE.add(uow, STORE.new(LOOKUP, KIND, proof.message_id, proof.model_dump(mode="json")))
    with suppress(ConcurrentUpdate):  # a redelivered event, or a second send of the mail: the first proof stays
        uow.commit()


def get(message_id: str) -> Proof | None:
    item = STORE.get(LOOKUP, KIND, message_id)
    return Proof.model_validate(item.data) if item is not None else None
