"""The audience contract: how a service asks the directory for the contacts of a target group.

A requester (email, sms, activities) publishes `audience.requested`; the directory resolves the
group at that moment and answers with `audience.page` events of at most 500 members and at most
64 KB each (`PAGE_BYTES`, the page as the event's `data` in JSON), so that any page is far under
EventBridge's 256 KB per entry whatever its members' fields hold. A requester counts pages by
their numbers and the `last` flag, never by their size. The pages are the snapshot the requester
sends to.
"""

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.auth import Role
from shared.events import catalogue

PAGE_SIZE = 500  # members a page holds at most
PAGE_BYTES = 64 * 1024  # the page's JSON (the event's `data`) at most: a quarter of an entry's 256 KB


class ActingUser(BaseModel):
    """The user a requester acts for: the directory resolves only contacts this user may see
    (`shared/permissions.py`). A request without one is the requester's own work (all members)."""

    user_id: str
    role: Role
    groups: list[str] = Field(default_factory=list)


class AudienceRequested(BaseModel):
    request_id: str = Field(description="The requester's id for this resolution (e.g. its campaign send id)")
    requester: Literal["email", "sms", "activities", "directory"]
    target_group_id: str
    fields: list[str] = Field(default_factory=list, description="Contact fields each member should carry")
    acting: ActingUser | None = Field(None, description="The user the requester acts for; members are what they see")


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
    description="One page (at most 500 members, at most 64 KB) of the members of a resolved target group.",
)


def json_bytes(model: BaseModel) -> int:
    """The model's size in the event's JSON (UTF-8), as the envelope serialises it."""
    return len(model.model_dump_json().encode())


def page_overhead(request_id: str, requester: str, target_group_id: str) -> int:
    """The bytes of a page besides its members, with the largest page number and total it can carry."""
    empty = AudiencePage(
        request_id=request_id,
        requester=requester,
        target_group_id=target_group_id,
        page=10**9,
        last=False,
        total_members=10**9,
        members=[],
    )
    return json_bytes(empty)


def audience_with(audience: Mapping[str, Any] | None, page: int, last: bool, total: int | None) -> dict[str, Any]:
    """A requester's progress through its pages once this page is in: `pages` seen, `last_page`,
    `total` and `complete` (every page from 1 to the last seen, in whatever order they came); a
    page seen twice changes nothing."""
    current = dict(audience or {})
    pages = sorted({*current.get("pages", []), page})
    last_page = page if last else current.get("last_page")
    if last and total is not None:
        current["total"] = total
    complete = last_page is not None and pages == list(range(1, last_page + 1))
    return {**current, "pages": pages, "last_page": last_page, "complete": complete}
