"""How long a tenant's webhook delivery log is kept: the delivery side asks `setup.retention`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest

from services.webhooks import setup
from services.webhooks.domain.setup import WebhookSettingsUpdate
from services.webhooks.service import Caller


class _Caller:
    def __init__(self, stored: dict[str, Any] | None) -> None:
        self.stored = stored

    def setting(self, name: str) -> dict[str, Any]:
        assert name == setup.SETTING
        return self.stored if self.stored is not None else setup.WebhookSettings().model_dump(mode="json")


def test_the_default_is_thirty_days_and_a_tenants_own_value_counts() -> None:
    assert setup.retention(cast(Caller, _Caller(None))) == timedelta(days=30)
    assert setup.retention(cast(Caller, _Caller({"allow_http": False, "retention_days": 7}))) == timedelta(days=7)


def test_a_tenant_id_is_read_as_the_service_reads_it_without_opening_the_tenant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Opening the tenant would read its settings marker too: one GetItem more per consumer batch."""
    opened: list[tuple[str, bool]] = []

    def service_caller(tenant: str, open_tenant: bool = True) -> _Caller:
        opened.append((tenant, open_tenant))
        return _Caller({"retention_days": 90})

    monkeypatch.setattr(setup, "service_caller", service_caller)
    assert setup.retention("t1") == timedelta(days=90) and opened == [("t1", False)]


@pytest.mark.parametrize("days", [0, 91, -1])
def test_retention_stays_within_one_to_ninety_days(days: int) -> None:
    with pytest.raises(ValueError, match="retention_days"):
        WebhookSettingsUpdate.model_validate({"retention_days": days})
