"""The contacts projection (the kernel's, `shared/recipients.py`) over the scanner table: one row
per directory contact with its address and owner, fed by `contact.*`, `account.*` and
`tenant.access_changed`. An inbound mail finds its requester by the sender's address here
(`by_email`): each live row is listed in `by_contact` under `T#<t>#EMAIL#<address>#RECIPIENT`.
"""

from __future__ import annotations

from services.scanner.service import service_caller
from services.scanner.store import Record, ScannerStore
from shared.recipient_rows import RowRules
from shared.recipients import Recipients
from shared.store import tenant_key
from shared.tags import ACCOUNT_FIELDS

from .subscriptions import subscribe

RULES = RowRules(frozenset({"id", "first_name", "last_name", "email", "account_id", "owner"}), ACCOUNT_FIELDS)


def email_key(tenant: str, address: str) -> str:
    return tenant_key(tenant, "EMAIL", address.strip().lower(), "RECIPIENT")


def _by_email(row: Record, tenant: str) -> None:
    address = str((row.data.get("contact") or {}).get("email") or "").strip().lower()
    live = address and not row.data.get("gone")
    row.gsi2pk, row.gsi2sk = (email_key(tenant, address), row.record_id) if live else (None, None)


def by_email(tenant: str, address: str) -> str | None:
    """The id of a live contact with this address (the first by id when several have it)."""
    if not address:
        return None
    found = [str(item.gsi2sk) for item in Record.by_contact.query(email_key(tenant, address), limit=20)]
    return min(found) if found else None


PROJECTION: Recipients[Record] = Recipients(ScannerStore(), RULES, _by_email)
for event_type, handle in PROJECTION.handlers(service_caller).items():
    if event_type == "contact.erased":  # erasure.py buries the row once it has read the address
        continue
    handle.__module__ = __name__  # registered by this feature module (features.py lists it for these types)
    subscribe(event_type)(handle)


def account_of(tenant: str, contact_id: str | None) -> str | None:
    """The account of a contact of the projection, if it names one."""
    if not contact_id:
        return None
    row = PROJECTION.rows_of(tenant, [contact_id]).get(contact_id)
    account = (row.data.get("contact") or {}).get("account_id") if row is not None else None
    return str(account) if account else None
