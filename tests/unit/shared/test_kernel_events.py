"""The envelope and the catalogue. Each test uses its own catalogue, so the real one (whose
docs are generated) never sees test event types."""

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from shared import clock, events
from shared.events import SYSTEM, Actor, Catalogue, Envelope, new_event, payload_of

pytestmark = pytest.mark.disable_socket


class ThingHappened(BaseModel):
    id: str
    size: int


class OtherThing(BaseModel):
    id: str


@pytest.fixture
def catalogue(monkeypatch: pytest.MonkeyPatch) -> Catalogue:
    fresh = Catalogue()
    fresh.register("thing.happened", ThingHappened, producer="tests", description="A thing happened.", version=2)
    monkeypatch.setattr(events, "catalogue", fresh)
    return fresh


def test_double_registration_is_an_error(catalogue: Catalogue) -> None:
    with pytest.raises(ValueError, match=r"thing\.happened"):
        catalogue.register("thing.happened", OtherThing, producer="tests", description="again")


def test_unknown_type_names_itself(catalogue: Catalogue) -> None:
    with pytest.raises(KeyError, match=r"thing\.vanished"):
        catalogue.spec("thing.vanished")
    with pytest.raises(KeyError):
        new_event("thing.vanished", "t1", ThingHappened(id="a", size=1))


def test_all_is_sorted_by_type(catalogue: Catalogue) -> None:
    catalogue.register("alpha.created", OtherThing, producer="tests", description="first")
    assert [s.event_type for s in catalogue.all()] == ["alpha.created", "thing.happened"]


def test_new_event_fills_the_envelope(catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch) -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    monkeypatch.setattr(clock, "now", lambda: moment)
    actor = Actor(type="user", id="u1")
    envelope = new_event("thing.happened", "t1", ThingHappened(id="a", size=3), actor=actor, correlation_id="c1")
    assert envelope.type == "thing.happened"
    assert envelope.version == 2
    assert envelope.tenant_id == "t1"
    assert envelope.occurred_at == moment
    assert envelope.actor == actor
    assert envelope.correlation_id == "c1"
    assert envelope.data == {"id": "a", "size": 3}
    assert len(envelope.id) == 26  # a ULID


def test_new_event_defaults(catalogue: Catalogue) -> None:
    envelope = new_event("thing.happened", "t1", ThingHappened(id="a", size=3), event_id="e1")
    assert envelope.id == "e1"
    assert envelope.correlation_id == "e1"
    assert envelope.actor == SYSTEM


def test_new_event_checks_the_payload_type(catalogue: Catalogue) -> None:
    with pytest.raises(TypeError, match="ThingHappened"):
        new_event("thing.happened", "t1", OtherThing(id="a"))


def test_payload_of_round_trip(catalogue: Catalogue) -> None:
    sent = new_event("thing.happened", "t1", ThingHappened(id="a", size=3))
    received = Envelope.model_validate_json(sent.model_dump_json())
    payload = payload_of(received)
    assert isinstance(payload, ThingHappened)
    assert payload == ThingHappened(id="a", size=3)


def test_payload_of_validates(catalogue: Catalogue) -> None:
    sent = new_event("thing.happened", "t1", ThingHappened(id="a", size=3))
    broken = sent.model_copy(update={"data": {"id": "a", "size": "big"}})
    with pytest.raises(ValidationError):
        payload_of(broken)


@pytest.mark.parametrize("event_type", ["Thing.Happened", "thing", "thing.happened.now", "thing-x.made"])
def test_envelope_type_is_entity_dot_verb(event_type: str) -> None:
    with pytest.raises(ValidationError):
        Envelope(
            id="e1",
            type=event_type,
            tenant_id="t1",
            occurred_at=clock.now(),
            actor=SYSTEM,
            correlation_id="e1",
            data={},
        )


def test_envelope_forbids_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        Envelope.model_validate(
            {
                "id": "e1",
                "type": "thing.happened",
                "tenant_id": "t1",
                "occurred_at": "2026-01-01T00:00:00Z",
                "actor": {"type": "system", "id": "kontakt"},
                "correlation_id": "e1",
                "data": {},
                "extra": 1,
            }
        )


def test_real_catalogue_has_the_audience_contract() -> None:
    import shared.contracts.audience  # noqa: F401

    spec = events.catalogue.spec("audience.page")
    assert spec.producer == "directory"


