"""The audience contract: how a service asks the directory for the contacts of a target group.

A requester (email, sms, activities) publishes `audience.requested`; the directory resolves the
group at that moment and answers with `audience.page` events of at most 500 members each. The
pages are the snapshot the requester sends to.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.events import catalogue

PAGE_SIZE = 500


class AudienceRequested(BaseModel):
    request_id: str = Field(description="The requester's id for this resolution (e.g. its campaign send id)")
    requester: Literal["email", "sms", "activities", "directory"]
    target_group_id: str
    fields: list[str] = Field(default_factory=list, description="Contact fields each member should carry")


class AudienceMember(BaseModel):
    contact_id: str
    account_id: str | None = None
    owner_id: str | None = None
    owner_type: Literal["user", "group"] | None = Field(None, description="Whether the owner is a user or a group")
    account_manager_id: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)


class AudiencePage(BaseModel):
    request_id: str
    requester: str
    target_group_id: str
    page: int = Field(ge=1)
    last: bool
    total_members: int | None = Field(None, description="Set on the last page")
    members: list[AudienceMember] = Field(max_length=PAGE_SIZE)
    error: str | None = Field(None, description="Why nothing was resolved (e.g. the group does not exist)")


catalogue.register(
    "audience.requested",
    AudienceRequested,
    producer="email, sms, activities",
    description="Asks the directory to resolve a target group now.",
)
catalogue.register(
    "audience.page",
    AudiencePage,
    producer="directory",
    description="One page (at most 500) of the members of a resolved target group.",
)
