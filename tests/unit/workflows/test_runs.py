"""Which workflows an entity event triggers, and when a causation chain stops a run (services/workflows/runs.py)."""

from datetime import UTC, datetime
from typing import Any

import pytest

from services.workflows.domain.workflows import problems
from services.workflows.runs import CHAIN_LIMIT, due_of, steps_of, stop_reason, triggered
from shared.contracts.directory import RecordChanged
from shared.events import Cause, Change, Envelope
from shared.store import UnitOfWork

pytestmark = pytest.mark.disable_socket

EMAIL = [{"type": "send_email", "template_id": "t1"}]


def flow(trigger: dict[str, Any], conditions: list[dict[str, Any]] | None = None, match: str = "all") -> dict[str, Any]:
    return {
        "id": "w1",
        "revision": 1,
        "trigger": trigger,
        "conditions": conditions or [],
        "match": match,
        "actions": EMAIL,
    }


def changed(record: dict[str, Any], *fields: str) -> RecordChanged:
    return RecordChanged(id="c1", record={"id": "c1", **record}, changed=list(fields))


def test_a_trigger_names_its_entity_and_verb() -> None:
    created = flow({"entity": "contact", "on": "created"})
    assert triggered(created, "contact.created", changed({}))
    assert not triggered(created, "contact.updated", changed({}, "email"))
    assert not triggered(created, "account.created", changed({}))
    assert not triggered(created, "contact.created", changed({"active": False}))  # a passive contact is no one's
    assert not triggered(created, "contact.created", changed({"erased": True}))


def test_a_field_change_fires_on_that_field_and_its_new_value() -> None:
    to_customer = flow({"entity": "contact", "on": "field_changed", "field": "sales_status", "to": "customer"})
    assert triggered(to_customer, "contact.updated", changed({"sales_status": "customer"}, "sales_status"))
    assert not triggered(to_customer, "contact.updated", changed({"sales_status": "lead"}, "sales_status"))
    assert not triggered(to_customer, "contact.updated", changed({"sales_status": "customer"}, "email"))
    any_owner = flow({"entity": "account", "on": "field_changed", "field": "account.owner.id"})
    assert triggered(any_owner, "account.updated", changed({"owner": {"id": "u2"}}, "owner"))
    status = flow({"entity": "account", "on": "field_changed", "field": "account.status", "to": "Active"})
    assert triggered(status, "account.updated", changed({"status": "Active"}, "status"))


def test_a_field_change_from_a_value_reads_the_old_value_in_the_envelopes_changes() -> None:
    from_lead = flow({"entity": "contact", "on": "field_changed", "field": "sales_status", "from": "lead"})
    now_customer = changed({"sales_status": "customer"}, "sales_status")
    was_lead = [Change(field="sales_status", old="lead", new="customer")]
    was_prospect = [Change(field="sales_status", old="prospect", new="customer")]
    assert triggered(from_lead, "contact.updated", now_customer, was_lead)
    assert not triggered(from_lead, "contact.updated", now_customer, was_prospect)
    assert not triggered(from_lead, "contact.updated", now_customer, [])  # no old value: not fired
    assert not triggered(from_lead, "contact.updated", now_customer, [Change(field="email", old="lead")])
    both = flow({"entity": "contact", "on": "field_changed", "field": "sales_status", "from": "lead", "to": "won"})
    assert not triggered(both, "contact.updated", now_customer, was_lead)
    assert triggered(both, "contact.updated", changed({"sales_status": "won"}, "sales_status"), was_lead)
    owner = flow({"entity": "account", "on": "field_changed", "field": "account.owner.id", "from": "u1"})
    moved = changed({"owner": {"type": "user", "id": "u2"}}, "owner")
    assert triggered(owner, "account.updated", moved, [Change(field="owner", old={"type": "user", "id": "u1"})])
    assert not triggered(owner, "account.updated", moved, [Change(field="owner", old={"type": "user", "id": "u3"})])


def test_from_and_to_are_values_of_the_field_and_only_with_field_changed() -> None:
    def trigger_problems(trigger: dict[str, Any]) -> list[str]:
        return [e.field for e in problems({"trigger": trigger, "actions": EMAIL})]

    changed_from = {"entity": "contact", "on": "field_changed", "field": "consent_date"}
    assert trigger_problems({**changed_from, "from": "not a date", "to": "2026-01-01"}) == ["trigger.from"]
    assert trigger_problems({**changed_from, "from": "2026-01-01"}) == []
    assert trigger_problems({"entity": "contact", "on": "updated", "from": "x"}) == ["trigger.field"]
    assert trigger_problems({"entity": "contact", "on": "field_changed", "from": "x"}) == ["trigger.field"]