def test_an_event_made_while_handling_another_carries_its_chain(catalogue: Catalogue) -> None:
    first = new_event("thing.happened", "t1", ThingHappened(id="a", size=1), event_id="e1")
    assert first.causation == []  # a person's request: no chain
    with events.handling(first):
        second = new_event("thing.happened", "t1", ThingHappened(id="a", size=2), event_id="e2")
        chain = events.chain_of(second, automation_id="w1", record_id="c1")
        third = new_event("thing.happened", "t1", ThingHappened(id="a", size=3), causation=chain)
    assert [c.event_id for c in second.causation] == ["e1"]
    assert [(c.event_id, c.automation_id, c.record_id) for c in third.causation] == [
        ("e1", None, None),
        ("e2", "w1", "c1"),
    ]
    after = new_event("thing.happened", "t1", ThingHappened(id="a", size=4))
    assert after.causation == []  # the chain ends with the handling


def test_a_chain_keeps_its_most_recent_links() -> None:
    from shared.events import MAX_CAUSATION, Cause, chain_of

    long = [Cause(event_id=f"e{i}", event_type="contact.updated") for i in range(MAX_CAUSATION + 5)]
    handled = Envelope.model_validate(
        {
            "id": "last",
            "type": "contact.updated",
            "version": 1,
            "tenant_id": "t",
            "occurred_at": "2026-12-05T00:00:00Z",
            "actor": {"type": "system", "id": "kontakt"},
            "correlation_id": "c",
            "causation": [c.model_dump() for c in long],
            "data": {},
        }
    )
    chain = chain_of(handled)
    assert len(chain) == MAX_CAUSATION and chain[-1].event_id == "last" and chain[0].event_id == "e6"


def test_a_request_and_the_consumers_after_it_share_its_origin_and_correlation_id(catalogue: Catalogue) -> None:
    origin = events.Origin(request_id="req-1", ip="203.0.113.9", user_agent="curl/8")
    with events.requesting(origin):
        made = new_event("thing.happened", "t1", ThingHappened(id="a", size=1))
    assert (made.correlation_id, made.origin) == ("req-1", origin)
    with events.handling(made):  # a consumer of it, in another service
        caused = new_event("thing.happened", "t1", ThingHappened(id="b", size=2))
    assert (caused.correlation_id, caused.origin) == ("req-1", origin)
    scheduled = new_event("thing.happened", "t1", ThingHappened(id="c", size=3))
    assert (scheduled.correlation_id, scheduled.origin) == (scheduled.id, None)  # no request, no chain


def test_changes_of_lists_old_and_new_small_and_masked_where_erased() -> None:
    before = {"name": "Acme", "notes": "x" * 2000, "tags": [], "version": 3, "updated_at": "then", "same": 1}
    after = {"name": "Acme Oy", "notes": "short", "tags": list(range(1000)), "version": 4, "updated_at": "now"}
    after["same"] = 1
    changes = {c.field: (c.old, c.new) for c in events.changes_of(before, after)}
    assert changes["name"] == ("Acme", "Acme Oy")
    assert changes["notes"][0] == "x" * events.MAX_CHANGE_TEXT + "…"
    assert changes["tags"][0] == [] and str(changes["tags"][1]).endswith("bytes]")
    assert set(changes) == {"name", "notes", "tags"}  # bookkeeping and unchanged fields left out
    assert [c.field for c in events.changes_of(before, after, ["name", "same"])] == ["name"]
    erased = events.changes_of({"email": "a@b.fi", "phone": None}, {"email": None, "phone": None}, mask_old=True)
    assert [(c.field, c.old, c.new) for c in erased] == [("email", events.MASKED, None)]


def test_changes_of_records_a_secret_as_changed_without_its_value() -> None:
    before = {"password": "old-one", "token": None, "host": "a"}
    after = {"password": "new-one", "token": "t0k3n", "host": "b"}
    changes = events.changes_of(before, after, secret={"password", "token"})
    shown = [(c.field, c.old, c.new) for c in changes]
    assert shown == [("host", "a", "b"), ("password", events.SECRET, events.SECRET), ("token", None, events.SECRET)]
    assert "new-one" not in str(shown) and "t0k3n" not in str(shown)
