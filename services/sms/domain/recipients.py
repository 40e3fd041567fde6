"""The contacts projection's rules (`shared/recipient_rows.py`) over the fields SMS reads: the
numbers (`mobile`, `phone`), the owner (who may send to the contact) and the names and account."""

from __future__ import annotations

from shared.recipient_rows import RowRules

CONTACT_FIELDS = frozenset(
    {"id", "first_name", "last_name", "mobile", "phone", "account_id", "active", "owner", "groups", "region"}
)
ACCOUNT_FIELDS = frozenset({"id", "name", "phone", "owner"})
RULES = RowRules(CONTACT_FIELDS, ACCOUNT_FIELDS)
