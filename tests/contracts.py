"""Whether an event on the bus is what the event catalogue says it is (the contract test's checker).

A producer builds its payload from the catalogue's model (`shared.events.new_event`), but nothing
there stops it from passing a subclass with more fields, a model built without validation, or a
model whose JSON does not read back as itself. This reads an event as a consumer would and holds
it to the catalogue strictly:

- the envelope is a valid `Envelope` (no unknown fields), its type is registered, its version is
  the registered one and its source (`kontakt.<service>`) is one of the registered producers;
- the payload validates against the type's model in strict mode (no type coercion: "1" is not
  an int), and reads back as what was sent: no field the model does not have (the model would
  drop it), none missing (the model would fill in its default), no value whose JSON type the
  model changes. A value the model only normalises (a time written with `+00:00` read back as
  `Z`) is not a disagreement.

Used by tests/unit/test_event_contracts.py and, for every event a Kontakt service puts on the bus
during an e2e test, by tests/e2e/conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from infra.docs import load_catalogue
from shared.events import Envelope, catalogue

SOURCE_PREFIX = "kontakt."
TEST_SOURCE = "kontakt.test"  # what tests put on the bus themselves (tests/e2e/helpers.put_envelope)


def payload_problems(event_type: str, data: Any) -> list[str]:
    """How a payload disagrees with its type's catalogue model (empty: it agrees)."""
    load_catalogue()
    try:
        spec = catalogue.spec(event_type)
    except KeyError:
        return [f"{event_type} is not in the catalogue"]
    try:
        read = spec.payload.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as error:
        return [
            f"{event_type} data.{'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in error.errors(include_url=False, include_input=False)
        ]
    return [f"{event_type} {problem}" for problem in _differences(data, read.model_dump(mode="json"), "data")]


def envelope_problems(detail: Mapping[str, Any], source: str | None = None) -> list[str]:
    """How an envelope (EventBridge `detail`) and its payload disagree with the catalogue."""
    load_catalogue()
    event_type = str(detail.get("type"))
    try:
        Envelope.model_validate(detail)
    except ValidationError as error:
        return [f"{event_type} envelope: {e['msg']} at {e['loc']}" for e in error.errors(include_url=False)]
    try:
        spec = catalogue.spec(event_type)
    except KeyError:
        return [f"{event_type} is not in the catalogue"]
    problems = []
    if detail.get("version") != spec.version:
        problems.append(f"{event_type} version {detail.get('version')}, the catalogue's is {spec.version}")
    producers = {p.strip() for p in spec.producer.split(",")}
    if source is not None and "any service" not in producers and source.removeprefix(SOURCE_PREFIX) not in producers:
        problems.append(f"{event_type} put on the bus by {source}, the catalogue names {spec.producer}")
    return problems + payload_problems(event_type, detail.get("data"))


def bus_problems(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """The disagreements of the Kontakt events among EventBridge events (as the dev tap holds them).

    Events from elsewhere (SES's) and the ones tests put on the bus themselves are not checked.
    """
    problems = []
    for event in events:
        source = str(event.get("source", ""))
        if not source.startswith(SOURCE_PREFIX) or source == TEST_SOURCE:
            continue
        detail = event.get("detail") or {}
        if event.get("detail-type") != detail.get("type"):
            problems.append(f"{source}: detail-type {event.get('detail-type')} but type {detail.get('type')}")
        problems += [f"{source}: {p}" for p in envelope_problems(detail, source)]
    return problems


def _differences(sent: Any, read: Any, path: str) -> list[str]:
    if isinstance(sent, dict) and isinstance(read, dict):
        found = [f"{path}.{key}: not in the model" for key in sorted(sent.keys() - read.keys())]
        found += [f"{path}.{key}: missing" for key in sorted(read.keys() - sent.keys())]
        for key in sorted(sent.keys() & read.keys()):
            found += _differences(sent[key], read[key], f"{path}.{key}")
        return found
    if isinstance(sent, list) and isinstance(read, list):
        if len(sent) != len(read):
            return [f"{path}: sent {len(sent)} items, the model reads {len(read)}"]
        return [p for i, (s, r) in enumerate(zip(sent, read, strict=True)) for p in _differences(s, r, f"{path}.{i}")]
    if type(sent) is not type(read):
        return [f"{path}: sent {json.dumps(sent)}, the model reads {json.dumps(read)}"]
    return []
