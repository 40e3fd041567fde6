"""Contact orders [003]: the list of orders, and the page reader facilities share with it.

Open orders come first, by planned date or running number (the tenant chooses), closed ones last
(the rank keys order_records.py writes). A user with "view only assigned" reads their own copy of
the list (`co_member` records); so does the assignee filter.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from services.activities.domain.contact_orders import ContactOrder, Filters
from services.activities.domain.order_settings import Permission, SortBy, require_any_view
from services.activities.order_favourites import get_favourite
from services.activities.order_records import list_key, order_of
from services.activities.order_settings import permissions, settings
from services.activities.service import Caller
from services.activities.store import Record
from shared.pagination import Page, decode_cursor, encode_cursor

READ_BUDGET = 500  # index items a list page may read at most (filters drop some): a page's cost is bounded
FILTERED_PAGE = 100


def budget_page(
    caller: Caller,
    scope: str,
    cursor: str | None,
    limit: int,
    index: Any,
    hash_key: str,
    sk_name: str,
    lower: str,
    upper: str,
    condition: Any,
    convert: Any,
) -> Page[Any]:
    """One page of an index partition between two keys, filtered, reading at most READ_BUDGET items.

    A selective filter can make a page shorter than `limit` (even empty) with a cursor: the
    client follows it. So a page costs the same however large the tenant is.
    """
    scope = f"{caller.tenant}:{scope}"
    after = decode_cursor(cursor, scope, caller.signing_key)["sk"] if cursor else None
    sk = getattr(Record, sk_name)
    start = f"{after} " if after else (lower or "!")
    # A filter drops items after they are read: read bigger pages then, to need fewer round trips.
    page_size = min(READ_BUDGET, limit + 1 if condition is None else max(limit + 1, FILTERED_PAGE))
    pages = index.query(hash_key, sk.between(start, upper), filter_condition=condition, page_size=page_size).page_iter
    items: list[Record] = []
    read = 0
    position: str | None = None
    for raw in pages:
        read += int(raw.get("ScannedCount", 0))
        items.extend(Record.from_raw_data(item) for item in raw.get("Items", []))
        if len(items) > limit:  # one more than asked: there is a next page
            items = items[:limit]
            position = getattr(items[-1], sk_name)
            break
        last = pages.last_evaluated_key
        if last is None:
            break
        if read >= READ_BUDGET:
            position = last[sk_name]["S"]
            break
    next_cursor = encode_cursor({"sk": position}, scope, caller.signing_key) if position else None
    return Page[Any](items=[convert(r) for r in items], next_cursor=next_cursor)


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
    caller: Caller, filters: Filters, cursor: str | None, limit: int, favourite_id: str | None = None
) -> Page[ContactOrder]:
    """Open orders first, by planned date or running number (tenant setting), then the closed ones."""
    perms = permissions(caller)
    require_any_view(perms)
    if favourite_id:
        filters = get_favourite(caller, favourite_id).filters
    partition_user = None if Permission.view in perms else caller.user_id
    if partition_user is None and filters.assignee_id:
        partition_user = filters.assignee_id
    by_number = settings(caller).sort_by == SortBy.number
    index, sk_name = (Record.by_rank_alt, "gsi7sk") if by_number else (Record.by_rank, "gsi6sk")
    prefix = "" if filters.closed is None else ("1#" if filters.closed else "0#")
    digest = hashlib.sha256(json.dumps(filters.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]
    scope = f"contact_orders:{partition_user or ''}:{sk_name}:{digest}"
    return budget_page(
        caller, scope, cursor, limit, index, list_key(caller.tenant, partition_user), sk_name, prefix or "0",
        f"{prefix}~" if prefix else "~", _filter_condition(filters, filters.assignee_id), order_of,
    )  # fmt: skip
