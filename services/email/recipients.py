"""The recipients projection (the kernel's, `shared/recipients.py`) over the email table: one row
per directory contact with its account's fields, fed by `contact.*`, `account.*` and
`tenant.access_changed`. Template previews and sending read a contact's tags from here, not from
the directory.
"""

from __future__ import annotations

from typing import Any

from services.email.domain.recipients import RULES
from services.email.service import Caller, service_caller
from services.email.store import EmailStore, Record
from shared.recipients import Recipients
from shared.tags import row_context

from .subscriptions import subscribe

PROJECTION: Recipients[Record] = Recipients(EmailStore(), RULES)
for event_type, handle in PROJECTION.handlers(service_caller).items():
    handle.__module__ = __name__  # registered by this feature module (features.py lists it for these types)
    subscribe(event_type)(handle)


def recipient(caller: Caller, contact_id: str) -> dict[str, Any]:
    """A contact's row data (contact, account); 404 if the service has not heard of it, it is gone,
    or the caller may not see it (the same answer)."""
    return PROJECTION.row(caller, contact_id)


def hidden_from(caller: Caller, contact_ids: list[str]) -> set[str]:
    """The ids among `contact_ids` of contacts the caller may not see (BatchGet, 100 keys a call)."""
    return PROJECTION.hidden_from(caller, contact_ids)


def context_for(caller: Caller, contact_id: str, record_data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The tag context of a mail to one contact: `contact`, `account`, `owner` and `record`.

    Every known contact/account/owner field is present (None when empty, rendered as nothing);
    `record` is `record_data` as given. 404 when the contact is unknown, deleted or erased.
    """
    return row_context(contact_id, recipient(caller, contact_id), record_data)


def contexts_for(caller: Caller, contact_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Tag contexts of many contacts (BatchGet, 100 keys a call), as `context_for` gives them.

    A deleted or erased contact maps to `{"gone": why}`; one the service has not heard of is absent.
    """
    found: dict[str, dict[str, Any]] = {}
    for contact_id, row in PROJECTION.rows_of(caller.tenant, contact_ids).items():
        data = row.data
        if data.get("gone"):
            found[contact_id] = {"gone": data["gone"]}
        elif "contact" in data:
            found[contact_id] = row_context(contact_id, data)
    return found
