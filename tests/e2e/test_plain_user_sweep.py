"""Every operation of every service's OpenAPI document, called by a plain user who owns nothing,
against the ids of records an admin owns (issue 14, section 1).

No response may carry the admin's records' data (the marker values below), and afterwards the
admin reads every record as it was. The operations come from the apps' own documents, so a new
route is swept without editing this test: its path parameters are filled by name (an id of the
admin's record of that kind, or an unknown id), its body is built from its schema with the admin's
ids in every `*_id` field. Public token routes (`/t/{token}`, `/u/{token}`) carry no identity.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest
import requests

from infra.runtime import LocalRuntime
from tests.e2e.helpers import created, drain, new_tenant
from tests.e2e.openapi_ops import Operation, operations, resolve

if TYPE_CHECKING:
    from conftest import Api

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Kontakt")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

MARKERS = ("Zekretfirst", "zekret@hidden.example.com", "Zekretcorp", "+358401234567")
UNKNOWN = "01JUNKNOWNID00000000000000"
PREFERRED = ("owner", "name", "first_name", "subject", "department", "contact_ids", "add")


OPERATIONS = [op for op in operations() if not op.public]


@pytest.fixture(scope="module")
def seeded(session_api: Api, stack: LocalRuntime) -> dict[str, Any]:
    """An admin's records of every kind (with the marker values), and a plain user who owns nothing."""
    tenant = new_tenant()
    admin = session_api.as_(tenant, "admin-1", "admin")
    ids: dict[str, str] = {}
    ids["account"] = created(admin.post("/accounts", json={"name": "Zekretcorp Oy", "phone": "+358401234567"}))["id"]
    ids["contact"] = created(
        admin.post(
            "/contacts",
            json={"first_name": "Zekretfirst", "email": "zekret@hidden.example.com", "account_id": ids["account"]},
        )
    )["id"]
    ids["target_group"] = created(
        admin.post(
            "/target-groups",
            json={
                "name": "Admin's",
                "contact_ids": [ids["contact"]],
                "conditions": [{"field": "first_name", "op": "not_equals", "value": "x"}],
            },
        )
    )["id"]
    ids["group"] = created(admin.post("/groups", json={"name": "Admins"}))["id"]
    ids["user"] = created(admin.post("/users", json={"email": "boss@x.example.fi", "name": "Boss"}))["id"]
    ids["classification_type"] = created(admin.post("/classification-types", json={"name": "Lists"}))["id"]
    ids["class"] = created(admin.post("/classes", json={"name": "Spring"}))["id"]
    ids["import"] = created(admin.post("/imports", json={"kind": "contacts", "mapping": {"Email": "email"}}))["id"]
    template = {
        "name": "T",
        "subject": "Hi {{ contact.first_name }}",
        "html": "<p>{{ contact.email }}</p>",
        "text": "x",
    }
    ids["template"] = created(admin.post("/email/templates", json=template))["id"]
    ids["campaign"] = created(
        admin.post(
            "/campaigns",
            json={
                "name": "C",
                "template_id": ids["template"],
                "list_type_id": "marketing",
                "target_group_id": ids["target_group"],
            },
        )
    )["id"]
    drain(stack, busy_ok=True)  # the email and activities projections hear of the contact
    user = session_api.as_(tenant, "nobody-1", "user")
    return {"admin": admin, "user": user, "ids": ids}


SNAPSHOT = {
    "account": "/accounts/{account}",
    "contact": "/contacts/{contact}",
    "target_group": "/target-groups/{target_group}",
    "import": "/imports/{import}",
    "template": "/email/templates/{template}",
    "campaign": "/campaigns/{campaign}",
    "user": "/users/{user}",
}

BY_NAME = {
    "account_id": "account",
    "contact_id": "contact",
    "import_id": "import",
    "template_id": "template",
    "campaign_id": "campaign",
    "user_id": "user",
    "class_id": "class",
    "type_id": "classification_type",
    "classification_type_id": "classification_type",
    "target_group_id": "target_group",
    "account_manager_id": "user",
}
LITERALS = {
    "list_type_id": "marketing",
    "name": "region",
    "entity": "contacts",
    "year": "2026",
    "from": "2026-01-01",
    "to": "2026-12-31",
}


def _id_for(name: str, path: str, ids: dict[str, str]) -> str:
    if name == "group_id":
        return ids["target_group"] if "target-groups" in path else ids["group"]
    if name in BY_NAME:
        return ids[BY_NAME[name]]
    return LITERALS.get(name, UNKNOWN)


