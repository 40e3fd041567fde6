"""What erasure leaves of an event or task linked to an erased contact."""

from datetime import UTC, datetime

from services.activities.domain.models import Activity
from services.activities.erasure import scrubbed

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_an_erased_activity_keeps_the_business_and_loses_the_person() -> None:
    before = Activity.model_validate(
        {
            "id": "A1",
            "kind": "event",
            "type": "meeting",
            "subject": "Renewal",
            "description": "Prefers calls after 4 pm",
            "location": "Main St 1",
            "start": AT,
            "end": AT,
            "account_id": "ACC1",
            "contact_id": "C1",
            "owner_id": "u1",
            "memos": [{"id": "M1", "text": "Her daughter is ill", "author_id": "u1", "created_at": AT}],
            "sequence": 3,
            "created_by": "u1",
            "created_at": AT,
            "updated_at": AT,
        }
    )
    after = scrubbed(before)
    assert (after.contact_id, after.description, after.location, after.memos) == (None, None, None, [])
    assert (after.subject, after.account_id, after.owner_id, after.start) == ("Renewal", "ACC1", "u1", AT)
    assert after.sequence == 4 and after.updated_at > AT  # calendars replace the entry
    assert before.contact_id == "C1"  # the record read is not changed in place
