"""The contacts projection's rules (`shared/recipient_rows.py`) over the fields SMS reads: the
numbers (`mobile`, `phone`), the owner (who may send to the contact), and every field a text's
tags may name (`shared/tags.py`, the same fields email's templates read)."""

from __future__ import annotations

from shared.recipient_rows import RowRules
from shared.tags import ACCOUNT_FIELDS, CONTACT_FIELDS

RULES = RowRules(CONTACT_FIELDS, ACCOUNT_FIELDS)