def test_conditions_read_the_record_in_the_target_groups_language() -> None:
    sales = [{"field": "department", "op": "equals", "value": "SALES"}, {"field": "email", "op": "is_empty"}]
    both = flow({"entity": "contact", "on": "created"}, sales)
    either = flow({"entity": "contact", "on": "created"}, sales, match="any")
    record = {"department": "sales", "email": "a@example.fi"}
    assert not triggered(both, "contact.created", changed(record))
    assert triggered(either, "contact.created", changed(record))
    accounts = flow(
        {"entity": "account", "on": "created"}, [{"field": "account.city", "op": "equals", "value": "Oulu"}]
    )
    assert triggered(accounts, "account.created", changed({"city": "oulu"}))
    assert not triggered(accounts, "account.created", changed({"city": "Turku"}))


def link(automation_id: str | None, record_id: str | None = "c1") -> Cause:
    return Cause(event_id="e", event_type="contact.updated", automation_id=automation_id, record_id=record_id)


def test_a_chain_stops_at_its_own_workflow_and_record_or_at_the_limit() -> None:
    assert stop_reason([], "w1", "c1") is None
    assert stop_reason([link(None), link("w2")], "w1", "c1") is None
    assert stop_reason([link("w1", "c2")], "w1", "c1") is None  # the same workflow on another record
    assert stop_reason([link("w2"), link("w1")], "w1", "c1") == "loop"
    deep = [link(f"w{n + 2}") for n in range(CHAIN_LIMIT)]
    assert stop_reason(deep[:-1], "w1", "c1") is None
    assert stop_reason([*deep, link(None)], "w1", "c1") == "chain_too_deep"  # events between actions do not count


def test_the_actions_are_command_events_for_the_record_and_a_missing_address_skips_one() -> None:
    actions = [
        {"type": "send_email", "template_id": "t1"},
        {"type": "send_sms", "text": "Hei {{ contact.first_name }}", "number_field": "mobile"},
        {"type": "send_sms", "text": "Hei", "number_field": "phone"},
    ]
    workflow = {**flow({"entity": "contact", "on": "created"}), "actions": actions}
    record = {"id": "c1", "first_name": "Maija", "last_name": "M", "email": "maija@example.fi", "mobile": "+358401"}
    uow = UnitOfWork()
    chain = [link("w1")]
    steps = steps_of("t1", ("corr", chain), uow, workflow, "r1", record)
    assert [(s["type"], s["outcome"], s.get("reason")) for s in steps] == [
        ("send_email", "requested", None),
        ("send_sms", "requested", None),
        ("send_sms", "skipped", "no_phone"),
    ]
    again = steps_of("t1", ("corr", chain), UnitOfWork(), workflow, "r1", record)
    assert [s.get("event_id") for s in again] == [s.get("event_id") for s in steps]  # derived: a retry makes the same
    assert len(uow.ops) == 2  # two outbox items


