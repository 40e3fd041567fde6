"""Automatic emails: the pure rules (checks, ids, once scopes, firing windows, campaign bodies)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.email.domain.automations import (
    Automation,
    AutomationCreate,
    AutomationPatch,
    campaign_body,
    campaign_id,
    check,
    fires,
    once_scope,
    origin,
    schedule_name,
)

NOW = datetime(2030, 3, 10, 12, 0, tzinfo=UTC)
BODY = {
    "name": "Welcome series",
    "template_id": "T1",
    "list_type_id": "marketing",
    "target_group_id": "G1",
    "schedule": {"mode": "rate", "expression": "rate(1 day)"},
}


def automation(**overrides: Any) -> Automation:
    values = {
        **BODY,
        "id": "A1",
        "schedule_name": "automation-A1",
        "created_by": "admin",
        "created_at": NOW,
        "updated_at": NOW,
        **overrides,
    }
    return Automation.model_validate(values)


def test_defaults_and_field_types() -> None:
    body = AutomationCreate.model_validate(BODY)
    assert (body.repeats, body.active, body.tracking.opens, body.tracking.clicks) == (False, True, True, True)
    for bad, loc in [
        ({"schedule": {"mode": "hourly"}}, ("schedule", "mode")),
        (
            {"schedule": {"mode": "rate", "expression": "rate(1 day)", "time_zone": "Nowhere/City"}},
            ("schedule", "time_zone"),
        ),
        ({"name": ""}, ("name",)),
        ({"template_id": "bad id!"}, ("template_id",)),
        ({"colour": "red"}, ("colour",)),
    ]:
        with pytest.raises(ValidationError) as error:
            AutomationCreate.model_validate({**BODY, **bad})
        assert error.value.errors()[0]["loc"][: len(loc)] == loc
    with pytest.raises(ValidationError):
        AutomationPatch.model_validate({"active": None})


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"mode": "rate", "expression": "rate(1 day)"}, []),
        ({"mode": "cron", "expression": "cron(0 9 ? * MON *)", "time_zone": "Europe/Helsinki"}, []),
        ({"mode": "rate"}, ["schedule.expression"]),
        ({"mode": "cron", "expression": "cron(0 9 * * * *)"}, ["schedule.expression"]),
        ({"mode": "weekly"}, ["schedule.start"]),
        ({"mode": "daily", "start": "2030-04-01T08:00:00Z", "end": "2030-03-31T08:00:00Z"}, ["schedule.end"]),
    ],
)
def test_schedule_checks_name_the_field(schedule: dict[str, Any], expected: list[str]) -> None:
    body = AutomationCreate.model_validate({**BODY, "schedule": schedule})
    assert [e.field for e in check(body.schedule, NOW)] == sorted(expected)


def test_a_firing_has_one_campaign_whatever_the_spelling_of_its_time() -> None:
    first = campaign_id("A1", "2030-03-11T12:00:00Z")
    assert first == campaign_id("A1", "2030-03-11T12:00:00+00:00") == campaign_id("A1", "2030-03-11T14:00:00+02:00")
    assert first != campaign_id("A1", "2030-03-12T12:00:00Z") != campaign_id("A2", "2030-03-11T12:00:00Z")
    assert origin("A1", "2030-03-11T14:00:00+02:00") == {
        "automation_id": "A1",
        "scheduled_time": "2030-03-11T12:00:00Z",
    }
    assert schedule_name("A1") == "automation-A1"


def test_once_ever_or_once_per_firing() -> None:
    run = campaign_id("A1", "2030-03-11T12:00:00Z")
    assert once_scope(automation(), run) == "A1"  # a contact's message id is the same at every firing
    assert once_scope(automation(repeats=True), run) == run


def test_inactive_and_out_of_window_firings_send_nothing() -> None:
    windowed = {"mode": "daily", "start": "2030-04-01T08:00:00Z", "end": "2030-04-30T08:00:00Z"}
    assert fires(automation(), NOW)
    assert not fires(automation(active=False), NOW)
    assert fires(automation(schedule=windowed), datetime(2030, 4, 2, 8, tzinfo=UTC))
    assert not fires(automation(schedule=windowed), datetime(2030, 5, 1, 8, tzinfo=UTC))
    assert not fires(automation(schedule=windowed), datetime(2030, 3, 31, 8, tzinfo=UTC))


def test_the_campaign_of_a_firing() -> None:
    body = campaign_body(
        automation(schedule={"mode": "rate", "expression": "rate(1 day)", "time_zone": "Europe/Helsinki"}),
        datetime(2030, 3, 11, 12, 0, tzinfo=UTC),
    )
    assert body == {
        "name": "Welcome series 2030-03-11 14:00",
        "template_id": "T1",
        "list_type_id": "marketing",
        "target_group_id": "G1",
        "tracking": {"opens": True, "clicks": True},
    }
