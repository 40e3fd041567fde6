"""API models of activities (events and tasks) and the tenant lists that classify them.

An **event** has a start and an end and takes that time from its owner's calendar; a **task**
has a due date and takes no calendar time [002 Aktiviteettityypit]. The kind comes from the
activity type, a tenant-editable list. The responsible user (`owner_id`) is the activity's
owner: points, goals, the seller's view and the calendar are theirs.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shared.errors import FieldError, ValidationFailed
from shared.types import (
    INPUT,
    NOT_BLANK,
    OUTPUT,
    Code,
    CodeList,
    Name200,
    OptCode,
    OptId,
    Text100,
    Utc,
    UtcTime,
    duplicate,
    reject_null,
)

Subject = Name200
Memo = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000), NOT_BLANK]
OptLocation = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=200)]
Description = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=10_000)]

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024


class ActivityKind(StrEnum):
    event = "event"
    task = "task"


class ActivityStatus(StrEnum):
    open = "open"
    completed = "completed"


# ---------------------------------------------------------------------------------------------
# Tenant lists
# ---------------------------------------------------------------------------------------------


class ActivityType(BaseModel):
    """A tenant's activity type; its kind decides whether an activity is an event or a task."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    label: Text100
    kind: ActivityKind
    active: bool = True


class ActivityTypeList(BaseModel):
    model_config = INPUT

    items: Annotated[list[ActivityType], Field(min_length=1, max_length=200, description="Each code at most once")]

    @field_validator("items")
    @classmethod
    def _unique(cls, items: list[ActivityType]) -> list[ActivityType]:
        return unique_codes(items)


def unique_codes(items: list[Any]) -> list[Any]:
    seen: set[str] = set()
    for item in items:
        if item.code in seen:
            raise duplicate(f"code {item.code!r} appears twice")
        seen.add(item.code)
    return items


def default_activity_types() -> list[ActivityType]:
    return [
        ActivityType(code="call", label="Call", kind=ActivityKind.event),
        ActivityType(code="meeting", label="Meeting", kind=ActivityKind.event),
        ActivityType(code="customer_visit", label="Customer visit", kind=ActivityKind.event),
        ActivityType(code="task", label="Task", kind=ActivityKind.task),
        ActivityType(code="follow_up", label="Follow-up", kind=ActivityKind.task),
    ]


# ---------------------------------------------------------------------------------------------
# Activities
# ---------------------------------------------------------------------------------------------


class ActivityCreate(BaseModel):
    model_config = INPUT

    type: Code = Field(
        description="An active activity type of the tenant; its kind decides the times: an event needs "
        "`start` and `end` (not before `start`), a task `due` and neither of the others"
    )
    subject: Subject
    description: Description = None
    start: UtcTime | None = Field(None, description="Events: when it starts")
    end: UtcTime | None = Field(None, description="Events: when it ends, not before `start`")
    due: UtcTime | None = Field(None, description="Tasks: when it is due")
    all_day: bool = False
    location: OptLocation = None
    account_id: OptId = None
    contact_id: OptId = None
    owner_id: OptId = Field(None, description="The responsible user; the caller when left out")
    category: OptCode = Field(None, description="CRM category; sets crm_kind and crm_type from settings")
    crm_kind: OptCode = None
    crm_type: OptCode = None
    properties: CodeList = Field(default_factory=list, description="CRM properties (checkboxes)")
    status: ActivityStatus = ActivityStatus.open


class ActivityUpdate(BaseModel):
    """PATCH: only the fields sent change; null clears an optional field."""

    model_config = INPUT

    type: Code | None = None
    subject: Subject | None = None
    description: Description = None
    start: UtcTime | None = None
    end: UtcTime | None = None
    due: UtcTime | None = None
    all_day: bool | None = None
    location: OptLocation = None
    account_id: OptId = None
    contact_id: OptId = None
    owner_id: OptId = None
    category: OptCode = None
    crm_kind: OptCode = None
    crm_type: OptCode = None
    properties: CodeList | None = None
    status: ActivityStatus | None = None

    _not_null = field_validator("type", "subject", "all_day", "owner_id", "properties", "status")(reject_null)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class MemoCreate(BaseModel):
    model_config = INPUT

    text: Memo


class Memo_(BaseModel):
    model_config = OUTPUT

    id: str
    text: str
    author_id: str
    created_at: datetime


class AttachmentCreate(BaseModel):
    model_config = INPUT

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), NOT_BLANK]
    content_type: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[\w.+-]+/[\w.+-]+$")] = (
        "application/octet-stream"
    )
    size: int = Field(ge=1, le=MAX_ATTACHMENT_BYTES, description="Bytes; at most 25 MB")


class Attachment(BaseModel):
    model_config = OUTPUT

    id: str
    name: str
    content_type: str
    size: int
    status: Literal["pending", "uploaded"] = "pending"
    uploaded_by: str
    created_at: datetime


class AttachmentUpload(BaseModel):
    """Where to POST the file (an S3 presigned POST); then call `.../complete`."""

    attachment: Attachment
    url: str
    fields: dict[str, str]
    expires_in: int


class AttachmentDownload(BaseModel):
    url: str
    expires_in: int


class ActivitySummary(BaseModel):
    """An activity in a list: without its description, memos and attachments (`GET /activities/{id}`)."""

    model_config = OUTPUT

    id: str
    kind: ActivityKind
    type: str
    subject: str
    start: Utc | None = None
    end: Utc | None = None
    due: Utc | None = None
    all_day: bool = False
    location: str | None = None
    account_id: str | None = None
    contact_id: str | None = None
    owner_id: str
    category: str | None = None
    crm_kind: str | None = None
    crm_type: str | None = None
    properties: list[str] = Field(default_factory=list)
    status: ActivityStatus = ActivityStatus.open
    completed_at: Utc | None = None
    points: int = Field(0, description="Activity points the responsible user earns (tenant rules)")
    source: str = Field("manual", description="manual, call_list, mass_activity, ...")
    source_id: str | None = None
    created_by: str
    created_at: Utc
    updated_at: Utc
    version: int = 1


class Activity(ActivitySummary):
    description: str | None = None
    memos: list[Memo_] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)
    sequence: int = Field(0, description="Bumped on each change that a calendar must show (iCalendar SEQUENCE)")

    @property
    def calendar_time(self) -> datetime | None:
        """When it sits in time: an event's start, a task's due date."""
        return self.start if self.kind == ActivityKind.event else self.due


def check_times(kind: ActivityKind, data: dict[str, Any]) -> None:
    """Events need start and end (end not before start); tasks need a due date and no start/end.

    The kind is the stored activity type's, so which times are needed is the tenant's data: the
    error codes `event_times` and `task_times` say which; `before_start` an end before the start."""
    errors: list[FieldError] = []
    if kind == ActivityKind.event:
        for name in ("start", "end"):
            if data.get(name) is None:
                errors.append(FieldError(field=name, message=f"an event needs its {name} time", code="event_times"))
        if data.get("start") and data.get("end") and _as_dt(data["end"]) < _as_dt(data["start"]):
            errors.append(FieldError(field="end", message="an event cannot end before it starts", code="before_start"))
    else:
        if data.get("due") is None:
            errors.append(FieldError(field="due", message="a task needs its due date", code="task_times"))
        for name in ("start", "end"):
            if data.get(name) is not None:
                message = "a task has a due date, not a start or end"
                errors.append(FieldError(field=name, message=message, code="task_times"))
    if errors:
        raise ValidationFailed("The activity's times are not valid.", errors)


def _as_dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
