"""A send's counters [issue 19 item 3a]: one `Counters` per send (shared/counters.py, as email's
campaigns), each message counted in its current status, "sending" and "waiting" as "queued". Every writer that
changes a send's message status adds to them in the same transaction: the staging and the skips
(send_recipients.py), the sender and the receipts (`count`, in sending.stage_fields). No
registrations here: the sender imports it.
"""

from __future__ import annotations

from services.sms.domain.messages import SmsMessageStatus
from services.sms.domain.sends import COUNTED
from services.sms.store import Record
from shared.counters import Counters
from shared.store import UnitOfWork

COUNTERS = Counters.of("SMS_SEND", "sms_send_stats", COUNTED, "SendStatItem")  # shared/counters.py
# claimed, or held for the sending window: still to go
COUNTED_AS = {SmsMessageStatus.sending.value: "queued", SmsMessageStatus.waiting.value: "queued"}


def count(uow: UnitOfWork, message: Record, new_status: str) -> None:
    """A send's message moves from its status as read to `new_status` in `uow`: its counters too
    (nothing for a message of no send). The sender and the receipts call it where they change a
    message's status."""
    send_id = message.data.get("send_id")
    if not send_id:
        return
    old = str(message.data.get("status"))
    old, new = COUNTED_AS.get(old, old), COUNTED_AS.get(new_status, new_status)
    if old != new:
        tenant = str(message.pk).split("#")[1]  # T#<tenant>#MESSAGE#<id>
        COUNTERS.stage(uow, tenant, str(send_id), message.record_id, {old: -1, new: 1})
