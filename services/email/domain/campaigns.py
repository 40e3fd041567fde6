"""Campaigns (pure, no I/O): the models, the status rules and how far the audience has arrived
(a campaign's recipients: campaign_recipients.py; its attachments: campaign_files.py).

A campaign mails one template to the members of a target group, bound to one list type (the
recipients' opt-outs of that list type hold). Its stored status moves draft -> scheduled ->
sending, with paused and cancelled on the side and failed when its audience cannot be resolved;
"sent" is derived: the audience is complete (every page up to the last one seen) and no recipient
is still queued.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator

from services.email.domain.campaign_files import CampaignAttachment
from shared.schedules import RecordSchedule
from shared.types import INPUT, OUTPUT, Id, Name200, reject_null

AUDIENCE_FIELDS = ["email", "first_name", "last_name", "account_id"]
REQUESTER = "email"  # the audience requests of campaigns (and their pages) carry it
SEND_JOB = "campaign.send"  # what a scheduled campaign's one-time schedule puts on the jobs queue
SCHEDULE = RecordSchedule(prefix="campaign", job=SEND_JOB, id_field="campaign_id", label="Campaign")


class CampaignStatus(StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    sending = "sending"
    sent = "sent"
    paused = "paused"
    cancelled = "cancelled"
    failed = "failed"


# Which stored statuses each command starts from.
SENDABLE = frozenset({CampaignStatus.draft, CampaignStatus.scheduled})
SCHEDULABLE = frozenset({CampaignStatus.draft, CampaignStatus.scheduled})
PAUSABLE = frozenset({CampaignStatus.sending})
RESUMABLE = frozenset({CampaignStatus.paused})
CANCELLABLE = frozenset({CampaignStatus.draft, CampaignStatus.scheduled, CampaignStatus.sending, CampaignStatus.paused})
EDITABLE = frozenset({CampaignStatus.draft})


class CampaignTracking(BaseModel):
    model_config = INPUT

    opens: bool = True
    clicks: bool = True


class CampaignCreate(BaseModel):
    model_config = INPUT

    name: Name200
    template_id: Id
    list_type_id: Id = Field(description="The opt-out list the campaign's mails belong to")
    target_group_id: Id | None = Field(None, description="Whose contacts the campaign mails when sent")
    tracking: CampaignTracking = Field(default_factory=CampaignTracking)
    automatic_template_id: Id | None = Field(
        None, description="The template mailed to each contact added to the campaign by hand"
    )


class CampaignUpdate(BaseModel):
    model_config = INPUT

    name: Name200 | None = None
    template_id: Id | None = None
    list_type_id: Id | None = None
    target_group_id: Id | None = None
    tracking: CampaignTracking | None = None
    automatic_template_id: Id | None = None

    # a campaign always has these: left out they stay, null is refused (so the schema has no null)
    _not_null = field_validator("name", "template_id", "list_type_id", "tracking")(reject_null)


class ScheduleRequest(BaseModel):
    model_config = INPUT

    send_at: datetime = Field(description="When to send (with a time zone), in the future")

    @field_validator("send_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("Give a time zone (e.g. 2030-01-01T09:00:00+02:00).")
        return value


class Audience(BaseModel):
    """How far the campaign's audience has arrived."""

    model_config = OUTPUT

    pages: list[int] = Field(default_factory=list)
    last_page: int | None = None
    total: int | None = None
    complete: bool = False


class Campaign(BaseModel):
    model_config = OUTPUT

    id: str
    name: str
    template_id: str
    list_type_id: str
    target_group_id: str | None = None
    tracking: CampaignTracking = Field(default_factory=CampaignTracking)
    attachments: list[CampaignAttachment] = Field(default_factory=list)
    automatic_template_id: str | None = None
    once_scope: str
    status: CampaignStatus
    error: str | None = None
    send_at: datetime | None = None
    started_at: datetime | None = None
    audience: Audience = Field(default_factory=Audience)
    origin: dict[str, Any] | None = None
    stats: dict[str, int] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    sent_by: str | None = Field(None, description="The user whose send it is: who sent it, or who scheduled it")
    version: int | None = None

    @field_validator("sent_by", mode="before")
    @classmethod
    def _user_id(cls, value: Any) -> Any:
        """A campaign scheduled before `sender` held its scheduler's ActingUser under this name."""
        return value.get("user_id") if isinstance(value, dict) else value


# ----------------------------------------------------------------------------- rules


def shown_status(stored: str, audience: Mapping[str, Any] | None, counts: Mapping[str, int]) -> CampaignStatus:
    """The status a client sees: "sending" becomes "sent" once every recipient is staged and none is queued."""
    status = CampaignStatus(stored)
    if status == CampaignStatus.sending and (audience or {}).get("complete") and counts.get("queued", 0) <= 0:
        return CampaignStatus.sent
    return status
