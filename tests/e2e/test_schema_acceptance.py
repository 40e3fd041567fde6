"""A request its service's OpenAPI document says is valid is accepted (schemathesis' positive data).

For every operation of a service's document, schemathesis generates requests that the document
says are valid (positive mode) and sends them through the running gateway as an admin of a tenant
of its own. Each must be accepted, or refused only for a reason a schema cannot know beforehand:

- 404: the path names a record that does not exist (the generated ids are random), or a thing the
  caller has none of yet (a calendar feed);
- 403: the tenant's settings refuse it (an earlier request may have changed the admin's
  contact-order permissions);
- 409: the request conflicts with what is stored (a name taken, a list full);
- 400/422 whose every error carries one of `LEGITIMATE` codes: a reference to a record or a tenant
  list item that does not exist (`not_found`, ...), a cursor the server did not issue, a rule
  across parameters or list items that JSON Schema cannot state and the document describes.

Anything else (a pattern, a length, a range, an enum, a required field, a null that a handler
refuses but the schema does not state) fails here with the operation, the request and the problem.
A service is covered by adding its name to SERVICES. A random path id is a 404 before a handler
reads the body, so a service may also name records to create first (SEEDS): the operations on
them (but deletes, closes and conversions) then run on those ids, and the rules a handler applies
to the body of an existing record are held to the document too.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.core.transport import Response

from infra.runtime import LocalRuntime
from tests.e2e.helpers import new_tenant

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Kontakt")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

SERVICES = ["activities"]
# Per operation: the 74 activities operations in ~30 s on a busy 2-core machine. A deeper run:
# KONTAKT_ACCEPTANCE_EXAMPLES=60 .venv/bin/pytest -p no:xdist tests/e2e/test_schema_acceptance.py
EXAMPLES = int(os.environ.get("KONTAKT_ACCEPTANCE_EXAMPLES", "4"))

# Problem error codes that refuse a schema-valid request for a reason the schema cannot state.
LEGITIMATE = {
    # what is stored: a referenced record or tenant list item is missing, inactive, in use, erased
    "not_found",
    "unknown_code",
    "inactive_code",
    "in_use",
    "contact_erased",
    "category_fixed",  # the stored CRM category does not let the kind or type be chosen
    "no_sales_target",  # the stored CRM category carries no sales target
    "total_too_large",  # a time entry would take the order's stored total over its maximum
    "not_event",  # the stored activity type is a task's
    "event_times",  # the stored activity type's kind decides which times an activity needs
    "task_times",
    # a cursor the server did not issue (it is signed; only a listing hands one out)
    "invalid_cursor",
    # rules across parameters or list items, described in the document
    "duplicate",  # a code (or key) twice in one list
    "ambiguous",  # a user and a group asked for at once
    "invalid_range",  # `to` before `from`
    "range_too_long",
    "in_past",  # a schedule time that has passed, by the server's clock
    "before_start",  # an end before its start
    "day_of_month",
}


def _seed_activities(api_url: str, headers: dict[str, str]) -> dict[str, str]:
    """An activity, a contact order (with a new customer) and a booking on it."""

    def post(path: str, body: dict[str, Any]) -> str:
        response = requests.post(api_url + path, json=body, headers=headers, timeout=30)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    times = {"start": "2030-01-07T09:00:00Z", "end": "2030-01-07T10:00:00Z"}
    activity_id = post("/activities", {"type": "call", "subject": "Seed", **times})
    order_id = post("/contact-orders", {"subject": "Seed", "new_customer": {"name": "Seed Oy"}})
    booking_id = post(f"/contact-orders/{order_id}/bookings", {"channel": "phone", "start": times["start"]})
    return {"activity_id": activity_id, "order_id": order_id, "booking_id": booking_id}


SEEDS: dict[str, Callable[[str, dict[str, str]], dict[str, str]]] = {"activities": _seed_activities}
ENDS_A_RECORD = ("DELETE", "/close", "/convert")  # these run on random ids: the seeds must live on


def _document(service: str) -> dict[str, Any]:
    app = importlib.import_module(f"services.{service}.handlers.api").app
    return dict(json.loads(app.get_openapi_json_schema()))


def _refusal(response: Response) -> str | None:
    """Why a response to a valid request is wrong, or None when it is an acceptable answer."""
    status = response.status_code
    if 200 <= status < 300 or status in (403, 404, 409):
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if status in (400, 422) and content_type.startswith("application/problem+json"):
        errors = response.json().get("errors") or []
        if errors and all(error.get("code") in LEGITIMATE for error in errors):
            return None
    return f"{status} {response.text[:600]}"


def _run(operation: Any, send: Callable[[Any], Response], refused: list[str], seeds: dict[str, str]) -> None:
    names = {parameter.name for parameter in operation.path_parameters}
    ends = any(part in operation.label for part in ENDS_A_RECORD)
    on_seeds = {name: value for name, value in seeds.items() if name in names and not ends}

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=on_seeds or None))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def each(case: Any) -> None:
        why = _refusal(send(case))
        if why:
            request = {"path": case.formatted_path, "query": case.query, "body": case.body}
            refused.append(f"{operation.label}: {why}\n    request: {json.dumps(request, default=str)[:600]}")

    each()


@pytest.mark.parametrize("service", SERVICES)
def test_valid_requests_are_accepted(stack: LocalRuntime, service: str) -> None:
    schema = schemathesis.openapi.from_dict(_document(service))
    headers = {"Authorization": "Bearer " + stack.token(new_tenant(), "acceptance-admin", "admin")}
    seeds = SEEDS[service](stack.api_url, headers) if service in SEEDS else {}
    refused: list[str] = []
    labels = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.add(operation.label)
        _run(operation, lambda case: case.call(base_url=stack.api_url, headers=headers, timeout=30), refused, seeds)
    assert labels, f"no operations in the {service} document"
    by_operation = sorted({line.split(":", 1)[0] for line in refused})
    assert not refused, (
        f"{len(by_operation)} {service} operations refuse requests their schema says are valid:\n"
        + "\n".join(by_operation)
        + "\n\n"
        + "\n".join(refused[:40])
    )
