"""The contacts projection (the kernel's, `shared/recipients.py`) over the sms table: one row per
directory contact with its numbers, owner and account, fed by `contact.*`, `account.*` and
`tenant.access_changed`. A send to one contact reads the number and the owner here
(`PROJECTION.row(caller, contact_id)`: 404 when unknown, gone or out of the caller's sight).

Not yet: an index by E.164 number (inbound messages find their contact by it).
"""

from __future__ import annotations

from services.sms.domain.recipients import RULES
from services.sms.service import service_caller
from services.sms.store import Record, SmsStore
from shared.recipients import Recipients

from .subscriptions import subscribe

PROJECTION: Recipients[Record] = Recipients(SmsStore(), RULES)
for event_type, handle in PROJECTION.handlers(service_caller).items():
    subscribe(event_type)(handle)
