"""The recipients projection's rules (`shared/recipient_rows.py`) over the fields email's tags read.

A recipient row's data: `contact` (the contact's known fields), `contact_version`, and when the
contact has an account that the service has heard of, `account` (its known fields) and
`account_version`; a deleted or erased contact is `{"gone": why}` with none of its data.
An account row's data: `record` (known fields) and `version`, or `{"gone": "deleted"}`.
"""

from __future__ import annotations

from shared.recipient_rows import RowRules
from shared.tags import ACCOUNT_FIELDS, CONTACT_FIELDS

RULES = RowRules(CONTACT_FIELDS, ACCOUNT_FIELDS)
contact_with = RULES.contact_with
account_with = RULES.account_with
carrying = RULES.carrying
