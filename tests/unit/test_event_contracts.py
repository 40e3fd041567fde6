"""One contract per event: consumers handle only catalogued events, producers send exactly the model.

- Every event type a service's consumer handles, and every one the template's rules route to its
  queue, is in the catalogue, and the two sets are the same (a subscription no rule feeds never
  runs; a routed type without a handler is a wasted invocation).
- The checker that the e2e run applies to every event a Kontakt service puts on the bus
  (tests/contracts.py, tests/e2e/conftest.py) refuses what a consumer would misread: unknown,
  missing or mistyped fields, an unknown type, another version or producer.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from infra.docs import load_catalogue
from infra.template import Stack, build_stack, translate
from shared.contracts.audience import AudienceMember, AudiencePage
from shared.contracts.directory import ContactErased, RecordChanged
from shared.contracts.messaging import EmailSent
from shared.contracts.target_groups import TargetGroupChanged
from shared.events import Actor, new_event
from tests.contracts import bus_problems, envelope_problems, payload_problems

pytestmark = pytest.mark.disable_socket

ROOT = Path(__file__).resolve().parents[2]
CONSUMERS = {
    "DirectoryConsumerFunction",
    "ActivitiesConsumerFunction",
    "EmailConsumerFunction",
    "SmsConsumerFunction",
    "WebhooksConsumerFunction",
    "ScannerConsumerFunction",
    "InvoicingConsumerFunction",
    "WorkflowsConsumerFunction",
}

# Event types a consumer handles (and a rule routes) that no service publishes, with the reason
# they are kept for now. The test fails on any other, and on a listed one that is gone.
KNOWN_UNPUBLISHED: dict[str, str] = {
    "group.deleted": (
        "activities/goals.py keeps a tombstone for a deleted user group, but the directory cannot delete "
        "groups and never publishes group.deleted (issue 13: drop the subscription, or add the deletion "
        "and its catalogue entry)"
    ),
}


STACK = build_stack(translate(ROOT))
# The handlers of the queues the bus's rules feed, imported when the test is collected (as a
# handler module is imported before Lambda calls it): importing one starts Powertools' tracer,
# which opens a socket.
BUS_QUEUES = {target.arn for rule in STACK.rules.values() if rule.event_pattern for target in rule.targets}
SQS_HANDLERS: dict[str, Any] = {}
for _mapping in STACK.mappings.values():
    if _mapping.kind == "sqs" and _mapping.source_arn in BUS_QUEUES:
        _module, _, _name = STACK.functions[_mapping.function].handler.rpartition(".")
        SQS_HANDLERS[_mapping.function] = getattr(importlib.import_module(_module), _name)


def stack() -> Stack:
    return STACK


def consumer_routes(function: str) -> set[str] | None:
    """The event types a function built by `shared.entry.consumer_entry` routes; None for any other.

    Read from the routes the handler closes over, exactly what it dispatches on at run time.
    """
    inner = inspect.unwrap(SQS_HANDLERS[function])
    routes = inspect.getclosurevars(inner).nonlocals.get("handlers")
    if routes is None:
        return None
    return set(routes if isinstance(routes, Mapping) else routes())


def consumers() -> dict[str, tuple[set[str], set[str]]]:
    """Function logical id -> (types its consumer handles, types the rules route to its queue)."""
    found = {}
    for mapping in stack().mappings.values():
        if mapping.function not in SQS_HANDLERS:
            continue
        handled = consumer_routes(mapping.function)
        if handled is None:
            continue
        routed = {
            event_type
            for rule in stack().rules.values()
            if any(target.arn == mapping.source_arn for target in rule.targets)
            for event_type in routed_types((rule.event_pattern or {}).get("detail-type", []))
        }
        found[mapping.function] = (handled, routed)
    return found


def routed_types(detail_types: list[Any]) -> set[str]:
    """The catalogued types a rule's `detail-type` list matches: named ones, and every catalogued type
    but those listed in an `anything-but` (the webhooks fan-out's one rule)."""
    routed: set[str] = set()
    for entry in detail_types:
        if isinstance(entry, str):
            routed.add(entry)
        elif isinstance(entry, dict) and set(entry) == {"anything-but"} and isinstance(entry["anything-but"], list):
            routed |= {spec.event_type for spec in load_catalogue()} - set(entry["anything-but"])
        else:
            raise AssertionError(f"a detail-type filter this test does not read: {entry}")
    return routed


def test_every_consumer_is_read() -> None:
    # If consumer_entry stops closing over its routes, consumer_routes must learn the new way:
    # this keeps the test below from passing over nothing.
    assert set(consumers()) == CONSUMERS


@pytest.mark.parametrize("function", sorted(CONSUMERS))
def test_a_consumer_handles_exactly_the_catalogued_types_routed_to_it(function: str) -> None:
    handled, routed = consumers()[function]
    catalogued = {spec.event_type for spec in load_catalogue()}
    assert sorted(handled - routed) == [], "handled, but no rule routes them to the queue"
    assert sorted(routed - handled) == [], "routed to the queue, but no handler"
    unknown = {t for t in handled if t not in catalogued}
    assert sorted(unknown - set(KNOWN_UNPUBLISHED)) == [], "handled, but not in the catalogue"


def test_webhooks_are_routed_exactly_the_offered_types() -> None:
    # The webhooks consumer's one rule is `anything-but` a list: a new internal or `webhook.*` type
    # added to the catalogue but not to that list would be fanned out; this keeps them equal.
    from infra.docs import INTERNAL_EVENTS
    from services.webhooks.catalogue import offered

    handled, routed = consumers()["WebhooksConsumerFunction"]
    catalogued = {spec.event_type for spec in load_catalogue()}
    commands = {"webhook.call_requested"}  # the one internal type it applies (services/webhooks/calls.py)
    assert routed == set(offered()) | commands == handled
    assert catalogued - routed == {t for t in catalogued if INTERNAL_EVENTS.match(t)} - commands
    assert {
        "webhook.exhausted",
        "webhook.endpoint_disabled",
        "webhook.test",
        "sms.send_requested",
    } <= catalogued - routed


def test_known_unpublished_types_are_still_unpublished_and_handled() -> None:
    catalogued = {spec.event_type for spec in load_catalogue()}
    handled = {t for handled, _ in consumers().values() for t in handled}
    for event_type in KNOWN_UNPUBLISHED:
        assert event_type not in catalogued, f"{event_type} is catalogued now: drop it from KNOWN_UNPUBLISHED"
        assert event_type in handled, f"nothing handles {event_type} any more: drop it from KNOWN_UNPUBLISHED"


# ----------------------------------------------------------------------------- the checker

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
DIRECTORY = Actor(type="service", id="directory")


def envelope(event_type: str, payload: Any) -> dict[str, Any]:
    return new_event(event_type, "T1", payload, actor=DIRECTORY).model_dump(mode="json")


def bus_event(detail: dict[str, Any], source: str = "kontakt.directory") -> dict[str, Any]:
    return {"id": "e1", "source": source, "detail-type": detail["type"], "detail": detail}


GOOD = [
    ("account.created", RecordChanged(id="A1", record={"id": "A1", "name": "Oy", "version": 1}, changed=[])),
    ("contact.erased", ContactErased(id="C1")),
    (
        "target_group.updated",
        TargetGroupChanged(
            id="G1",
            name="North",
            conditions=[
                {"op": "equals", "field": "account.city", "value": "Oulu"},
                {"op": "in_class", "value": "K1"},
            ],
            match="any",
        ),
    ),
    (
        "audience.page",
        AudiencePage(
            request_id="R1",
            requester="email",
            target_group_id="G1",
            page=1,
            last=True,
            total_members=1,
            members=[AudienceMember(contact_id="C1", fields={"email": "a@example.fi"})],
        ),
    ),
]


@pytest.mark.parametrize(("event_type", "payload"), GOOD, ids=[t for t, _ in GOOD])
def test_what_a_producer_builds_from_the_model_agrees(event_type: str, payload: Any) -> None:
    assert envelope_problems(envelope(event_type, payload), "kontakt.directory") == []


def test_email_sent_from_its_producer_agrees() -> None:
    sent = EmailSent(message_id="M1", contact_id="C1", to="a@example.fi", subject="Hi", sent_at=AT)
    assert envelope_problems(envelope("email.sent", sent), "kontakt.email") == []
    assert envelope_problems(envelope("email.sent", sent), "kontakt.directory") == [
        "email.sent put on the bus by kontakt.directory, the catalogue names email"
    ]


def test_a_field_the_model_does_not_have_is_refused() -> None:
    detail = envelope("contact.erased", ContactErased(id="C1"))
    detail["data"]["email"] = "gone@example.fi"
    assert envelope_problems(detail) == ["contact.erased data.email: not in the model"]


def test_a_subclass_with_more_fields_passes_new_event_but_not_the_contract() -> None:
    class Richer(ContactErased):
        reason: str

    detail = envelope("contact.erased", Richer(id="C1", reason="asked"))  # isinstance: new_event takes it
    assert envelope_problems(detail) == ["contact.erased data.reason: not in the model"]


def test_a_missing_field_is_refused_even_with_a_default() -> None:
    detail = envelope("account.updated", RecordChanged(id="A1", record={"version": 2}))
    del detail["data"]["changed"]
    assert envelope_problems(detail) == ["account.updated data.changed: missing"]
    del detail["data"]["record"]
    assert envelope_problems(detail) == ["account.updated data.record: Field required"]


NOT_AN_INT = "audience.page data.page: Input should be a valid integer"


def test_a_nested_unknown_field_and_a_wrong_type_are_refused() -> None:
    good = dict(GOOD)
    detail = envelope("target_group.updated", good["target_group.updated"])
    detail["data"]["conditions"][1]["note"] = "x"
    assert payload_problems("target_group.updated", detail["data"]) == [
        "target_group.updated data.conditions.1.in_class.note: Extra inputs are not permitted"
    ]
    page = envelope("audience.page", good["audience.page"])
    page["data"]["page"] = "1"  # a string where the model has an int: strict, not coerced
    assert payload_problems("audience.page", page["data"]) == [
        "audience.page data.page: Input should be a valid integer"
    ]
    page["data"]["page"] = 1.0
    assert payload_problems("audience.page", page["data"]) == [
        "audience.page data.page: Input should be a valid integer"
    ]
    page["data"]["page"] = 1
    page["data"]["members"][0]["fields"] = {"email": "a@example.fi", "since": 2020}
    assert payload_problems("audience.page", page["data"]) == []  # free-form fields are the producer's


def test_an_unknown_type_version_or_envelope_field_is_refused() -> None:
    detail = envelope("contact.erased", ContactErased(id="C1"))
    assert envelope_problems({**detail, "type": "contact.forgotten"}) == ["contact.forgotten is not in the catalogue"]
    assert envelope_problems({**detail, "version": 2}) == ["contact.erased version 2, the catalogue's is 1"]
    assert envelope_problems({**detail, "extra": 1}) == [
        "contact.erased envelope: Extra inputs are not permitted at ('extra',)"
    ]


def test_bus_problems_check_kontakt_events_only() -> None:
    good = envelope("contact.erased", ContactErased(id="C1"))
    bad = {**good, "data": {"id": 1}}
    assert bus_problems([bus_event(good), bus_event(bad, "kontakt.test"), {"source": "aws.ses", "detail": {}}]) == []
    assert bus_problems([bus_event(bad)]) == [
        "kontakt.directory: contact.erased data.id: Input should be a valid string"
    ]
    mislabelled = {**bus_event(good), "detail-type": "contact.deleted"}
    assert bus_problems([mislabelled]) == ["kontakt.directory: detail-type contact.deleted but type contact.erased"]
