"""A JSON body that is not the documented type is a 422 naming `body`, on every route that takes one (issue 15, part 2).

Generated from every service's OpenAPI document: each operation with a JSON request body gets an
array of two bodies of its schema, a string, a number and `null`, and must answer 422 with an
error naming `body`, creating and changing nothing. A new route or service is swept by existing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tests.e2e.helpers import assert_problem, field_names, new_tenant, ok
from tests.e2e.openapi_ops import example, operations, required_query, url

if TYPE_CHECKING:
    from conftest import Api

OPERATIONS = operations()
WITH_BODY = [op for op in OPERATIONS if op.json_body is not None]
# Lists a body could have added to: every GET of a collection with no path or required query parameter,
# but the audit trail: a log filled after the fact, which the lists' own first reads add to (a new
# tenant's defaults, installed on first use, are recorded as they arrive).
LOGS = {"/audit"}
LISTS = [
    op
    for op in OPERATIONS
    if op.method == "GET" and not op.path_parameters and not required_query(op) and op.path not in LOGS
]


def _send(api: Api, method: str, path: str, body: Any) -> Any:
    return api.request(method, path, data=json.dumps(body), headers={"Content-Type": "application/json"})


def _lists(api: Api) -> dict[str, Any]:
    taken = {}
    for op in LISTS:
        response = api.get(op.path)
        if response.status_code == 200 and "json" in response.headers.get("content-type", ""):
            taken[op.path] = response.json()
    return taken


def test_every_body_is_swept() -> None:
    assert {op.service for op in WITH_BODY} >= {"directory", "activities", "email"}
    assert len(WITH_BODY) >= 50
    assert any(op.path == "/accounts" and op.method == "POST" for op in WITH_BODY)


def test_two_accounts_in_an_array_create_none(session_api: Api) -> None:
    admin = session_api.as_(new_tenant(), "admin-1", "admin")
    response = _send(admin, "POST", "/accounts", [{"name": "First Oy"}, {"name": "Second Oy"}])
    assert_problem(response, 422, "body")
    assert ok(admin.get("/accounts"))["items"] == []


def test_a_body_of_another_type_is_422_naming_body_on_every_route(session_api: Api) -> None:
    admin = session_api.as_(new_tenant(), "admin-1", "admin")
    before = _lists(admin)
    wrong: list[str] = []
    for op in WITH_BODY:
        schema = op.json_body
        assert schema is not None
        one = example(schema, op.document)
        for body in ([one, one], "x", 1, None):
            response = _send(admin, op.method, url(op), body)
            names = field_names(response) if "json" in response.headers.get("content-type", "") else []
            if response.status_code != 422 or "body" not in names:
                wrong.append(f"{op} with {json.dumps(body)[:60]} -> {response.status_code} {response.text[:200]}")
    assert not wrong, "bodies of the wrong type not refused as 422 naming body:\n" + "\n".join(wrong)
    assert _lists(admin) == before
