"""Pure rules of a contacts projection (`shared/recipients.py`): which directory version wins and
what a row carries. A service names the contact and account fields it keeps (`RowRules`).

A contact row's data: `contact` (the contact's kept fields), `contact_version`, and when the
contact has an account that the service has heard of, `account` (its kept fields) and
`account_version`; a deleted or erased contact is `{"gone": why}` with none of its data.
An account row's data: `record` (kept fields) and `version`, or `{"gone": "deleted"}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def _version(record: Mapping[str, Any]) -> int:
    return int(record.get("version") or 0)


def projected(fields: frozenset[str], record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k in fields and v is not None}


@dataclass(frozen=True)
class RowRules:
    """The rules over the fields a service keeps of directory contacts and accounts."""

    contact_fields: frozenset[str]
    account_fields: frozenset[str]

    def contact_with(self, data: Mapping[str, Any] | None, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """A contact row holding this contact version; None if the row holds it or a later one, or is gone."""
        current = dict(data or {})
        if current.get("gone") or int(current.get("contact_version", 0)) >= _version(record):
            return None
        return {**current, "contact": projected(self.contact_fields, record), "contact_version": _version(record)}

    def account_with(self, data: Mapping[str, Any] | None, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """An account row holding this version; None if it holds it or a later one, or is gone."""
        current = dict(data or {})
        if current.get("gone") or int(current.get("version", 0)) >= _version(record):
            return None
        return {"record": projected(self.account_fields, record), "version": _version(record)}

    @staticmethod
    def carrying(data: Mapping[str, Any], account: Mapping[str, Any] | None) -> dict[str, Any]:
        """A contact row carrying its account's row (`account`: that row's data, None if unknown or gone).

        An older account version than the one carried changes nothing.
        """
        account_id = (data.get("contact") or {}).get("account_id")
        bare = {k: v for k, v in data.items() if k not in ("account", "account_version")}
        if not account_id or account is None or account.get("gone"):
            return bare
        held = data.get("account") or {}
        version = int(account.get("version", 0))
        if held.get("id") == account_id and int(data.get("account_version", 0)) >= version:
            return dict(data)
        return {**bare, "account": {"id": account_id, **account["record"]}, "account_version": version}
