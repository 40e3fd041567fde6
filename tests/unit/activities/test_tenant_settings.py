"""The tenant's activity settings: a known IANA time zone, UTC by default."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.activities.domain.tenant import ActivitySettings


def test_the_zone_is_utc_unless_set_and_must_be_a_known_iana_name() -> None:
    assert ActivitySettings().time_zone == "UTC"
    helsinki = ActivitySettings.model_validate({"time_zone": "Europe/Helsinki"})
    assert datetime(2026, 1, 11, 23, 0, tzinfo=UTC).astimezone(helsinki.zone).hour == 1
    for bad in ("Nowhere/City", "", "../etc/passwd", "x" * 65):
        with pytest.raises(ValidationError) as refused:
            ActivitySettings.model_validate({"time_zone": bad})
        assert refused.value.errors()[0]["loc"] == ("time_zone",)
    with pytest.raises(ValidationError):
        ActivitySettings.model_validate({"time_zone": "UTC", "locale": "fi"})
