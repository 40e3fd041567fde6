"""A campaign's recipients (pure, no I/O): the contacts added by hand, and what one member of the
campaign becomes, a queued message with its rendered mail or one that does not go and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from services.email.domain.messages import message_id_header, normalise
from services.email.domain.templates import Rendered, TemplateParts
from shared.errors import DomainError
from shared.tags import tag_context
from shared.types import INPUT, Id

MAX_HAND_ADDED = 100  # contacts per POST /campaigns/{id}/contacts


class ContactsAdd(BaseModel):
    model_config = INPUT

    contact_ids: list[Id] = Field(min_length=1, max_length=MAX_HAND_ADDED)


class AddedContact(BaseModel):
    contact_id: str
    message_id: str
    status: str


class ContactsAdded(BaseModel):
    items: list[AddedContact]


@dataclass(frozen=True)
class Member:
    """One recipient to stage: the contact and what the audience page carried of it."""

    contact_id: str
    fields: dict[str, Any]


def member_context(member: Member, known: dict[str, Any] | None) -> dict[str, Any]:
    """The member's tag context from the projection; what the audience page carried if it has not heard of it."""
    if known is not None:
        return known
    return tag_context({"id": member.contact_id, **member.fields}, None, None)


def message_data(
    campaign_id: str,
    campaign: dict[str, Any],
    message_id: str,
    member: Member,
    context: dict[str, Any],
    template: TemplateParts,
    blocked: tuple[set[str], set[str]],
) -> dict[str, Any]:
    """The message of one member: queued with its rendered mail, or why it does not go."""
    suppressed, opted_out = blocked
    contact = context.get("contact") or {}
    address = contact.get("email")
    data: dict[str, Any] = {
        "to": normalise(address) if address else "",
        "to_name": " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p) or None,
        "contact_id": member.contact_id,
        "account_id": contact.get("account_id"),
        "list_type_id": campaign["list_type_id"],
        "campaign_id": campaign_id,
        "requester": "campaign",
        "request_id": campaign_id,
        "sent_by": campaign.get("sent_by"),
        "message_id_header": message_id_header(message_id),
        "tracking": campaign.get("tracking"),
        "attachments": campaign.get("mail_attachments") or [],
        "reply_to": [],
        "references": [],
    }
    if context.get("gone"):
        return {**data, "status": "skipped", "error": f"The contact was {context['gone']}."}
    if not address:
        return {**data, "status": "skipped", "error": "The contact has no email address."}
    if data["to"] in suppressed:
        return {**data, "status": "suppressed", "error": "The address is suppressed (hard bounce or complaint)."}
    if data["to"] in opted_out:
        return {**data, "status": "opted_out", "error": "The recipient opted out of the list type."}
    from services.email.domain.rendering import render  # Jinja2: loaded by the first mail rendered

    try:
        rendered: Rendered = render(template, context)
    except DomainError as exc:
        return {**data, "status": "failed", "error": exc.detail}
    return {**data, "status": "queued", "subject": rendered.subject, "html": rendered.html, "text": rendered.text}
