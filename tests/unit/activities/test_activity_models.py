"""Events have start and end, tasks a due date [002 Aktiviteettityypit]."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.activities.domain.models import ActivityCreate, ActivityKind, ActivityTypeList, check_times
from shared.errors import ValidationFailed

NINE = datetime(2026, 12, 1, 9, tzinfo=UTC)
TEN = datetime(2026, 12, 1, 10, tzinfo=UTC)


def failing(kind: ActivityKind, **data: object) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        check_times(kind, data)
    return [e.field for e in caught.value.errors]


def test_an_event_needs_start_and_end_in_order() -> None:
    check_times(ActivityKind.event, {"start": NINE, "end": TEN})
    check_times(ActivityKind.event, {"start": NINE, "end": NINE})
    assert failing(ActivityKind.event, start=NINE) == ["end"]
    assert failing(ActivityKind.event) == ["start", "end"]
    assert failing(ActivityKind.event, start=TEN, end=NINE) == ["end"]


def test_a_task_has_a_due_date_and_no_calendar_time() -> None:
    check_times(ActivityKind.task, {"due": TEN})
    assert failing(ActivityKind.task) == ["due"]
    assert failing(ActivityKind.task, due=TEN, start=NINE) == ["start"]


def test_times_must_carry_a_zone() -> None:
    with pytest.raises(ValidationError):
        ActivityCreate.model_validate({"type": "call", "subject": "x", "start": "2026-12-01T09:00:00"})


def test_activity_type_codes_are_unique() -> None:
    item = {"code": "call", "label": "Call", "kind": "event"}
    with pytest.raises(ValidationError):
        ActivityTypeList.model_validate({"items": [item, item]})