class Published(UnitOfWork):
    """A unit of work that keeps what is published, to read the commands."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Envelope] = []

    def publish(self, event: Envelope) -> None:
        self.events.append(event)


def test_set_field_task_and_webhook_are_commands_to_their_services_acting_as_the_creator() -> None:
    actions = [
        {"type": "set_field", "field": "account.status", "value": "inactive"},
        {"type": "create_task", "activity_type": "meeting", "subject": "Visit", "due_in_minutes": 90},
        {"type": "call_webhook", "endpoint_id": "h1"},
    ]
    workflow = {**flow({"entity": "account", "on": "created"}), "actions": actions, "created_by": "admin-7"}
    record = {"id": "a1", "name": "Oy", "owner": {"type": "group", "id": "g1"}}
    uow = Published()
    trigger = Cause(event_id="e9", event_type="account.created", automation_id="w1", record_id="a1")
    steps = steps_of("t1", ("corr", [trigger]), uow, workflow, "r1", record)
    assert [s["outcome"] for s in steps] == ["requested"] * 3
    update, task, call = uow.events
    assert (update.type, update.data["id"], update.data["changes"]) == (
        "account.update_requested",
        "a1",
        {"status": "inactive"},
    )
    assert update.data["acting"] == {"user_id": "admin-7", "role": "admin", "groups": []}
    assert all(e.causation == [trigger] and e.correlation_id == "corr" for e in uow.events)
    assert (task.type, task.data["owner_id"], task.data["account_id"]) == ("activity.create_requested", "admin-7", "a1")
    assert (task.data["activity_type"], task.data["source_id"]) == ("meeting", "w1")  # a group owns it: the creator
    assert (call.type, call.data["endpoint_id"], call.data["run_id"]) == ("webhook.call_requested", "h1", "r1")
    assert (call.data["trigger_event_id"], call.data["record"]) == ("e9", record)

    owned = {**record, "owner": {"type": "user", "id": "u5"}}
    assert steps_of("t1", ("corr", [trigger]), Published(), workflow, "r2", owned)[1]["outcome"] == "requested"
    nobody = {k: v for k, v in workflow.items() if k != "created_by"}  # a definition from before creators were kept
    [_, skipped, _] = steps_of("t1", ("corr", [trigger]), Published(), nobody, "r3", record)
    assert (skipped["outcome"], skipped["reason"]) == ("skipped", "no_owner")


@pytest.mark.parametrize(
    ("entity", "action", "field"),
    [
        ("contact", {"type": "set_field", "field": "owner.id", "value": "u1"}, "actions.0.field"),
        ("contact", {"type": "set_field", "field": "account.name", "value": "Oy"}, "actions.0.field"),
        ("account", {"type": "set_field", "field": "name", "value": "Oy"}, "actions.0.field"),
        ("account", {"type": "set_field", "field": "account.name", "value": None}, "actions.0.value"),
        ("contact", {"type": "set_field", "field": "consent_date", "value": "yesterday"}, "actions.0.value"),
        ("contact", {"type": "set_field", "field": "sales_status", "value": "Not A Code"}, "actions.0.value"),
    ],
)
def test_a_set_field_names_a_settable_field_of_the_entity_and_a_value_of_its_kind(
    entity: str, action: dict[str, Any], field: str
) -> None:
    definition = {"trigger": {"entity": entity, "on": "created"}, "actions": [action]}
    assert [e.field for e in problems(definition)] == [field]


def test_a_set_field_that_fits_its_entity_is_no_problem() -> None:
    contact = [
        {"type": "set_field", "field": "consent_date", "value": "2026-12-06"},
        {"type": "set_field", "field": "department", "value": None},
        {"type": "set_field", "field": "sales_status", "value": "won"},
    ]
    account = [{"type": "set_field", "field": "account.city", "value": "Oulu"}]
    assert problems({"trigger": {"entity": "contact", "on": "created"}, "actions": contact}) == []
    assert problems({"trigger": {"entity": "account", "on": "created"}, "actions": account}) == []


NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_a_delay_until_a_date_field_is_due_at_its_value_moved_by_the_offset() -> None:
    until = {
        **flow({"entity": "contact", "on": "created"}),
        "delay_until": {"field": "consent_date", "offset_minutes": -60},
    }
    assert due_of(until, {"consent_date": "2026-12-10"}, NOW) == (datetime(2026, 12, 9, 23, 0, tzinfo=UTC), None)
    assert due_of(until, {"consent_date": None}, NOW) == (None, "no_date")
    assert due_of(until, {}, NOW) == (None, "no_date")
    assert due_of(until, {"consent_date": "2026-12-06"}, NOW) == (None, "date_passed")  # 23:00 the day before
    account = {
        **flow({"entity": "account", "on": "created"}),
        "delay_until": {"field": "account.created_at", "offset_minutes": 60 * 24},
    }
    assert due_of(account, {"created_at": "2026-12-06T11:30:00+00:00"}, NOW)[0] == datetime(
        2026, 12, 7, 11, 30, tzinfo=UTC
    )
    minutes = {**flow({"entity": "contact", "on": "created"}), "delay_minutes": 30}
    assert due_of(minutes, {}, NOW) == (datetime(2026, 12, 6, 12, 30, tzinfo=UTC), None)
    assert due_of(flow({"entity": "contact", "on": "created"}), {}, NOW) == (None, None)


@pytest.mark.parametrize(
    ("entity", "values", "field"),
    [
        ("contact", {"delay_until": {"field": "department"}}, "delay_until.field"),
        ("contact", {"delay_until": {"field": "account.created_at"}}, "delay_until.field"),
        ("contact", {"delay_until": {"field": "consent_date"}, "delay_minutes": 5}, "delay_until"),
    ],
)
def test_a_delay_until_names_a_date_field_of_the_entity_and_is_the_only_delay(
    entity: str, values: dict[str, Any], field: str
) -> None:
    definition = {"trigger": {"entity": entity, "on": "created"}, "actions": EMAIL, **values}
    assert [e.field for e in problems(definition)] == [field]
    fine = {"trigger": {"entity": "account", "on": "created"}, "actions": EMAIL}
    assert problems({**fine, "delay_until": {"field": "account.created_at"}}) == []
