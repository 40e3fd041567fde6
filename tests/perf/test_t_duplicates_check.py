"""(t) Check on create: the AWS calls of `POST /contacts` with the duplicate check, per create.

Through `kontakt dev` with each function's AWS calls counted by a proxy (`CountedRuntime`, as in
(h)). A tenant's admin creates ROUNDS contacts of distinct people (each with a name, an email and
a mobile number: 6 keys), then ROUNDS contacts that each duplicate one of them. The check adds one
Query per key of the new record (`<KIND>#dup#<key>` in `by_term`), and, when any key names a
record, one BatchGetItem of the candidates; the keys themselves are written in the record's own
transaction (items in it, no call). The rest of a create (the tenant's settings and the number's
counter, the record's transaction) is listed beside it.

Run: .venv/bin/pytest -s -p no:xdist tests/perf/test_t_duplicates_check.py
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from .conftest import FIGURES, PROJECT_ROOT, render, started
from .test_h_campaign import CountedRuntime

pytestmark = pytest.mark.perf

ROUNDS = 20
API = "DirectoryApiFunction"
KEYS = 6  # a contact with a two-part name, an email and a mobile: e:, p:, n: x2, g: x2 (both name orders)


@pytest.fixture(scope="module")
def stack() -> Iterator[CountedRuntime]:
    with started(CountedRuntime(PROJECT_ROOT, {}, stage="dev", port=0, concurrency=2)) as runtime:
        yield runtime


def _person(n: int) -> dict[str, str]:
    first = ["Aino", "Eero", "Helmi", "Ilkka", "Kaisa", "Lauri", "Minna", "Olli", "Pirjo", "Sakari"][n % 10]
    last = ["Aaltonen", "Heikkinen", "Korhonen", "Laine", "Mäkinen", "Nieminen", "Ojala"][n % 7] + f"{n:03d}x"
    return {"first_name": first, "last_name": last, "email": f"p{n}@perf.example.fi", "mobile": f"040 555 {n:04d}"}


def _creates(stack: CountedRuntime, token: str, people: list[dict[str, str]]) -> tuple[Counter[str], int]:
    before = stack.log.snapshot()[0]
    found = 0
    for person in people:
        made = requests.post(
            f"{stack.api_url}/contacts", json=person, headers={"Authorization": f"Bearer {token}"}, timeout=120
        )
        assert made.status_code == 201, made.text
        found += len(made.json()["possible_duplicates"])
    spent = stack.log.snapshot()[0] - before
    return Counter({f"{service} {op}": n for (name, service, op), n in spent.items() if name == API}), found


def test_calls_per_create_with_the_duplicate_check(stack: CountedRuntime) -> None:
    tenant = f"perf-dup-{uuid.uuid4().hex[:8]}"
    token = stack.token(tenant, "admin-1", "admin")
    requests.get(f"{stack.api_url}/contacts", headers={"Authorization": f"Bearer {token}"}, timeout=120)  # defaults
    people = [_person(n) for n in range(ROUNDS)]
    new, none_found = _creates(stack, token, people)
    twins = [{**p, "email": p["email"].upper()} for p in people]  # the same people again
    again, found = _creates(stack, token, twins)
    assert none_found == 0 and found == ROUNDS
    rows: list[tuple[str, ...]] = []
    for unit, calls, check in (
        ("create, no duplicate", new, KEYS),
        ("create of a duplicate", again, KEYS + 1),
    ):
        per_create = sum(calls.values()) / ROUNDS
        rows.append((unit, f"{per_create:.2f}", f"{check} of them the check's"))
        rows += [(f"  {call}", f"{n / ROUNDS:.2f}", "") for call, n in sorted(calls.items())]
        FIGURES.add("t. duplicates", f"AWS calls per {unit}", round(per_create, 2), f"calls ({check} the check's)")
        assert calls["dynamodb Query"] / ROUNDS >= KEYS  # one per key: the check ran
    print(render("(t) check on create: AWS calls per POST /contacts", rows, header=("unit", "calls", "")))


def _batch(stack: CountedRuntime, token: str, people: list[dict[str, str]]) -> tuple[Counter[str], int]:
    before = stack.log.snapshot()[0]
    answer = requests.post(
        f"{stack.api_url}/contacts/batch",
        json={"items": people},
        headers={"Authorization": f"Bearer {token}"},
        timeout=300,
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert all(r["status"] == 201 for r in results), results
    found = sum(len(r["record"]["possible_duplicates"]) for r in results)
    spent = stack.log.snapshot()[0] - before
    return Counter({f"{service} {op}": n for (name, service, op), n in spent.items() if name == API}), found


def test_calls_per_batch_item_with_the_duplicate_check(stack: CountedRuntime) -> None:
    """A batch of ROUNDS people, then a batch of the same people again: one Query per distinct key
    of the batch and a BatchGetItem per item that names new candidates; a third batch whose people
    share one company number queries that key once."""
    tenant = f"perf-dupb-{uuid.uuid4().hex[:8]}"
    token = stack.token(tenant, "admin-1", "admin")
    requests.get(f"{stack.api_url}/contacts", headers={"Authorization": f"Bearer {token}"}, timeout=120)  # defaults
    people = [_person(n) for n in range(ROUNDS)]
    new, none_found = _batch(stack, token, people)
    again, found = _batch(stack, token, [{**p, "email": p["email"].upper()} for p in people])
    shared = [
        {**_person(n), "email": f"q{n}@perf.example.fi", "phone": "09 123 4567"} for n in range(100, 100 + ROUNDS)
    ]
    office, _ = _batch(stack, token, shared)
    assert none_found == 0 and found == ROUNDS
    rows: list[tuple[str, ...]] = []
    for unit, calls in (
        ("batch item, no duplicate", new),
        ("batch item, a duplicate", again),
        ("batch item, one shared phone", office),
    ):
        per_item = sum(calls.values()) / ROUNDS
        rows.append((unit, f"{per_item:.2f}", f"Query {calls['dynamodb Query'] / ROUNDS:.2f}"))
        rows += [(f"  {call}", f"{n / ROUNDS:.2f}", "") for call, n in sorted(calls.items())]
        FIGURES.add("t. duplicates", f"AWS calls per {unit}", round(per_item, 2), "calls")
    assert office["dynamodb Query"] < new["dynamodb Query"] + ROUNDS  # the shared key: once, not per item
    print(
        render(f"(t) check in POST /contacts/batch of {ROUNDS}: AWS calls per item", rows, header=("unit", "calls", ""))
    )
