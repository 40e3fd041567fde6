"""Proofs that SES accepted a mail (its "Send" events), for the sender's crash recovery.

Filled in by the sender's engineer (issue 5): `record(detail)` keeps the proof for the message id
the event names; the sender settles a mail it claimed but did not record from that proof.
"""

from typing import Any

from shared.observability import logger


def record(detail: dict[str, Any]) -> None:
    logger.info("SES send event", extra={"ses_message_id": (detail.get("mail") or {}).get("messageId")})
