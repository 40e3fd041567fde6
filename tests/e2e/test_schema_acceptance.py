"""A request its service's OpenAPI document says is valid is accepted (schemathesis' positive data).

For every operation of every service's document (`infra.docs.api_services()`: a new service is
covered by existing), schemathesis generates requests that the document says are valid (positive
mode) and sends them through the running gateway as an admin of a tenant of its own. Each must be
accepted, or refused only for a reason a schema cannot know beforehand:

- 404: the path names a record that does not exist (the generated ids are random), or a thing the
  caller has none of yet (a calendar feed);
- 403: the tenant's settings refuse it (an earlier request may have changed the admin's
  contact-order permissions);
- 409: the request conflicts with what is stored (a name taken, a version, a state);
- 412: its `If-Match` names a version the record is not at (a generated entity tag);
- 400/422 whose every error carries one of `LEGITIMATE` codes, or names a value only the server
  issues (`SERVER_ISSUED`): rules on stored data, the clock, the template language, DNS, and rules
  across fields, parameters or list items that JSON Schema cannot state and the document describes.

Anything else (a pattern, a length, a range, an enum, a required field, a null that a handler
refuses but the schema does not state) fails here with the operation, the request and the problem.
A random path id is a 404 before a handler reads the body, so a service names records to create
first (SEEDS): the operations on them (but deletes and state commands) then run on those ids, and
the rules a handler applies to the body of an existing record are held to the document too.
A deeper run: KONTAKT_ACCEPTANCE_EXAMPLES=40 .venv/bin/pytest -p no:xdist tests/e2e/test_schema_acceptance.py
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.core.transport import Response

from infra import docs
from infra.runtime import LocalRuntime
from tests.e2e.helpers import new_tenant

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Kontakt")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

SERVICES = docs.api_services()
EXAMPLES = int(os.environ.get("KONTAKT_ACCEPTANCE_EXAMPLES", "4"))  # per operation

# Problem error codes that refuse a schema-valid request for a reason the schema cannot state.
LEGITIMATE = {
    # what is stored: a referenced record or tenant list item is missing, inactive, in use, erased
    "not_found",
    "unknown_target_group",  # a target group the service's projection does not have (shared/target_groups.py)
    "unknown_code",
    "inactive_code",
    "in_use",
    "contact_erased",
    "forbidden_header",  # a webhook endpoint's custom header Kontakt sets itself (the schema describes them)
    "category_fixed",  # the stored CRM category does not let the kind or type be chosen
    "no_sales_target",  # the stored CRM category carries no sales target
    "total_too_large",  # a time entry would take the order's stored total over its maximum
    "reused",  # an Idempotency-Key sent before with another request (the generator repeats keys)
    "not_event",  # the stored activity type is a task's
    "event_times",  # the stored activity type's kind decides which times an activity needs
    "task_times",
    "unverified_identity",  # SES has not verified the From address
    "unknown_time_zone",  # a name of the documented form that the tz database (tzdata) lacks
    # outside state: DNS (a mail server's or webhook endpoint's name resolving to a refused address, or to none)
    "outbound_refused",
    "unresolvable_host",
    "http_not_allowed",  # a webhook endpoint's http URL while the tenant's settings allow https only
    "currency_fixed",  # an active sales order's currency (its status is stored)
    "fixed",  # an active sales order's customer
    "check_digit",  # an IBAN's, a business id's check digits (described on the fields)
    "not_a_network",  # an IP address or CIDR block of the documented form that `ipaddress` refuses (an octet > 255)
    "invalid_permission",  # an API key's permission naming no resource, action or route of the API (described)
    "locks_out",  # IP rules that would refuse the admin's own address (the caller's IP: outside state)
    # the clock
    "in_past",
    "past",
    # a cursor the server did not issue (it is signed; only a listing hands one out)
    "invalid_cursor",
    # the template language: Jinja syntax and the sandbox's bounds, described on the template models
    "invalid_template",
    "render_failed",
    "render_limit",
    # rules across fields, parameters or list items, described in the document
    "duplicate",  # a code (or key) twice in one list
    "duplicate_field",  # an import maps a field twice
    "added_and_removed",  # a target group's member both added and removed
    "ambiguous",  # a user and a group asked for at once
    "invalid_range",  # `to` before `from`
    "range_too_long",
    "before_start",  # an end before its start
    "day_of_month",
    "unsupported_combination",  # a list's filters, sort and `ids` taken one at a time (its description)
    "header_required",  # a scanner rule's condition names a header exactly when its field is `header`
    # a scanner rule's regular expression the engine refuses (compiled at save; described on the field)
    "invalid_pattern",
    # a workflow's trigger and conditions name fields of its entity, `field`/`to`/`from` only with field_changed,
    # `to`/`from` a value of its field, SMS for contacts only, a set field one of its entity and a value of its
    # kind, not cleared when required, one delay, a date field of its entity
    # (services/workflows/domain/workflows.py)
    "field_of_entity",
    "field_changed_only",
    "value_of_field",
    "not_in_workflows",
    "contacts_only",
    "not_settable",
    "not_clearable",
    "one_delay",
    "date_field",
    # duplicate-matching rules: a method the field does not take, more matched fields than compared
    # (services/directory/matching/rules.py, described on the rules), and a country code of the
    # documented form that no numbering plan has (phonenumbers)
    "method_not_allowed",
    "above_fields_compared",
    "unknown_country",
    # a merge: its survivor among the merged ids, a field taken from a record not in the merge (rules
    # across fields, described), a record merged already or erased (stored state)
    "survivor_merged",
    "not_merged",
    "merged",
    "erased",
}
# A change is refused by what it makes of the stored record: a contact left without a name, a user
# joining and leaving more groups than one transaction holds (on create, both are in the schema).
CHANGE_ONLY = {"name_required", "too_many"}
SERVER_ISSUED = {"query.cursor", "path.token"}  # signed values only the server hands out
# Operations that end a record or change its state run on generated ids: the seeds must live on.
COMMANDS = {"send", "schedule", "pause", "resume", "cancel", "erase", "attachments", "confirm", "close", "convert"}

Seeds = dict[tuple[str, str], str]  # (the path before the id, the id's parameter) -> a record's id
Post = Callable[[str, dict[str, Any]], str]


def _seed_activities(post: Post) -> Seeds:
    """An activity, a contact order (with a new customer) and a booking on it."""
    times = {"start": "2030-01-07T09:00:00Z", "end": "2030-01-07T10:00:00Z"}
    order = post("/contact-orders", {"subject": "Seed", "new_customer": {"name": "Seed Oy"}})
    return {
        ("/activities", "activity_id"): post("/activities", {"type": "call", "subject": "Seed", **times}),
        ("/contact-orders", "order_id"): order,
        ("/contact-orders/{order_id}/bookings", "booking_id"): post(
            f"/contact-orders/{order}/bookings", {"channel": "phone", "start": times["start"]}
        ),
    }


def _seed_directory(post: Post) -> Seeds:
    kind = post("/classification-types", {"name": "Lists"})
    contact = post("/contacts", {"first_name": "Aino", "email": "aino@example.fi"})
    return {
        ("/accounts", "account_id"): post("/accounts", {"name": "A Oy"}),
        ("/contacts", "contact_id"): contact,
        ("/users", "user_id"): post("/users", {"email": "sam@example.fi", "name": "Sam"}),
        ("/groups", "group_id"): post("/groups", {"name": "Sales"}),
        ("/classification-types", "type_id"): kind,
        ("/classes", "class_id"): post("/classes", {"name": "Spring", "classification_type_id": kind}),
        ("/target-groups", "group_id"): post("/target-groups", {"name": "Mine", "contact_ids": [contact]}),
        ("/imports", "import_id"): post("/imports", {"kind": "contacts", "mapping": {"Email": "email"}}),
    }


def _seed_email(post: Post) -> Seeds:
    contact = post("/contacts", {"first_name": "Eino", "email": "eino@example.fi"})
    group = post("/target-groups", {"name": "Mailed", "contact_ids": [contact]})
    template = post("/email/templates", {"name": "Hello", "subject": "Hi", "html": "<p>Hi</p>", "text": "Hi"})
    list_type = post("/email/list-types", {"name": "News"})
    campaign = {"name": "Spring", "template_id": template, "list_type_id": list_type}
    automation = {
        "name": "Weekly",
        "template_id": template,
        "list_type_id": list_type,
        "target_group_id": group,
        "schedule": {"mode": "rate", "expression": "rate(7 days)"},
    }
    return {
        ("/email/templates", "template_id"): template,
        ("/email/list-types", "list_type_id"): list_type,
        ("/campaigns", "campaign_id"): post("/campaigns", {**campaign, "automatic_template_id": template}),
        ("/email/automations", "automation_id"): post("/email/automations", automation),
    }


def _seed_webhooks(post: Post) -> Seeds:
    return {("/webhooks/endpoints", "endpoint_id"): post("/webhooks/endpoints", {"url": "https://hooks.example.com/"})}


def _seed_scanner(post: Post) -> Seeds:
    """A mailbox (its address unique in the stack: one mailbox per address) and a rule of it."""
    owner = {"type": "user", "id": "admin-1"}
    address = f"seed-{new_tenant()}@support.example.fi"
    mailbox = post("/scanner/mailboxes", {"address": address, "name": "Seed", "owner": owner})
    return {
        ("/scanner/mailboxes", "mailbox_id"): mailbox,
        ("/scanner/mailboxes/{mailbox_id}/rules", "rule_id"): post(
            f"/scanner/mailboxes/{mailbox}/rules", {"name": "Seed"}
        ),
    }


def _seed_invoicing(post: Post) -> Seeds:
    """A product, a customer (an account of the directory, projected by invoicing's consumer), its
    price list and a sales order; the standard tax class every tenant has."""
    product = post("/products", {"code": "seed", "name": "Seed", "unit_price": "10"})
    account = post("/accounts", {"name": "Seed Oy"})
    line = {"product_id": product, "quantity": "1"}
    order = ""
    for attempt in range(20):  # the account's event reaches invoicing in a moment (it waits 3 s itself)
        try:
            order = post("/sales-orders", {"account_id": account, "start_date": "2026-01-31", "lines": [line]})
            break
        except AssertionError:
            if attempt == 19:
                raise
            time.sleep(1)
    return {
        ("/products", "product_id"): product,
        ("/tax-classes", "code"): "standard",
        ("/invoicing/customers", "account_id"): account,
        ("/price-lists", "price_list_id"): post("/price-lists", {"account_id": account, "name": "Seed"}),
        ("/sales-orders", "order_id"): order,
    }


SEEDS: dict[str, Callable[[Post], Seeds]] = {
    "activities": _seed_activities,
    "directory": _seed_directory,
    "email": _seed_email,
    "webhooks": _seed_webhooks,
    "scanner": _seed_scanner,
    "invoicing": _seed_invoicing,
}


def _document(service: str) -> dict[str, Any]:
    """The service's document without its security requirements: every request carries the test's
    own bearer token, so a generated Authorization value (which it replaced) only made examples that
    were the same request. The text is the one the process has (`docs.openapi_text`: every test worker
    renders each at collection, for tests/e2e/test_schemathesis.py), not generated again."""
    document = dict(json.loads(docs.openapi_text(service)))
    document.pop("security", None)
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    return document


def _refusal(method: str, response: Response) -> str | None:
    """Why a response to a valid request is wrong, or None when it is an acceptable answer."""
    status = response.status_code
    if 200 <= status < 300 or status in (403, 404, 409, 412):
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if status in (400, 422) and content_type.startswith("application/problem+json"):
        errors = response.json().get("errors") or []
        codes = LEGITIMATE | CHANGE_ONLY if method == "PATCH" else LEGITIMATE
        if errors and all(e.get("code") in codes or e.get("field") in SERVER_ISSUED for e in errors):
            return None
    return f"{status} {response.text[:600]}"


def _on_seeds(operation: Any, seeds: Seeds) -> dict[str, str]:
    """The seeded ids of the records the operation's path names, unless it ends or moves one."""
    path = operation.path
    if operation.method.upper() == "DELETE" or path.rstrip("/").rsplit("/", 1)[-1] in COMMANDS:
        return {}
    return {name: value for (prefix, name), value in seeds.items() if path.startswith(prefix + "/{" + name + "}")}


def _run(operation: Any, send: Callable[[Any], Response], refused: list[str], seeds: Seeds) -> None:
    on_seeds = _on_seeds(operation, seeds)
    sent: set[str] = set()

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
        request = {"path": case.formatted_path, "query": case.query, "body": case.body, "headers": case.headers}
        key = json.dumps(request, default=str, sort_keys=True)
        if key in sent:  # an example drawn again (a small input space): the same request, the same answer
            return
        sent.add(key)
        why = _refusal(operation.method.upper(), send(case))
        if why:
            del request["headers"]
            refused.append(f"{operation.label}: {why}\n    request: {json.dumps(request, default=str)[:600]}")

    each()


@pytest.mark.parametrize("service", SERVICES)
def test_valid_requests_are_accepted(stack: LocalRuntime, service: str) -> None:
    schema = schemathesis.openapi.from_dict(_document(service))
    headers = {"Authorization": "Bearer " + stack.token(new_tenant(), "acceptance-admin", "admin")}

    def post(path: str, body: dict[str, Any]) -> str:
        response = requests.post(stack.api_url + path, json=body, headers=headers, timeout=60)
        assert response.status_code == 201, f"{path}: {response.text}"
        return str(response.json()["id"])

    seeds = SEEDS[service](post) if service in SEEDS else {}
    session = requests.Session()  # one connection for the operations' requests, not one each
    refused: list[str] = []
    labels = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.add(operation.label)
        _run(
            operation,
            lambda case: case.call(base_url=stack.api_url, session=session, headers=headers, timeout=30),
            refused,
            seeds,
        )
    assert labels, f"no operations in the {service} document"
    by_operation = sorted({line.split(":", 1)[0] for line in refused})
    assert not refused, (
        f"{len(by_operation)} {service} operations refuse requests their schema says are valid:\n"
        + "\n".join(by_operation)
        + "\n\n"
        + "\n".join(refused[:40])
    )
