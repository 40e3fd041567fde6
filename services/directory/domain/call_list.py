"""Which accounts and contacts a call list shows (the filters of seed 000).

Search modes: accounts; contacts; or accounts limited to their contacts ("account_contacts":
the rows are the contacts of the accounts that pass the account filters).

- Status filter empty (the default): every account except those with status "ceased";
  ceased accounts appear only when "ceased" is asked for explicitly.
- Passive (and erased) contacts never appear.
- Ceasing an account does not make its contacts passive, so in "contacts" mode the contacts of
  a ceased account still appear unless a status filter is given; a given status filter applies
  to the contact's account (a contact without an account then does not match).
- Filters by account manager, by class and by classification type. For a contact, a class
  matches when the contact or its account belongs to it (as in target group conditions).

Latest-event columns and sorting belong to the activities service.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from .conditions import is_contactable
from .models import CEASED_STATUS, INPUT, CodeList, OptId

CallListMode = Literal["accounts", "contacts", "account_contacts"]


class CallListFilter(BaseModel):
    model_config = INPUT

    mode: CallListMode = "accounts"
    statuses: CodeList = Field(default_factory=list)
    account_manager_id: OptId = None
    class_id: OptId = None
    classification_type_id: OptId = None


def status_allowed(status: str | None, statuses: Collection[str]) -> bool:
    """Empty filter: anything but ceased; otherwise exactly the statuses asked for."""
    if not statuses:
        return status != CEASED_STATUS
    return status in statuses


def _classes(*records: Mapping[str, Any] | None) -> list[str]:
    return [c for record in records if record for c in record.get("classes") or []]


def _class_filters_pass(flt: CallListFilter, classes: list[str], class_types: Mapping[str, str] | None) -> bool:
    if flt.class_id and flt.class_id not in classes:
        return False
    if flt.classification_type_id:
        types = class_types or {}
        return any(types.get(c) == flt.classification_type_id for c in classes)
    return True


def account_in_call_list(
    account: Mapping[str, Any], flt: CallListFilter, class_types: Mapping[str, str] | None = None
) -> bool:
    """Whether an account row passes the filters (mode "accounts", or the account step)."""
    if not status_allowed(account.get("status"), flt.statuses):
        return False
    if flt.account_manager_id and account.get("account_manager_id") != flt.account_manager_id:
        return False
    return _class_filters_pass(flt, _classes(account), class_types)


def contact_in_call_list(
    contact: Mapping[str, Any],
    account: Mapping[str, Any] | None,
    flt: CallListFilter,
    class_types: Mapping[str, str] | None = None,
) -> bool:
    """Whether a contact row passes the filters (modes "contacts" and "account_contacts")."""
    if not is_contactable(contact):
        return False
    if flt.mode == "account_contacts":
        return account is not None and account_in_call_list(account, flt, class_types)
    if flt.statuses and (account is None or account.get("status") not in flt.statuses):
        return False
    if flt.account_manager_id and contact.get("account_manager_id") != flt.account_manager_id:
        return False
    return _class_filters_pass(flt, _classes(contact, account), class_types)
