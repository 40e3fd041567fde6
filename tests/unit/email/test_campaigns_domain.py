"""Pure campaign rules: audience progress, the status a client sees, the 5 MB attachment budget."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.email.domain.campaign_files import MAX_CAMPAIGN_ATTACHMENTS, CampaignAttachmentCreate
from services.email.domain.campaigns import (
    CampaignCreate,
    CampaignStatus,
    ScheduleRequest,
    shown_status,
)
from shared.contracts.audience import audience_with


def test_audience_is_complete_once_every_page_up_to_the_last_is_in() -> None:
    first = audience_with(None, 1, False, None)
    assert first == {"pages": [1], "last_page": None, "complete": False}
    last_first = audience_with({}, 3, True, 1200)
    assert last_first["complete"] is False and last_first["total"] == 1200
    two = audience_with(last_first, 1, False, None)
    assert two["complete"] is False
    done = audience_with(two, 2, False, None)
    assert done == {"pages": [1, 2, 3], "last_page": 3, "total": 1200, "complete": True}
    assert audience_with(done, 2, False, None) == done  # a page seen twice changes nothing


def test_sending_shows_sent_only_when_complete_and_nothing_queued() -> None:
    complete = {"complete": True}
    assert shown_status("sending", complete, {"queued": 0}) == CampaignStatus.sent
    assert shown_status("sending", complete, {"queued": 2}) == CampaignStatus.sending
    assert shown_status("sending", {"complete": False}, {"queued": 0}) == CampaignStatus.sending
    assert shown_status("paused", complete, {"queued": 0}) == CampaignStatus.paused
    assert shown_status("cancelled", complete, {}) == CampaignStatus.cancelled


def test_an_attachment_over_5_mb_is_refused_naming_its_size() -> None:
    CampaignAttachmentCreate(name="a.pdf", content_type="application/pdf", size=MAX_CAMPAIGN_ATTACHMENTS)
    with pytest.raises(ValidationError) as caught:
        CampaignAttachmentCreate(name="a.pdf", content_type="application/pdf", size=MAX_CAMPAIGN_ATTACHMENTS + 1)
    assert caught.value.errors()[0]["loc"] == ("size",)


def test_a_campaign_needs_a_template_and_a_list_type() -> None:
    with pytest.raises(ValidationError) as caught:
        CampaignCreate.model_validate({"name": "x"})
    assert {e["loc"][0] for e in caught.value.errors()} == {"template_id", "list_type_id"}
    made = CampaignCreate.model_validate({"name": "x", "template_id": "t1", "list_type_id": "marketing"})
    assert made.tracking.opens and made.tracking.clicks and made.target_group_id is None


def test_a_send_time_needs_a_time_zone() -> None:
    with pytest.raises(ValidationError):
        ScheduleRequest.model_validate({"send_at": "2030-01-01T09:00:00"})
    assert ScheduleRequest.model_validate({"send_at": "2030-01-01T09:00:00+02:00"}).send_at.hour == 9
