"""A user's to-do list [002 home view]: open tasks, bookings and assigned contact orders by due time.

Each feature keeps its own items in the `by_todo` index (`T#<t>#TODO#<user>` / `<due>#<id>`):
activities.py its open tasks, order_bookings.py the open bookings (`booking` records) and
order_records.py one `assignment` record per assignee of an open contact order. One query reads a
page of all three in due order; an item without a due time sorts last.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from services.activities.calendar import index_page, whose
from services.activities.domain.calendar import CalendarLinks
from services.activities.service import Caller
from services.activities.store import Record
from shared import clock
from shared.observability import logger
from shared.pagination import Page
from shared.store import tenant_key
from shared.types import OUTPUT


class TodoKind(StrEnum):
    task = "task"
    booking = "booking"
    contact_order = "contact_order"


class TodoItem(BaseModel):
    model_config = OUTPUT

    kind: TodoKind
    id: str = Field(description="The task's, booking's or contact order's id")
    subject: str
    due: datetime | None = Field(None, description="Task due date, booking time or the order's planned date")
    overdue: bool = False
    status: str
    links: CalendarLinks = Field(default_factory=CalendarLinks)


def _due(value: Any) -> datetime | None:
    """A due time; a date alone (an order's planned date) is that day's start in UTC."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    text = str(value)
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return datetime.fromisoformat(text)


def _item(record: Record) -> dict[str, Any] | None:
    data = record.data
    if record.kind == "activity":
        return {
            "kind": TodoKind.task,
            "id": record.record_id,
            "subject": data["subject"],
            "due": _due(data.get("due")),
            "status": data.get("status", "open"),
            "links": CalendarLinks(
                activity_id=record.record_id, account_id=data.get("account_id"), contact_id=data.get("contact_id")
            ),
        }
    if record.kind == "booking":
        return {
            "kind": TodoKind.booking,
            "id": data.get("id") or record.record_id,
            "subject": data.get("subject") or f"Contact order {data.get('order_number', '')}".strip(),
            "due": _due(data.get("start")),
            "status": data.get("status", "open"),
            "links": CalendarLinks(
                contact_order_id=data.get("order_id"),
                order_number=data.get("order_number"),
                account_id=data.get("account_id"),
                contact_id=data.get("contact_id"),
            ),
        }
    if record.kind == "assignment":
        return {
            "kind": TodoKind.contact_order,
            "id": data["order_id"],
            "subject": data.get("subject") or f"Contact order {data.get('order_number', '')}".strip(),
            "due": _due(data.get("planned_date")),
            "status": data.get("status", "open"),
            "links": CalendarLinks(contact_order_id=data["order_id"], order_number=data.get("order_number")),
        }
    return None


def todo_item(record: Record, now: datetime) -> TodoItem | None:
    """The to-do item an index entry stands for (None for a kind this list does not know)."""
    try:
        fields = _item(record)
        if fields is None:
            return None
        due = fields["due"]
        return TodoItem(**fields, overdue=due is not None and due < now)
    except (ValidationError, KeyError, ValueError):
        logger.warning("unreadable to-do item", extra={"pk": record.pk, "kind": record.kind})
        return None


def todo(caller: Caller, user_id: str | None, cursor: str | None, limit: int) -> Page[TodoItem]:
    """A page of the user's to-do list, the earliest due first."""
    user = whose(caller, user_id, "to-do list")
    key = tenant_key(caller.tenant, "TODO", user)
    now = clock.now()

    def fetch(after: str | None, n: int) -> list[Record]:
        condition = Record.gsi5sk > after if after else None
        return list(Record.by_todo.query(key, range_key_condition=condition, limit=n))

    return index_page(
        caller, f"todo:{user}", cursor, limit, fetch, lambda r: str(r.gsi5sk), lambda r: todo_item(r, now), TodoItem
    )
