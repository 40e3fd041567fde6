"""Contact orders [003]: the list of orders (a page of the kernel's `partition_page`, filtered).

Open orders come first, by planned date or running number (the tenant chooses), closed ones last
(the rank keys order_records.py writes). A user with "view only assigned" reads their own copy of
the list (`co_member` records); so does the assignee filter.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from services.activities.domain.contact_orders import ContactOrder, Filters
from services.activities.domain.order_settings import Permission, SortBy, require_any_view
from services.activities.order_favourites import get_favourite
from services.activities.order_records import KIND, list_key, order_of
from services.activities.order_settings import permissions, settings
from services.activities.service import Caller
from services.activities.store import Record
from shared.lookup import only_since
from shared.pagination import Page
from shared.service import partition_page, sync_page


def _filter_condition(filters: Filters, assignee: str | None) -> Any:
    data = Record.fields
    parts: list[Any] = []
    for name in ("status", "account_id", "contact_id", "facility_id"):
        value = getattr(filters, name)
        if value is not None:
            parts.append(data[name] == value)
    if assignee:
        parts.append(data["assignee_ids"].contains(assignee))
    if filters.planned_from:
        parts.append(data["planned_date"] >= filters.planned_from.isoformat())
    if filters.planned_to:
        parts.append(data["planned_date"] <= filters.planned_to.isoformat())
    condition = None
    for part in parts:
        condition = part if condition is None else condition & part
    return condition


def list_orders(
    caller: Caller,
    filters: Filters,
    cursor: str | None,
    limit: int,
    favourite_id: str | None = None,
    updated_since: datetime | None = None,
) -> Page[ContactOrder]:
    """Open orders first, by planned date or running number (tenant setting), then the closed ones.
    `updated_since`: the kernel's sync page, of the orders the caller may see (`can_see`)."""
    perms = permissions(caller)
    require_any_view(perms)
    if updated_since is not None:
        others = {**filters.model_dump(), "favourite_id": favourite_id}
        visible = None if Permission.view in perms else (lambda record: _members_of(record, caller.user_id))
        only_since(others)
        return sync_page(caller, KIND, updated_since, cursor, limit, ContactOrder, visible=visible)
    if favourite_id:
        filters = get_favourite(caller, favourite_id).filters
    partition_user = None if Permission.view in perms else caller.user_id
    if partition_user is None and filters.assignee_id:
        partition_user = filters.assignee_id
    by_number = settings(caller).sort_by == SortBy.number
    index, sort_key = (Record.by_rank_alt, Record.gsi7sk) if by_number else (Record.by_rank, Record.gsi6sk)
    prefix = "" if filters.closed is None else ("1#" if filters.closed else "0#")
    digest = hashlib.sha256(json.dumps(filters.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]
    scope = f"contact_orders:{partition_user or ''}:{sort_key.attr_name}:{digest}"
    return partition_page(
        caller, scope, cursor, limit, index, list_key(caller.tenant, partition_user), sort_key, ContactOrder,
        lower=prefix or "0", upper=f"{prefix}~" if prefix else "~",
        condition=_filter_condition(filters, filters.assignee_id), convert=order_of,
    )  # fmt: skip


def _members_of(record: Any, user_id: str) -> bool:
    """Whether the user is the owner or an assignee of an order (or of a deleted one: its tombstone
    keeps both), as `can_see` asks of a user who sees only their assigned orders."""
    data = record.data
    return user_id in {data.get("owner_id"), *(data.get("assignee_ids") or [])}
