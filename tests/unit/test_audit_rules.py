"""The audit trail's pure rules: which entity an event is about, masking, sort keys."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.audit.domain.trail import TENANT_ENTITY, contact_of, entity_of, masked, record_of, sort_time
from shared.events import MASKED, Actor, Change, Envelope

pytestmark = pytest.mark.disable_socket


def _envelope(event_type: str, data: dict[str, object]) -> Envelope:
    return Envelope(
        id="e1",
        type=event_type,
        tenant_id="t1",
        occurred_at=datetime(2026, 12, 6, 2, 0, tzinfo=timezone(timedelta(hours=2))),
        actor=Actor(type="key", id="key-1"),
        correlation_id="r1",
        data=data,
        changes=[Change(field="email", old="a@b.fi", new="c@d.fi"), Change(field="active", old=True, new=None)],
    )


@pytest.mark.parametrize(
    ("event_type", "data", "entity"),
    [
        ("contact.updated", {"id": "c1", "record": {}}, ("contact", "c1")),
        ("email.sent", {"message_id": "m1", "contact_id": "c1"}, ("email", "m1")),
        ("sms.opted_out", {"number": "+358", "contact_id": "c2"}, ("sms", "c2")),
        ("tenant.access_changed", {"open_modules": []}, ("tenant", TENANT_ENTITY)),
    ],
)
def test_the_entity_of_an_event(event_type: str, data: dict[str, object], entity: tuple[str, str]) -> None:
    assert entity_of(_envelope(event_type, data)) == entity


def test_a_record_keeps_who_when_what_and_masks_only_values() -> None:
    envelope = _envelope("activity.updated", {"id": "a1", "contact_id": "c1"})
    record = record_of(envelope)
    assert record.occurred_at == datetime(2026, 12, 6, 0, 0, tzinfo=UTC)
    assert sort_time(record.occurred_at) == "2026-12-06T00:00:00.000000Z"
    assert contact_of(record, envelope.data) == "c1"
    ticket = record_of(_envelope("ticket.updated", {"id": "t1", "ticket": {"requester_contact_id": "c9"}}))
    assert contact_of(ticket, {"id": "t1", "ticket": {"requester_contact_id": "c9"}}) == "c9"
    hidden = masked(record)
    kept = {"changes", "masked"}
    assert hidden.masked and hidden.model_dump(exclude=kept) == record.model_dump(exclude=kept)
    assert [(c.field, c.old, c.new) for c in hidden.changes] == [("email", MASKED, MASKED), ("active", MASKED, None)]
