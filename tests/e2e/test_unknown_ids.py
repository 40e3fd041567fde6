"""Every route with a path id answers 404 to an id that does not exist and to another tenant's (issue 15, part 2).

Generated from every service's OpenAPI document: tenant A makes a record of each kind that has a
create operation (`POST <collection>` for `<collection>/{id}`); tenant B's admin then calls every
operation with a path id, once with ids that exist nowhere and once with A's ids, and must get 404
each time, never a 2xx, and A's records read the same afterwards. A parameter that names a
tenant's own thing rather than a record (a picklist's name, a year) keeps a literal value; a
user id is A's admin's. A new route or service is swept by existing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.helpers import new_tenant
from tests.e2e.openapi_ops import LITERALS, UNKNOWN, Operation, example, operations, required_query

if TYPE_CHECKING:
    from conftest import Api

OPERATIONS = operations()
CREATES = {op.path: op for op in OPERATIONS if op.method == "POST" and not op.path_parameters}
# Path parameters that name something of the caller's own tenant, not a record another tenant has.
NAMES = {"year", "name", "list_name", "feed", "entity"}
WITH_ID = [op for op in OPERATIONS if not op.public and any(p not in NAMES for p in op.path_parameters)]
A_USER = "a-admin-7f3"


def _collection(op: Operation, parameter: str) -> str:
    return op.path.split("/{" + parameter + "}")[0]


def _fill(op: Operation, ids: dict[str, str]) -> str:
    path = op.path
    for parameter in op.path_parameters:
        value = LITERALS.get(parameter, UNKNOWN) if parameter in NAMES else ids.get(_key(op, parameter), UNKNOWN)
        path = path.replace("{" + parameter + "}", value)
    return path


def _key(op: Operation, parameter: str) -> str:
    return "user" if parameter == "user_id" else _collection(op, parameter)


@pytest.fixture(scope="module")
def tenants(session_api: Api) -> dict[str, Any]:
    """Tenant A's admin and a record of every kind it can create at a top-level collection; tenant B's admin."""
    a = session_api.as_(new_tenant(), A_USER, "admin")
    ids: dict[str, str] = {"user": A_USER}
    for op in OPERATIONS:
        for parameter in op.path_parameters:
            collection = _collection(op, parameter)
            if collection in ids or collection not in CREATES or "{" in collection:
                continue
            create = CREATES[collection]
            schema = create.json_body
            response = a.post(collection, json=example(schema, create.document) if schema else None)
            if response.status_code == 201 and "id" in response.json():
                ids[collection] = str(response.json()["id"])
    b = session_api.as_(new_tenant(), "b-admin-7f3", "admin")
    return {"a": a, "b": b, "ids": ids}


def _snapshot(a: Api, ids: dict[str, str]) -> dict[str, Any]:
    taken = {}
    for collection, record_id in ids.items():
        if collection != "user":
            response = a.get(f"{collection}/{record_id}")
            body = response.json() if response.content else None
            if isinstance(body, dict):
                body.pop("correlation_id", None)  # each request's own id
            taken[collection] = (response.status_code, body)
    return taken


def test_routes_with_ids_are_swept() -> None:
    assert {op.service for op in WITH_ID} >= {"directory", "activities", "email", "sms", "webhooks", "scanner"}
    assert {"/tickets/{ticket_id}/replies", "/scanner/mailboxes/{mailbox_id}/rules/{rule_id}"} <= {
        op.path for op in WITH_ID
    }
    assert any(op.path == "/goals/{user_id}/{year}" and op.method == "PUT" for op in WITH_ID)


def test_unknown_and_other_tenants_ids_are_404(tenants: dict[str, Any]) -> None:
    a, b, ids = tenants["a"], tenants["b"], tenants["ids"]
    assert len(ids) >= 10, ids  # the creates worked: A's real ids are swept, not only unknown ones
    before = _snapshot(a, ids)
    wrong: list[str] = []
    order = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
    for op in sorted(WITH_ID, key=lambda o: order[o.method]):
        schema = op.json_body
        body = example(schema, op.document) if schema else None
        for label, known in (("unknown", {}), ("tenant A's", ids)):
            path = _fill(op, known)
            response = b.request(op.method, path, json=body, params=required_query(op))
            if response.status_code != 404:
                wrong.append(f"{op} with {label} ids ({path}) -> {response.status_code} {response.text[:160]}")
    assert _snapshot(a, ids) == before
    assert not wrong, "routes that did not answer 404:\n" + "\n".join(wrong)
