"""The contacts projection (the kernel's, `shared/recipients.py`) over the sms table: one row per
directory contact with its numbers, owner and account, fed by `contact.*`, `account.*` and
`tenant.access_changed`. A send to one contact reads the number and the owner here
(`PROJECTION.row(caller, contact_id)`: 404 when unknown, gone or out of the caller's sight).

Both numbers of a contact find it (`by_number`: inbound messages find their contact there), each
read as E.164 with the tenant's default country when it can take SMS (`domain/numbers.py`):
- the mobile number lists the row itself in the `by_contact` index (`store.number_key`);
- the phone number lists a companion record, `recipient_phone` (id = contact id), under the same
  key, written in the row's transaction (a row has one key per index). The row's data says which
  number its companion holds (`phone_index`), so a write that does not change the phone reads
  nothing more. A deleted or erased contact's companion is deleted with its row.
When both numbers match different contacts, the contact whose mobile number it is wins; among
several of one kind, the first by id.

Rows projected before an index existed are placed again once per tenant (`ensure_indexed`, before
the first number lookup: see docs/decisions.md), `NUMBER_INDEX_VERSION` saying which index they
must have.
"""

from __future__ import annotations

import time
from contextlib import suppress
from contextvars import ContextVar
from typing import Any

from services.sms.domain.numbers import read_number
from services.sms.domain.recipients import RULES
from services.sms.service import service_caller
from services.sms.setup import setup
from services.sms.store import Record, SmsStore, number_key
from shared import clock
from shared.observability import logger
from shared.recipients import RECIPIENT, Recipients
from shared.store import ConcurrentUpdate, UnitOfWork

from .subscriptions import subscribe

PHONE = "recipient_phone"  # the companion record listing a contact under its phone number
PHONE_INDEX = "phone_index"  # the row's note of what its companion holds ("" none)
MARKER = "number_index"  # the tenant's record saying which number index its rows have (id MARKER)
NUMBER_INDEX_VERSION = 2  # 1: the mobile number only; 2: mobile and phone
REINDEX_SECONDS = 10.0  # what one lookup spends placing old rows at most (then the next goes on)
# The tenants' default countries while reindexing (read once, not once a row)
_countries: ContextVar[dict[str, str] | None] = ContextVar("sms_reindex_countries", default=None)


def _country(tenant: str) -> str:
    known = _countries.get()
    if known is not None and tenant in known:
        return known[tenant]
    country = setup(service_caller(tenant, open_tenant=False)).default_country
    if known is not None:
        known[tenant] = country
    return country


def _e164(row: Record, tenant: str, field: str) -> str | None:
    raw = str((row.data.get("contact") or {}).get(field) or "").strip()
    if not raw or row.data.get("gone"):
        return None
    return read_number(raw, _country(tenant)).e164


def _by_number(row: Record, tenant: str) -> None:
    e164 = _e164(row, tenant, "mobile")
    row.gsi2pk, row.gsi2sk = (number_key(tenant, e164), row.record_id) if e164 else (None, None)


def _phone_companion(uow: UnitOfWork, row: Record, tenant: str) -> None:
    """List the contact under its phone number too (a companion record), or stop listing it."""
    e164 = _e164(row, tenant, "phone") or ""
    gone = bool(row.data.get("gone"))
    if not gone and row.data.get(PHONE_INDEX) == e164:
        return  # the companion already holds it: nothing read
    store = PROJECTION.store
    companion = store.get(tenant, PHONE, row.record_id)
    if not gone:
        row.data[PHONE_INDEX] = e164
    if not e164:
        if companion is not None:
            uow.delete(companion)
        return
    if companion is None:
        companion = store.new(tenant, PHONE, row.record_id, {"number": e164})
        companion.gsi2pk, companion.gsi2sk = number_key(tenant, e164), row.record_id
        store.add(uow, companion)
    elif companion.data.get("number") != e164:
        companion.gsi2pk, companion.gsi2sk = number_key(tenant, e164), row.record_id
        store.replace(uow, companion, {"number": e164})


def by_number(tenant: str, e164: str) -> str | None:
    """The id of a live contact whose mobile number is `e164`, else whose phone number is (the
    first by id when several are)."""
    ensure_indexed(tenant)
    mobile: list[str] = []
    phone: list[str] = []
    for item in Record.by_contact.query(number_key(tenant, e164), limit=50):
        (mobile if item.kind == RECIPIENT else phone).append(str(item.gsi2sk))
    found = sorted(mobile) or sorted(phone)
    return found[0] if found else None


def ensure_indexed(tenant: str) -> None:
    """Place the tenant's rows projected before the current number index, once: each lookup spends
    at most REINDEX_SECONDS and the next goes on from where it stopped (the tenant's `number_index`
    record holds the version done and, while unfinished, the last row placed)."""
    marker = PROJECTION.store.get(tenant, MARKER, MARKER)
    held: dict[str, Any] = marker.data if marker else {}
    if held.get("version", 1) >= NUMBER_INDEX_VERSION and not held.get("after"):
        return
    reindex_numbers(tenant, REINDEX_SECONDS)


def reindex_numbers(tenant: str, seconds: float | None = None) -> int:
    """Place the tenant's rows for the current number index: from where an unfinished run stopped,
    else from the first row; with `seconds`, for that long at most. Notes how far it got in the
    tenant's `number_index` record; returns the rows written (`kontakt tenant reindex` runs it whole)."""
    store = PROJECTION.store
    marker = store.get(tenant, MARKER, MARKER)
    held: dict[str, Any] = marker.data if marker else {}
    after = held.get("after") if held.get("version") == NUMBER_INDEX_VERSION else None
    token = _countries.set({})
    try:
        deadline = time.monotonic() + seconds if seconds is not None else None
        written, stopped = PROJECTION.reindex(tenant, after, deadline=deadline)
    finally:
        _countries.reset(token)
    data = {"version": NUMBER_INDEX_VERSION, "after": stopped, "at": clock.iso(clock.now())}
    uow = UnitOfWork()
    if marker is None:
        store.add(uow, store.new(tenant, MARKER, MARKER, data))
    else:
        store.replace(uow, marker, data)
    with suppress(ConcurrentUpdate):  # a concurrent run placed the same rows and wrote it
        uow.commit()
    logger.info("number index", extra={"tenant_id": tenant, "rows_written": written, "finished": stopped is None})
    return written


PROJECTION: Recipients[Record] = Recipients(SmsStore(), RULES, _by_number, _phone_companion)
for event_type, handle in PROJECTION.handlers(service_caller).items():
    handle.__module__ = __name__  # registered by this feature module (features.py lists it for these types)
    subscribe(event_type)(handle)
