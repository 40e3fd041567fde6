"""What template tags read, for every service that fills them (email's templates, SMS texts).

Tags read four names: `contact`, `account` (the contact's account), `owner` (the contact's owner)
and `record` (free-form data a service sends with a message). `tag_context` builds them from a
contacts projection row (`shared/recipients.py`); every known field is present (None when empty,
written as nothing), so a known tag never fails. No Jinja2 here: the engine that checks and
renders is `shared/templating.py`, imported only where a text is checked or rendered (cold start).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The fields a tag may name: the directory's Contact / Account as its API and events show them
# (services/directory/domain/models.py), kept here as plain lists so no service imports the
# directory. `owner` is the contact's owner.
CONTACT_FIELDS = frozenset(
    {
        "id", "number", "first_name", "last_name", "email", "phone", "mobile", "account_id", "active",
        "consent_date", "department", "job_title", "category", "region", "groups", "benefit_status",
        "account_manager_id", "sales_status", "owner", "classes", "created_at", "updated_at",
    }
)  # fmt: skip
ACCOUNT_FIELDS = frozenset(
    {
        "id", "number", "name", "status", "business_id", "email", "phone", "website", "street",
        "postal_code", "city", "country", "account_manager_id", "owner", "classes", "created_at", "updated_at",
    }
)  # fmt: skip
OWNER_FIELDS = frozenset({"id", "type"})
KNOWN: dict[str, frozenset[str]] = {"contact": CONTACT_FIELDS, "account": ACCOUNT_FIELDS, "owner": OWNER_FIELDS}
ROOTS: tuple[str, ...] = (*KNOWN, "record")  # what a tag may start with (a service may allow fewer)

# The contact a preview fills the tags for when it names none.
SAMPLE_CONTACT: dict[str, Any] = {
    "id": "sample",
    "number": "1001",
    "first_name": "Maija",
    "last_name": "Mallikas",
    "email": "maija.mallikas@example.com",
    "phone": "+358 9 1234 5678",
    "mobile": "+358 40 123 4567",
    "account_id": "sample-account",
    "active": True,
    "department": "Myynti",
    "job_title": "Myyntipäällikkö",
    "region": "Uusimaa",
    "owner": {"id": "sample-user", "type": "user"},
}
SAMPLE_ACCOUNT: dict[str, Any] = {
    "id": "sample-account",
    "number": "501",
    "name": "Esimerkki Oy",
    "business_id": "1234567-1",
    "email": "info@example.com",
    "phone": "+358 9 8765 4321",
    "website": "https://example.com",
    "street": "Esimerkkikatu 1",
    "postal_code": "00100",
    "city": "Helsinki",
    "country": "FI",
}


def tag_context(
    contact: Mapping[str, Any], account: Mapping[str, Any] | None, record: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The names tags read: every known field present (None when empty), so a known tag never fails."""
    contact_fields = {name: contact.get(name) for name in CONTACT_FIELDS}
    owner = contact.get("owner") or {}
    return {
        "contact": contact_fields,
        "account": {name: (account or {}).get(name) for name in ACCOUNT_FIELDS},
        "owner": {name: owner.get(name) for name in OWNER_FIELDS},
        "record": dict(record or {}),
    }


def row_context(contact_id: str, row: Mapping[str, Any], record: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The tag context of a contacts projection row (`shared/recipients.py`: `contact`, `account`)."""
    return tag_context({"id": contact_id, **row["contact"]}, row.get("account"), record)


def sample_context(record: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The tag context of the built-in sample contact (a preview that names no contact)."""
    return tag_context(SAMPLE_CONTACT, SAMPLE_ACCOUNT, record)
