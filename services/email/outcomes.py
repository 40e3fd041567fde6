"""What the email service tells a requester about a mail it asked for that will not go (`email.failed`).

The sender (a mail that cannot be built, a server that refuses it, an erased contact) and the
consumer of `email.send_requested` (a request refused, a suppressed or opted-out address) both end
a requested mail so; the event commits with the mail's final status, once per mail.
"""

from __future__ import annotations

from typing import Any

from services.email.domain.messages import MessageStatus
from services.email.service import Caller
from shared import clock
from shared.contracts.messaging import EmailFailed
from shared.events import Envelope
from shared.ids import derived_id

NOT_SENT = (MessageStatus.failed, MessageStatus.skipped, MessageStatus.suppressed, MessageStatus.opted_out)


def failed_event(caller: Caller, message_id: str, data: dict[str, Any]) -> Envelope | None:
    """`email.failed` for a requested mail (`email.send_requested`) that ends failed or skipped, so
    its requester learns it will not go; None for any other mail or outcome."""
    status = data.get("status")
    if not data.get("requester") or status not in NOT_SENT:
        return None
    event = EmailFailed(
        message_id=message_id,
        contact_id=data.get("contact_id"),
        to=str(data.get("to") or ""),
        status=str(status),  # type: ignore[arg-type]  # one of NOT_SENT, checked above
        reason=None if data.get("erased_at") else data.get("error"),
        at=clock.now(),
        requester=data.get("requester"),
        request_id=data.get("request_id"),
    )
    return caller.event("email.failed", event, event_id=derived_id("email.failed", message_id))
