"""The call list's query: one page of accounts or contacts for one caller, filtered and in order.

A page reads one of the rank indexes (`by_rank`: by the latest event's time; `by_rank_alt`: by
its type) in key order, in chunks, and filters in memory: its cost is the rows read, at most
`MAX_READ` per request, not the size of the tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from services.activities.call_list import index, rows
from services.activities.domain.call_list import (
    CallListFilter,
    CallListRow,
    GroupRule,
    RowKind,
    account_in_call_list,
    chunk_size,
    contact_in_call_list,
    contact_manager,
    in_target_group,
    row_kind,
    row_of,
    visible_to,
)
from services.activities.service import Caller
from services.activities.store import Record
from shared.errors import BadRequest, FieldError
from shared.pagination import Page, decode_cursor, encode_cursor

MAX_READ = 1000  # rows one request reads at most


@dataclass
class _Filter:
    """Decides, row by row, what one caller's list shows."""

    caller: Caller
    flt: CallListFilter
    group: GroupRule | None

    @cached_property
    def kind(self) -> RowKind:
        return row_kind(self.flt.mode)

    @cached_property
    def class_types(self) -> dict[str, str]:
        needed = self.flt.classification_type_id or self.group is not None
        return index.class_types(self.caller.tenant) if needed else {}

    def passes(self, data: Mapping[str, Any]) -> bool:
        record = data.get("record") or {}
        account = data.get("account") if self.kind == "contact" else None
        manager = record.get("account_manager_id") if self.kind == "account" else contact_manager(record, account)
        auth = self.caller.auth
        owner = (record.get("owner") or {}).get("id")
        if not visible_to(auth.role, auth.user_id, auth.groups, owner, manager):
            return False
        if self.kind == "account":
            if not account_in_call_list(record, self.flt, self.class_types):
                return False
        elif not contact_in_call_list(record, account, self.flt, self.class_types):
            return False
        return self.group is None or in_target_group(self.group, self.kind, record, account, self.class_types)


@dataclass
class Reading:
    """What one page read: rows read, Queries sent, rows shown (for the benchmarks)."""

    read: int = 0
    queries: int = 0
    shown: int = 0


def list_rows(
    caller: Caller, flt: CallListFilter, cursor: str | None, limit: int, reading: Reading | None = None
) -> Page[CallListRow]:
    """One page of the call list in the chosen order; the cursor names this filter and order.

    Rows are read in key order in chunks: the first as big as the page (+1, so that an
    unfiltered list knows where it ends), the next sized by the share of rows that passed so
    far, until the page is full, the list ends or `MAX_READ` rows were read. A cursor goes on
    after the last row shown or read; the page it leads to may be short (or, at the end of a
    filtered list, empty).
    """
    scope = f"{caller.tenant}:call-list:{flt.scope()}"
    after = _position(decode_cursor(cursor, scope, caller.signing_key)) if cursor else None
    shows = _Filter(caller, flt, index.group_rule(caller.tenant, flt.target_group_id) if flt.target_group_id else None)
    reading = reading or Reading()
    sk_name = "gsi6sk" if flt.sort == "latest_time" else "gsi7sk"
    shown: list[Record] = []
    more = True
    while more and len(shown) < limit and reading.read < MAX_READ:
        size = chunk_size(limit, len(shown), reading.read, MAX_READ)
        chunk = _ranked(caller.tenant, shows.kind, flt, after, size)
        reading.queries += 1
        reading.read += len(chunk)
        more = len(chunk) == size
        after = getattr(chunk[-1], sk_name) if chunk else after
        shown.extend(row for row in chunk if shows.passes(row.data))
    reading.shown = min(len(shown), limit)
    next_sk = getattr(shown[limit - 1], sk_name) if len(shown) > limit else (after if more else None)
    next_cursor = encode_cursor({"sk": next_sk}, scope, caller.signing_key) if next_sk else None
    items = [row_of(shows.kind, r.record_id, r.data) for r in shown[:limit]]
    return Page[CallListRow](items=items, next_cursor=next_cursor)


def _position(position: dict[str, Any]) -> str:
    sk = position.get("sk")
    if not isinstance(sk, str):
        raise BadRequest(
            "The cursor is not valid for this list.",
            [FieldError(field="query.cursor", message="invalid cursor", code="invalid_cursor")],
        )
    return sk


def _ranked(tenant: str, kind: RowKind, flt: CallListFilter, after: str | None, limit: int) -> list[Record]:
    """The next `limit` rows of a list after the position `after`: one Query on a rank index."""
    index = Record.by_rank if flt.sort == "latest_time" else Record.by_rank_alt
    sk = Record.gsi6sk if flt.sort == "latest_time" else Record.gsi7sk
    newest_first = flt.order == "desc"
    condition = None
    if after is not None:
        condition = sk < after if newest_first else sk > after
    query = index.query(
        rows.rank_pk(tenant, kind), range_key_condition=condition, scan_index_forward=not newest_first, limit=limit
    )
    return list(query)
