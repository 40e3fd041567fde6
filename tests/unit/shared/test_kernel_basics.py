"""ids, clock, money and settings."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from shared.clock import iso, now
from shared.ids import derived_id, new_id
from shared.money import Money, round_money
from shared.settings import FunctionSettings, TableSettings, load

pytestmark = pytest.mark.disable_socket


def test_new_ids_are_sortable_ulids() -> None:
    first = new_id()
    second = new_id()
    assert len(first) == 26
    assert first != second
    assert first[:10] <= second[:10]  # the time part


def test_derived_id_is_stable() -> None:
    assert derived_id("a", "b") == derived_id("a", "b")
    assert derived_id("a", "b") != derived_id("b", "a")
    assert derived_id("a:b") != derived_id("a", "c")


def test_now_is_aware_utc() -> None:
    assert now().tzinfo is UTC


def test_iso_is_utc_with_milliseconds() -> None:
    helsinki = timezone(timedelta(hours=2))
    assert iso(datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=helsinki)) == "2026-01-01T10:00:00.123Z"


@pytest.mark.parametrize(
    ("value", "rounded"),
    [("1.005", "1.01"), ("1.004", "1.00"), ("-1.005", "-1.01"), ("2.5", "2.50"), ("0", "0.00")],
)
def test_round_money_half_up(value: str, rounded: str) -> None:
    assert round_money(Decimal(value)) == Decimal(rounded)
    assert str(round_money(Decimal(value))) == rounded


def test_money_type() -> None:
    class Price(BaseModel):
        amount: Money

    assert Price(amount=Decimal("12.30")).amount == Decimal("12.30")
    with pytest.raises(ValidationError):
        Price(amount=Decimal("1.001"))
    with pytest.raises(ValidationError):
        Price(amount=Decimal("1" * 13 + ".00"))


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "directory-dev")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "directory")
    monkeypatch.setenv("EVENT_BUS_NAME", "bus-1")
    settings = TableSettings()
    assert settings.table_name == "directory-dev"
    assert (settings.service_name, settings.event_bus_name) == ("directory", "bus-1")
    with pytest.raises(ValidationError):
        settings.stage = "prod"  # type: ignore[misc]


def test_table_settings_need_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLE_NAME", raising=False)
    with pytest.raises(ValidationError):
        TableSettings()  # type: ignore[call-arg]


def test_load_reads_once() -> None:
    class OnceSettings(FunctionSettings):
        pass

    assert load(OnceSettings) is load(OnceSettings)
