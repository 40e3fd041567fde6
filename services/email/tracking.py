"""Open and click tracking [issue 5 item 2]: the public `/t/{token}` links a tracked mail carries.

A campaign with tracking on gets its HTML instrumented when its messages are staged
(`services.email.domain.tracking.instrument`); a recipient's mail client then fetches the pixel
(an open) or follows a link (a click). Both are recorded through the feedback path
(`services.email.feedback.apply`), the same as an SES report: once per (message, kind, recipient
[, link]), with the message's history, the campaign's counters and one `email.opened` /
`email.clicked` event in one transaction. The tenant comes from the signed token, never the request.
"""

from __future__ import annotations

import json

from services.email import feedback
from services.email.domain.feedback import Feedback, Kind
from services.email.domain.tokens import BadToken, unb64
from services.email.domain.tracking import TrackingClaims, read_token
from services.email.service import service_caller
from services.email.transactional import KIND as MESSAGE
from shared import clock
from shared.observability import logger

# A transparent 1x1 GIF.
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def _key() -> bytes:
    from shared.secrets import signing_key  # Secrets Manager

    return signing_key()


def verified(token: str, key: bytes | None = None) -> TrackingClaims:
    """The claims of a tracking link; `BadToken` when forged, altered or malformed."""
    return read_token(token, key if key is not None else _key())


def claimed_kind(token: str) -> str | None:
    """What an unverified token says it is (to answer a bad pixel as a pixel); never trusted otherwise."""
    try:
        claims = json.loads(unb64(token.partition(".")[0]))
    except ValueError:
        return None
    return str(claims.get("k")) if isinstance(claims, dict) else None


def record(claims: TrackingClaims) -> None:
    """Record the open or click once (the feedback path dedupes); a message we do not know is skipped."""
    caller = service_caller(claims.tenant)
    message = caller.store.get(caller.tenant, MESSAGE, claims.message_id)
    if message is None:
        logger.warning("tracking link of an unknown message", extra={"message_id": claims.message_id})
        return
    now = clock.now()
    feedback.apply(
        Feedback(
            tenant_id=claims.tenant,
            message_id=claims.message_id,
            kind=Kind.clicked if claims.kind == "click" else Kind.opened,
            recipient=str(message.data.get("to") or ""),
            at=now,
            sent_at=now,
            url=claims.url if claims.kind == "click" else None,
        )
    )


__all__ = ["PIXEL", "BadToken", "claimed_kind", "record", "verified"]
