"""Proofs that SES accepted a mail (its "Send" events), for the sender's crash recovery.

The configuration set publishes an SES "Send" event for every mail SES accepted; the feedback
consumer hands it to `record(detail)`, which keeps a "proof" record keyed by our message id (from
the mail's tag "message" or its Message-ID header `<id@kontakt>`) with the SES message id. An
event that names the tenant (tag "tenant", which the sender sets) settles a mail still "sending"
at once (a mail already recorded costs one read); one that does not leaves a proof record (no
tenant's data, like feedback's message -> tenant lookups) that a redelivery of the mail's queue
message finds: it settles the mail from the proof instead of sending it again.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.email.domain.feedback import _header, _tag, _time, message_id_from_header
from services.email.store import EmailStore
from shared.observability import logger
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
    message_id = _tag(mail, "message") or message_id_from_header(_header(mail, "Message-ID"))
    ses_message_id = mail.get("messageId")
    if not message_id or not ses_message_id:
        return None
    return Proof(
        message_id=message_id,
        ses_message_id=str(ses_message_id),
        tenant_id=_tag(mail, "tenant"),
        at=_time((detail.get("send") or {}).get("timestamp"), mail.get("timestamp")),
    )


def record(detail: dict[str, Any]) -> None:
    """Settle the mail at once when the event names its tenant (one read when the sender recorded it
    already, the usual case); otherwise keep the proof (once) for the sender's redelivery."""
    proof = proof_of(detail)
    if proof is None:
        logger.info("SES send event for a mail that is not ours", extra={"ses_message_id": detail.get("mail")})
        return
    if proof.tenant_id:
        from services.email.sending import settle_from_proof  # the sender imports this module

        settle_from_proof(proof.tenant_id, proof)
        return
    uow = UnitOfWork()
    STORE.add(uow, STORE.new(LOOKUP, KIND, proof.message_id, proof.model_dump(mode="json")))
    with suppress(ConcurrentUpdate):  # a redelivered event, or a second send of the mail: the first proof stays
        uow.commit()


def get(message_id: str) -> Proof | None:
    item = STORE.get(LOOKUP, KIND, message_id)
    return Proof.model_validate(item.data) if item is not None else None
