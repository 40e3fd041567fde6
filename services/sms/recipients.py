"""The contacts projection (the kernel's, `shared/recipients.py`) over the sms table: one row per
directory contact with its numbers, owner and account, fed by `contact.*`, `account.*` and
`tenant.access_changed`. A send to one contact reads the number and the owner here
(`PROJECTION.row(caller, contact_id)`: 404 when unknown, gone or out of the caller's sight).

Each row is listed by its contact's mobile number, E.164 in the tenant's default country, in the
`by_contact` index (`store.number_key`): an inbound message finds its contact there (`by_number`).
"""

from __future__ import annotations

from services.sms.domain.numbers import read_number
from services.sms.domain.recipients import RULES
from services.sms.service import service_caller
from services.sms.setup import setup
from services.sms.store import Record, SmsStore, number_key
from shared.recipients import Recipients

from .subscriptions import subscribe


def _by_number(row: Record, tenant: str) -> None:
    contact = row.data.get("contact") or {}
    raw = str(contact.get("mobile") or "").strip()
    e164 = None
    if raw and not row.data.get("gone"):
        e164 = read_number(raw, setup(service_caller(tenant, open_tenant=False)).default_country).e164
    row.gsi2pk, row.gsi2sk = (number_key(tenant, e164), row.record_id) if e164 else (None, None)


def by_number(tenant: str, e164: str) -> str | None:
    """The id of a live contact whose mobile number is `e164` (the first by id when several are)."""
    for row in Record.by_contact.query(number_key(tenant, e164), limit=1):
        return row.record_id
    return None


PROJECTION: Recipients[Record] = Recipients(SmsStore(), RULES, _by_number)
for event_type, handle in PROJECTION.handlers(service_caller).items():
    handle.__module__ = __name__  # registered by this feature module (features.py lists it for these types)
    subscribe(event_type)(handle)
