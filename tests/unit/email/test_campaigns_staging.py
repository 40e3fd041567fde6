"""What one member of a campaign becomes (no I/O: tracking off)."""

from __future__ import annotations

from typing import Any

import pytest

from services.email.campaign_files import planned
from services.email.domain.campaign_files import MAX_CAMPAIGN_ATTACHMENTS, CampaignAttachmentCreate
from services.email.domain.campaign_recipients import Member, member_context, message_data
from services.email.domain.templates import TemplateParts
from shared.errors import ValidationFailed
from shared.tags import tag_context

CAMPAIGN: dict[str, Any] = {"list_type_id": "marketing", "tracking": {"opens": False, "clicks": False}}
TEMPLATE = TemplateParts(subject="Hi {{ contact.first_name }}", html="<p>{{ account.name }}</p>", text="x")
NOTHING: tuple[set[str], set[str]] = (set(), set())


def _data(context: dict[str, Any], blocked: tuple[set[str], set[str]] = NOTHING) -> dict[str, Any]:
    member = Member(contact_id="c1", fields={})
    return message_data("k1", CAMPAIGN, "m1", member, context, TEMPLATE, blocked)


def _known(**contact: Any) -> dict[str, Any]:
    return tag_context({"id": "c1", **contact}, {"name": "Acme"}, None)


def test_a_member_with_an_address_is_queued_with_the_rendered_mail() -> None:
    data = _data(_known(first_name="Ann", last_name="Lee", email=" Ann@Example.com"))
    assert (data["status"], data["to"], data["to_name"]) == ("queued", "ann@example.com", "Ann Lee")
    assert (data["subject"], data["html"]) == ("Hi Ann", "<p>Acme</p>")
    assert (data["campaign_id"], data["list_type_id"], data["message_id_header"]) == ("k1", "marketing", "<m1@kontakt>")


def test_erased_addressless_suppressed_and_opted_out_members_do_not_go() -> None:
    gone = _data({"gone": "erased"})
    assert gone["status"] == "skipped" and gone["to"] == "" and "subject" not in gone
    assert _data(_known(first_name="Ann"))["status"] == "skipped"
    assert _data(_known(email="a@x.fi"), ({"a@x.fi"}, set()))["status"] == "suppressed"
    assert _data(_known(email="a@x.fi"), (set(), {"a@x.fi"}))["status"] == "opted_out"


def test_a_contact_the_projection_has_not_heard_of_uses_the_page_fields() -> None:
    member = Member(contact_id="c9", fields={"email": "new@x.fi", "first_name": "New"})
    context = member_context(member, None)
    assert context["contact"]["email"] == "new@x.fi" and context["contact"]["id"] == "c9"
    assert member_context(member, {"gone": "deleted"}) == {"gone": "deleted"}


def test_attachments_fit_in_what_is_left_of_5_mb() -> None:
    four = [{"id": "a", "size": 4 * 1024 * 1024}]
    body = CampaignAttachmentCreate(
        name="b.pdf", content_type="application/pdf", size=MAX_CAMPAIGN_ATTACHMENTS - 4 * 1024 * 1024
    )
    assert planned(four, body).size == body.size
    with pytest.raises(ValidationFailed) as caught:
        planned(four, body.model_copy(update={"size": body.size + 1}))
    assert caught.value.errors[0].field == "size"
