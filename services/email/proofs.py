"""Proofs that SES accepted a mail (its "Send" events), for the sender's crash recovery.

The configuration set publishes an SES "Send" event for every mail SES accepted; `proof_of(detail)`
reads the proof in it: our message id (from the mail's tag "message" or its Message-ID header
`<id@kontakt>`), the SES message id and, when tagged, the tenant. The sender's
`record_proof(detail)` (services/email/sending.py) settles a mail still "sending" by itself only
when its claim is older than the sender's timeout (the sender is gone) and the proof names its
tenant; otherwise it `keep`s the proof here (or `stage`s it in the feedback batch's transaction),
keyed by our message id (no tenant's data, like feedback's message -> tenant lookups): the live
sender's own record settles the mail, and if it died, a redelivery of the mail's queue message
`get`s the proof and settles the mail from it instead of sending it again. A kept proof expires
with the queue messages that could ask for it (RETENTION, the send queue's retention).

A leaf: this module knows proofs and their records, not the sender that uses them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from pynamodb.attributes import MapAttribute, TTLAttribute

from services.email.domain.feedback import event_time, mail_message_id, mail_tag
from services.email.store import EmailStore
from shared import clock
from shared.store import TableItem, UnitOfWork, record_key

LOOKUP = "_"  # no tenant's data: records keyed by a message id alone
KIND = "proof"
STORE = EmailStore()
RETENTION = timedelta(days=14)  # the send queue's MessageRetentionPeriod: no redelivery asks later


class ProofItem(TableItem):
    """A kept proof as it is written: the record `get` reads (its fields in `data`), without a
    version, so that writing it again is no conflict (it keeps the first one's fields)."""

    fields: MapAttribute[str, Any] = MapAttribute(default=dict, attr_name="data")
    expires_at = TTLAttribute(null=True)


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
    stage(uow, proof)
    uow.commit()


def stage(uow: UnitOfWork, proof: Proof) -> None:
    """The proof's write in `uow`: an update with no condition, which a redelivered event or a
    second send of the mail cannot refuse (so it joins a batch's transaction); the first proof's
    fields stay (`if_not_exists`)."""
    item = ProofItem(pk=record_key(LOOKUP, KIND, proof.message_id), sk=KIND.upper())
    data = proof.model_dump(mode="json")
    actions: list[Any] = [
        ProofItem.fields.set(ProofItem.fields | data),  # type: ignore[operator]
        ProofItem.kind.set(KIND),
        ProofItem.expires_at.set(clock.now() + RETENTION),
    ]
    uow.update(item, actions)


def get(message_id: str) -> Proof | None:
    item = STORE.get(LOOKUP, KIND, message_id)
    return Proof.model_validate(item.data) if item is not None else None
