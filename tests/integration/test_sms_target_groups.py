"""The sms consumer's target groups projection (the kernel's `shared/target_groups.py`): each
`target_group.*` event is kept by its time, so a late or redelivered one changes nothing and a
deleted group stays deleted; a send's group check (`require`) waits a short grace for a group it
has not heard of yet, then refuses it naming the field."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.template import Stack
from services.sms.handlers import consumer
from services.sms.target_groups import GROUPS
from shared.errors import ValidationFailed
from shared.ids import new_id
from tests.integration.conftest import bus_delivery, new_tenant, sqs_event

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def event(tenant: str, event_type: str, data: dict[str, Any], minutes: int) -> dict[str, Any]:
    """A directory envelope of `event_type` that happened `minutes` after T0."""
    return {
        "id": new_id(),
        "type": event_type,
        "version": 1,
        "tenant_id": tenant,
        "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "actor": {"type": "user", "id": "u1"},
        "correlation_id": new_id(),
        "data": data,
    }


def group(group_id: str, name: str) -> dict[str, Any]:
    return {"id": group_id, "name": name, "conditions": [{"op": "equals", "field": "region", "value": "north"}]}


def consume(lambda_env: Any, stack: Stack, *envelopes: dict[str, Any]) -> None:
    context = lambda_env("SmsConsumerFunction")
    queue = stack.queues["SmsEventsQueue"].arn
    for envelope in envelopes:  # one batch each, in this order
        assert consumer.handler(sqs_event([bus_delivery(envelope)], queue), context) == {"batchItemFailures": []}


def refused(tenant: str, group_id: str) -> list[dict[str, Any]]:
    with pytest.raises(ValidationFailed) as raised:
        GROUPS.require_in(tenant, group_id, grace=0)
    return [e.model_dump() for e in raised.value.errors]


def test_a_deleted_group_stays_deleted_whatever_update_comes_after(lambda_env: Any, stack: Stack) -> None:
    tenant, group_id = new_tenant(), new_id()
    created = event(tenant, "target_group.created", group(group_id, "North"), 0)
    updated = event(tenant, "target_group.updated", group(group_id, "Pohjoinen"), 1)
    deleted = event(tenant, "target_group.deleted", {"id": group_id}, 2)
    consume(lambda_env, stack, created, updated)
    assert GROUPS.require_in(tenant, group_id)["name"] == "Pohjoinen"

    later = {**updated, "id": new_id(), "occurred_at": (T0 + timedelta(minutes=3)).isoformat()}
    consume(lambda_env, stack, deleted, updated, {**updated, "id": new_id()}, later, created)
    assert GROUPS.row(tenant, group_id) == {"gone": True, "at": deleted["occurred_at"]}
    assert refused(tenant, group_id) == [
        {"field": "target_group_id", "message": f"No target group {group_id}.", "code": "unknown_target_group"}
    ]


def test_a_late_update_does_not_undo_a_newer_one(lambda_env: Any, stack: Stack) -> None:
    tenant, group_id = new_tenant(), new_id()
    old = event(tenant, "target_group.updated", group(group_id, "Old"), 1)
    new = event(tenant, "target_group.updated", group(group_id, "New"), 2)
    consume(lambda_env, stack, new, old, event(tenant, "target_group.created", group(group_id, "First"), 0))
    kept = GROUPS.row(tenant, group_id)
    assert kept is not None and (kept["name"], kept["at"]) == ("New", new["occurred_at"])
    assert kept["conditions"] == [{"op": "equals", "field": "region", "value": "north"}] and kept["match"] == "all"
    assert refused(new_tenant(), group_id)[0]["field"] == "target_group_id"  # another tenant does not have it


def test_require_waits_for_a_group_on_its_way_then_refuses(
    lambda_env: Any, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, group_id = new_tenant(), new_id()
    lambda_env("SmsConsumerFunction")
    waits: list[float] = []

    def arrives_while_waiting(seconds: float) -> None:  # the group's event is consumed during the grace
        waits.append(seconds)
        if len(waits) == 2:
            consume(lambda_env, stack, event(tenant, "target_group.created", group(group_id, "Fresh"), 0))

    monkeypatch.setattr(GROUPS, "sleep", arrives_while_waiting)
    assert GROUPS.require_in(tenant, group_id)["name"] == "Fresh"
    assert len(waits) == 2

    waits.clear()

    def waiting(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(GROUPS, "sleep", waiting)
    with pytest.raises(ValidationFailed):
        GROUPS.require_in(tenant, new_id(), grace=0.5)
    assert 0.4 <= sum(waits) <= 0.6 and len(waits) >= 2
