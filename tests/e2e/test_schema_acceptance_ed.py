"""Every request the email and directory documents call valid is one the server takes.

Schemathesis generates positive requests only (valid by the operation's schema) and checks
`positive_data_acceptance`: the answer is 2xx, or 404/409 (a generated id names no record, a
record in another state), never a 400/422 for a rule the handler enforces and the schema does
not state. The requests run as the admin of a tenant of their own.

What a schema cannot state stays a server rule and is let through here only by its problem
`code` (every error of the problem must be one of these), so a new unstated rule still fails:

- rules on stored data: a referenced record must exist (`not_found`), a picklist code must be an
  active item of the tenant's list (`unknown_code`, `inactive_code`), SES must have the From
  address as a verified identity (`unverified_identity`); on PATCH only, a change leaves a
  contact a name (`name_required`) and changes at most 32 of a user's groups (`too_many`) (on
  create both are in the schema);
- rules on the clock: a send time or a schedule's end in the future (`past`, `in_past`);
- values only the server issues: a list cursor (`query.cursor`) and a tracking link's token
  (`path.token`), both signed;
- the template language: Jinja syntax and the sandbox's bounds (`invalid_template` when saved,
  `render_failed`, `render_limit` on a preview), described on the template models;
- a mail server the outbound guard refuses: a name that resolves to a private, link-local or
  unspecified address (`outbound_refused`), which depends on DNS;
- cross-item and cross-field rules JSON Schema cannot say, stated in the schema's descriptions:
  picklist codes unique within the list (`duplicate`), an import mapping's fields each mapped
  once (`duplicate_field`), a target group's members not both added and removed
  (`added_and_removed`), a schedule's end after its start (`before_start`), a monthly
  schedule's start day 1-28 in its own time zone (`day_of_month`).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from infra.runtime import LocalRuntime
from tests.e2e.helpers import created, new_tenant

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Kontakt")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

from services.directory.handlers.api import app as directory_app
from services.email.handlers.api import app as email_app

# Positive cases only; the coverage phase's boundary cases (hundreds on the larger bodies) are left
# out to keep the test quick: the fuzzing phase's examples find the same unstated rules.
POSITIVE = SchemathesisConfig.from_dict(
    {"generation": {"mode": "positive"}, "phases": {"coverage": {"enabled": False}}}
)
directory = schemathesis.openapi.from_dict(json.loads(directory_app.get_openapi_json_schema()), config=POSITIVE)
email = schemathesis.openapi.from_dict(json.loads(email_app.get_openapi_json_schema()), config=POSITIVE)

STATE_CODES = frozenset(
    {
        "not_found",
        "unknown_code",
        "inactive_code",
        "unverified_identity",
        "past",
        "in_past",
        "duplicate",
        "duplicate_field",
        "added_and_removed",
        "invalid_template",
        "render_failed",
        "render_limit",
        "outbound_refused",
        "before_start",
        "day_of_month",
    }
)
SERVER_ISSUED = frozenset({"query.cursor", "path.token"})
# A change is refused by what it changes in the stored record: a contact left without a name, a
# user joining and leaving more groups than one transaction holds.
CHANGE_CODES = STATE_CODES | {"name_required", "too_many"}


def _state_rule(case: Any, response: Any) -> bool:
    """Whether a refusal names only rules on stored data, the clock or server-issued values."""
    if response.status_code not in (400, 422):
        return False
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return False
    codes = CHANGE_CODES if case.method.upper() == "PATCH" else STATE_CODES
    return bool(errors) and all(e.get("code") in codes or e.get("field") in SERVER_ISSUED for e in errors)


@pytest.fixture(scope="session")
def admin_auth(stack: LocalRuntime) -> dict[str, str]:
    return {"Authorization": "Bearer " + stack.token(new_tenant(), "acceptance-admin", "admin")}


@pytest.fixture(scope="session")
def records(stack: LocalRuntime, admin_auth: dict[str, str]) -> dict[tuple[str, str], str]:
    """One record of each kind, by (the path before the id, the id's parameter): reads, changes
    and sub-resources name it, so a body is checked against a record that exists (a generated id
    names none, and a 404 would hide the handler's rules on the body)."""
    api = requests.Session()
    api.headers.update(admin_auth)

    def new(path: str, body: dict[str, Any]) -> str:
        return str(created(api.post(stack.api_url + path, json=body, timeout=60))["id"])

    kind = new("/classification-types", {"name": "Lists"})
    contact = new("/contacts", {"first_name": "Aino", "email": "aino@example.fi"})
    group = new("/target-groups", {"name": "Mine", "contact_ids": [contact]})
    template = new("/email/templates", {"name": "Hello", "subject": "Hi", "html": "<p>Hi</p>", "text": "Hi"})
    list_type = new("/email/list-types", {"name": "News"})
    by_path = {
        ("/accounts", "account_id"): new("/accounts", {"name": "A Oy"}),
        ("/contacts", "contact_id"): contact,
        ("/users", "user_id"): new("/users", {"email": "sam@example.fi", "name": "Sam"}),
        ("/groups", "group_id"): new("/groups", {"name": "Sales"}),
        ("/classification-types", "type_id"): kind,
        ("/classes", "class_id"): new("/classes", {"name": "Spring", "classification_type_id": kind}),
        ("/target-groups", "group_id"): group,
        ("/imports", "import_id"): new("/imports", {"kind": "contacts", "mapping": {"Email": "email"}}),
        ("/email/templates", "template_id"): template,
        ("/email/list-types", "list_type_id"): list_type,
        ("/campaigns", "campaign_id"): new(
            "/campaigns",
            {"name": "Spring", "template_id": template, "list_type_id": list_type, "automatic_template_id": template},
        ),
        ("/email/automations", "automation_id"): new(
            "/email/automations",
            {
                "name": "Weekly",
                "template_id": template,
                "list_type_id": list_type,
                "target_group_id": group,
                "schedule": {"mode": "rate", "expression": "rate(7 days)"},
            },
        ),
    }
    return by_path


# Commands that change a record's state (or delete it) keep their generated ids.
COMMANDS = frozenset({"send", "schedule", "pause", "resume", "cancel", "erase", "attachments", "confirm"})


def _on_records(case: Any, records: dict[tuple[str, str], str]) -> None:
    path = case.operation.path
    if case.method.upper() == "DELETE" or path.rstrip("/").rsplit("/", 1)[-1] in COMMANDS:
        return
    for (prefix, name), record_id in records.items():
        if path.startswith(prefix + "/{" + name + "}"):
            case.path_parameters = {**(case.path_parameters or {}), name: record_id}


def _accepted(case: Any, stack: LocalRuntime, auth: dict[str, str], records: dict[tuple[str, str], str]) -> None:
    _on_records(case, records)
    response = case.call(base_url=stack.api_url, headers=auth, timeout=30)
    if _state_rule(case, response):
        return
    case.validate_response(response, checks=[positive_data_acceptance])


@directory.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_directory_accepts_what_its_schema_allows(
    case: Any, stack: LocalRuntime, admin_auth: dict[str, str], records: Any
) -> None:
    _accepted(case, stack, admin_auth, records)


@email.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_email_accepts_what_its_schema_allows(
    case: Any, stack: LocalRuntime, admin_auth: dict[str, str], records: Any
) -> None:
    _accepted(case, stack, admin_auth, records)