def _value(name: str, schema: dict[str, Any], document: dict[str, Any], ids: dict[str, str], depth: int = 0) -> Any:
    schema = resolve(schema, document)
    if name in ("owner", "assignee"):
        return {"type": "user", "id": "nobody-1"}
    if name == "contact_ids" or name == "add":
        return [ids["contact"]]
    if name.endswith("_id") and name != "list_type_id":
        return _id_for(name, "", ids)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if resolve(o, document).get("type") != "null"]
            if options:
                return _value(name, options[0], document, ids, depth)
            return None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return _body(schema, document, ids, patch=False, depth=depth + 1) if depth < 4 else {}
    if kind == "array":
        return []
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if name == "email" or schema.get("format") == "email":
        return "sweep@example.com"
    if schema.get("format") == "date":
        return "2026-06-01"
    if schema.get("format") == "date-time":
        return "2030-06-01T10:00:00Z"
    return LITERALS.get(name, "Sweep")


def _body(schema: dict[str, Any], document: dict[str, Any], ids: dict[str, str], patch: bool, depth: int = 0) -> Any:
    schema = resolve(schema, document)
    properties = schema.get("properties") or {}
    names = list(schema.get("required") or [])
    if patch or not names:
        names += [n for n in PREFERRED if n in properties and n not in names] or list(properties)[:1]
    names += [n for n in properties if (n.endswith("_id") or n.endswith("_ids")) and n not in names]
    return {n: _value(n, properties[n], document, ids, depth) for n in names if n in properties}


def _request(op: Operation, ids: dict[str, str], own: dict[str, str] | None = None) -> tuple[str, dict[str, Any]]:
    """The operation's URL and arguments; `own`: ids of the user's own records by collection path,
    used for the path parameter that follows that collection."""
    path, document = op.path, op.document
    url, params = path, {}
    for parameter in op.operation.get("parameters", []):
        value = _id_for(parameter["name"], path, ids)
        collection = path.split("/{" + parameter["name"] + "}")[0]
        if own and parameter["in"] == "path" and collection in own:
            value = own[collection]
        if parameter["in"] == "path":
            url = url.replace("{" + parameter["name"] + "}", value)
        elif parameter["in"] == "query" and (parameter.get("required") or parameter["name"].endswith("_id")):
            params[parameter["name"]] = value
    kwargs: dict[str, Any] = {"params": params}
    if op.json_body is not None:
        kwargs["json"] = _body(op.json_body, document, ids, patch=op.method == "PATCH")
    return url, kwargs


def _snapshot(admin: Api, ids: dict[str, str]) -> dict[str, Any]:
    taken = {}
    for name, template in SNAPSHOT.items():
        response = admin.get(template.format(**ids))
        taken[name] = (response.status_code, response.json())
    return taken


def test_operations_are_swept() -> None:
    assert {op.service for op in OPERATIONS} >= {"directory", "activities", "email"}
    assert len(OPERATIONS) > 100


def test_a_plain_user_sees_and_changes_nothing_of_others(seeded: dict[str, Any]) -> None:
    admin, user, ids = seeded["admin"], seeded["user"], seeded["ids"]
    before = _snapshot(admin, ids)
    leaks: list[str] = []
    errors: list[str] = []
    own: dict[str, str] = {}  # the records the user made: collection path -> id

    def call(op: Operation, mine: dict[str, str] | None = None) -> None:
        url, kwargs = _request(op, ids, mine)
        response: requests.Response = user.request(op.method, url, **kwargs)
        found = [m for m in MARKERS if m.casefold() in response.text.casefold()]
        if found:
            leaks.append(f"{op} ({url}) -> {response.status_code}: {found}")
        if response.status_code >= 500:
            errors.append(f"{op} ({url}) -> {response.status_code}")
        if op.method == "POST" and response.status_code == 201 and "{" not in op.path:
            own.setdefault(op.path, str(response.json().get("id")))

    # Reads first, deletes last, so that no delete hides what a later read would show.
    order = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 2, "DELETE": 3}
    for op in sorted(OPERATIONS, key=lambda o: order[o.method]):
        call(op)
    # Then every read and action on the user's own records, which name the admin's where they could.
    for op in OPERATIONS:
        if op.method != "DELETE" and any(op.path.startswith(collection + "/{") for collection in own):
            call(op, own)
    after = _snapshot(admin, ids)
    assert not leaks, "responses that carry another owner's data:\n" + "\n".join(leaks)
    changed = [name for name in SNAPSHOT if before[name] != after[name]]
    assert not changed, {name: (before[name], after[name]) for name in changed}
    assert not errors, errors
