"""Marketing activities [004]: input rules, ids of sent messages, counter cells and statistics."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.activities.domain.marketing import (
    COUNTER_SHARDS,
    GroupBy,
    MarketingActivity,
    MarketingActivityCreate,
    MarketingSource,
    MarketingType,
    aggregate,
    cell_of,
    check_range,
    contact_count_key,
    count_keys,
    counted_day,
    day_bounds,
    day_of,
    message_activity_id,
    time_bounds,
)
from shared.errors import ValidationFailed

SENT = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
HELSINKI = ZoneInfo("Europe/Helsinki")


def activity(**changes: object) -> MarketingActivity:
    data: dict[str, object] = {
        "id": "01J0000000000000000000000A",
        "contact_id": "C1",
        "type": "outgoing_call",
        "at": SENT,
        "user_id": "u1",
        "created_by": "u1",
        "created_at": SENT,
    }
    return MarketingActivity.model_validate({**data, **changes})


def test_the_seven_types_of_the_seed_and_nothing_else() -> None:
    assert {t.value for t in MarketingType} == {
        "incoming_call",
        "outgoing_call",
        "visit",
        "letter_in",
        "letter_out",
        "email",
        "sms",
    }
    with pytest.raises(ValidationError) as error:
        MarketingActivityCreate.model_validate({"contact_id": "C1", "type": "fax"})
    assert error.value.errors()[0]["loc"] == ("type",)


def test_a_marketing_activity_needs_a_contact_and_takes_no_unknown_fields() -> None:
    with pytest.raises(ValidationError) as missing:
        MarketingActivityCreate.model_validate({"type": "visit"})
    assert missing.value.errors()[0]["loc"] == ("contact_id",)
    with pytest.raises(ValidationError):
        MarketingActivityCreate.model_validate({"contact_id": "C1", "type": "visit", "source": "email"})
    with pytest.raises(ValidationError):  # a time without a zone is ambiguous
        MarketingActivityCreate.model_validate({"contact_id": "C1", "type": "visit", "at": "2026-01-01T10:00:00"})
    blank = MarketingActivityCreate.model_validate({"contact_id": "C1", "type": "visit", "note": "  ", "subject": ""})
    assert blank.note is None and blank.subject is None


def test_one_message_always_makes_the_same_id_and_ids_sort_by_send_time() -> None:
    first = message_activity_id(MarketingSource.email, "M1", SENT)
    assert first == message_activity_id(MarketingSource.email, "M1", SENT)
    assert first != message_activity_id(MarketingSource.sms, "M1", SENT)
    assert first != message_activity_id(MarketingSource.email, "M2", SENT)
    later = message_activity_id(MarketingSource.email, "M0", SENT + timedelta(milliseconds=1))
    assert first < later
    assert len(first) == 26 and first.isalnum()


def test_an_activity_adds_one_cell_to_each_family_on_its_day() -> None:
    keys = count_keys(activity(), "2026-03-04")
    assert [(k.family, k.sk) for k in keys] == [
        ("TYPE", "2026-03-04#outgoing_call"),
        ("USER", "2026-03-04#u1#outgoing_call"),
        ("CONTACT", "2026-03-04#C1#outgoing_call"),
    ]
    assert len({k.shard for k in keys}) == 1 and 0 <= int(keys[0].shard) < COUNTER_SHARDS
    assert contact_count_key(activity(), "2026-03-04").family == "CONTACT"
    no_user = count_keys(activity(user_id=None), "2026-03-04")[1]
    assert no_user.sk == "2026-03-04#-#outgoing_call"
    assert cell_of("USER", no_user.sk) == (None, "outgoing_call")


def test_shards_spread_a_campaign_over_several_counters() -> None:
    shards = {
        count_keys(activity(id=message_activity_id(MarketingSource.email, str(n), SENT)), "2026-03-04")[0].shard
        for n in range(50)
    }
    assert len(shards) == COUNTER_SHARDS


def test_cells_read_back_their_key_and_type() -> None:
    assert cell_of("TYPE", "2026-03-04#visit") == ("visit", "visit")
    assert cell_of("CONTACT", "2026-03-04#C-1_x#letter_in") == ("C-1_x", "letter_in")
    assert cell_of("USER", "2026-03-04#service:email#email") == ("service:email", "email")


def test_the_day_of_an_activity_is_its_local_day_in_the_tenants_zone() -> None:
    late = datetime(2026, 3, 31, 20, 30, tzinfo=UTC)  # 23:30 in Helsinki (UTC+3 from March 29th)
    assert day_of(late, HELSINKI) == "2026-03-31"
    assert day_of(late + timedelta(hours=1), HELSINKI) == "2026-04-01"
    assert day_of(late + timedelta(hours=1), UTC) == "2026-03-31"
    assert day_of(datetime(2026, 3, 4, 23, 30, tzinfo=UTC), UTC) == "2026-03-04"


def test_an_activity_is_taken_from_the_day_it_was_counted_on() -> None:
    counted = activity(at=datetime(2026, 3, 4, 23, 30, tzinfo=UTC))
    assert counted_day("2026-03-05", counted) == "2026-03-05"  # counted in Helsinki, whatever the zone is now
    assert counted_day(None, counted) == "2026-03-04"  # counted before days were local: its UTC day


def test_day_bounds_take_in_whole_days() -> None:
    low, high = day_bounds(date(2026, 3, 1), date(2026, 3, 4))
    for inside in ("2026-03-01#visit", "2026-03-04#C1#sms", "2026-03-04#u1#visit"):
        assert low <= inside <= high
    for outside in ("2026-02-28#visit", "2026-03-05#visit"):
        assert not low <= outside <= high


def test_time_bounds_take_in_the_utc_times_of_whole_local_days() -> None:
    low, high = time_bounds(date(2026, 3, 1), date(2026, 3, 31), HELSINKI)
    assert (low, high) == ("2026-02-28T22:00:00.000Z", "2026-03-31T21:00:00.000Z")
    for inside in ("2026-02-28T22:00:00.000Z#01J", "2026-03-31T20:30:00.000Z#01J"):
        assert low <= inside <= high
    for outside in ("2026-02-28T21:59:59.999Z#01J", "2026-03-31T21:00:00.000Z#01J"):
        assert not low <= outside <= high
    assert time_bounds(date(2026, 3, 1), date(2026, 3, 4), UTC) == (
        "2026-03-01T00:00:00.000Z",
        "2026-03-05T00:00:00.000Z",
    )


def test_a_range_ends_after_it_starts_and_spans_at_most_a_year() -> None:
    check_range(date(2026, 1, 1), date(2026, 1, 1))
    check_range(date(2024, 1, 1), date(2024, 12, 31))  # 366 days in a leap year
    with pytest.raises(ValidationFailed) as backwards:
        check_range(date(2026, 2, 1), date(2026, 1, 1))
    assert backwards.value.errors[0].field == "query.to"
    with pytest.raises(ValidationFailed):
        check_range(date(2025, 1, 1), date(2026, 1, 2))


def test_statistics_per_key_and_per_type_and_in_all() -> None:
    cells = [
        ("C1", "email", 2),
        ("C1", "visit", 1),
        ("C2", "email", 1),
        ("C1", "email", 1),  # the same cell from another shard or day
        ("C3", "sms", 0),  # all deleted again
    ]
    stats = aggregate(
        cells, start=date(2026, 1, 1), end=date(2026, 1, 31), group_by=GroupBy.contact, contact_id=None, limit=10
    )
    assert [(r.key, r.counts, r.total) for r in stats.rows] == [
        ("C1", {"email": 3, "visit": 1}, 4),
        ("C2", {"email": 1}, 1),
    ]
    assert stats.counts == {"email": 4, "visit": 1} and stats.total == 5 and stats.rows_total == 2
    top = aggregate(
        cells, start=date(2026, 1, 1), end=date(2026, 1, 31), group_by=GroupBy.contact, contact_id=None, limit=1
    )
    assert [r.key for r in top.rows] == ["C1"] and top.rows_total == 2 and top.total == 5
    dumped = stats.model_dump(mode="json", by_alias=True)
    assert dumped["from"] == "2026-01-01" and dumped["to"] == "2026-01-31"


def test_rows_of_equal_totals_sort_by_key_with_no_user_last() -> None:
    cells = [("u2", "visit", 1), (None, "email", 1), ("u1", "visit", 1)]
    stats = aggregate(
        cells, start=date(2026, 1, 1), end=date(2026, 1, 1), group_by=GroupBy.user, contact_id=None, limit=10
    )
    assert [r.key for r in stats.rows] == ["u1", "u2", None]
