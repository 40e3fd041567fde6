"""Headers and answers a client codes against, through the local gateway as a client sees them:
problem+json for unknown paths and wrong methods (405 with `Allow`), `Location` on every 201,
a request id on every answer, 204 for a DELETE, CORS exposing the headers a script reads."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import new_tenant
from tests.e2e.openapi_ops import UNKNOWN, example, operations

PROBLEM = "application/problem+json"
CALL = {"type": "call", "subject": "Call", "start": "2030-06-01T10:00:00Z", "end": "2030-06-01T10:30:00Z"}
OPERATIONS = operations()


@pytest.fixture(scope="module")
def admin(session_api: Api) -> Api:
    return session_api.as_(new_tenant(), "admin-1", "admin")


def _problem(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].split(";")[0] == PROBLEM, response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"] and body["title"] and body["code"]
    return body


# ------------------------------------------------------------------------ unknown paths, wrong methods


@pytest.mark.parametrize("path", ["/nope", "/", "/accountz/1", "/email/nope", "/devices"])
@pytest.mark.parametrize("signed_in", [False, True])
def test_an_unknown_path_is_a_404_problem(admin: Api, path: str, signed_in: bool) -> None:
    client = admin if signed_in else admin.anonymous()
    body = _problem(client.get(path), 404)
    assert body["instance"] == path


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/accounts", {"GET", "POST"}),
        ("POST", "/email/templates/01JUNKNOWNID00000000000000", {"GET", "PATCH", "DELETE"}),
        ("DELETE", "/openapi.json", {"GET"}),  # a public route: no login needed to learn it
        ("POST", "/t/x", {"GET"}),
        ("POST", "/email/openapi.json", {"GET"}),
    ],
)
def test_a_wrong_method_on_a_known_path_is_a_405_problem_with_allow(
    admin: Api, method: str, path: str, allowed: set[str]
) -> None:
    body = _problem(admin.request(method, path, json={}), 405)
    assert {m.strip() for m in admin.request(method, path).headers["Allow"].split(",")} >= allowed
    assert method in body["detail"]


def test_every_documented_path_answers_405_to_a_method_it_does_not_take(admin: Api) -> None:
    """From the OpenAPI documents: each path, one method no documented route takes there."""
    templates: dict[str, set[str]] = {}
    for operation in OPERATIONS:
        templates.setdefault(operation.path, set()).add(operation.method)
    patterns = [(re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p))), m) for p, m in templates.items()]
    checked = 0
    for path in sorted(templates):
        concrete = re.sub(r"\{[^}]+\}", "x" if "{token}" in path else UNKNOWN, path)
        allowed = set().union(*(methods for pattern, methods in patterns if pattern.fullmatch(concrete)))
        wrong = next((m for m in ("PUT", "PATCH", "DELETE", "POST", "GET") if m not in allowed), None)
        if wrong is None:
            continue
        response = admin.request(wrong, concrete)
        _problem(response, 405)
        assert set(response.headers["Allow"].replace(" ", "").split(",")) == allowed, path
        checked += 1
    assert checked > 50


# ------------------------------------------------------------------------------------- request ids


def test_every_answer_carries_a_request_id_that_problems_quote(admin: Api) -> None:
    ok = admin.get("/accounts")
    assert ok.status_code == 200 and ok.headers["X-Request-Id"]
    missing = admin.get(f"/accounts/{UNKNOWN}")
    body = _problem(missing, 404)
    assert body["correlation_id"] == missing.headers["X-Request-Id"] != ok.headers["X-Request-Id"]
    assert missing.headers["X-Request-Id"] == missing.headers["Apigw-Requestid"]  # API Gateway's id
    unknown = admin.anonymous().get("/nope")
    assert _problem(unknown, 404)["correlation_id"] == unknown.headers["X-Request-Id"]


def test_a_valid_client_request_id_is_echoed_and_logged(admin: Api, stack: LocalRuntime) -> None:
    sent = "client-trace.0042:abc"
    response = admin.get(f"/contacts/{UNKNOWN}", headers={"X-Request-Id": sent})
    assert response.headers["X-Request-Id"] == sent
    assert _problem(response, 404)["correlation_id"] == sent
    created = admin.post("/accounts", json={"name": "Trace Oy"}, headers={"X-Request-Id": sent})
    assert created.status_code == 201 and created.headers["X-Request-Id"] == sent


@pytest.mark.parametrize("sent", ["", "a b", "x" * 129, "<script>", "id\u00e4", "a,b"])
def test_an_invalid_client_request_id_is_replaced_by_the_gateways(admin: Api, sent: str) -> None:
    response = admin.get("/accounts", headers={"X-Request-Id": sent.encode().decode("latin-1")})
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == response.headers["Apigw-Requestid"] != sent


# ---------------------------------------------------------------------------------------- 201, 204


def test_a_created_record_is_at_its_location(admin: Api) -> None:
    """Every create of a top-level collection (from the documents, with example bodies): its
    `Location` is `<path>/<id>` and a GET there answers that record."""
    located = []
    for operation in OPERATIONS:
        if operation.method != "POST" or "201" not in operation.operation["responses"] or operation.path_parameters:
            continue
        body = example(operation.json_body or {}, operation.document) if operation.json_body else None
        body = CALL if operation.path == "/activities" else body
        created = admin.post(operation.path, json=body)
        if created.status_code != 201:
            continue  # an example body a route refuses (references): its Location is checked elsewhere
        location = created.headers["Location"]
        record = created.json()
        own = re.compile(re.escape(operation.path) + r"/\{[^}/]+\}")
        if any(own.fullmatch(p) and "get" in item for p, item in operation.document["paths"].items()):
            assert location == f"{operation.path}/{record['id']}", operation
        fetched = admin.get(location)
        assert fetched.status_code == 200, (operation, location)
        located.append(operation.path)
    assert {"/accounts", "/contacts", "/email/templates", "/activities"} - set(located) == set()


def test_a_sub_record_without_a_url_of_its_own_names_the_record_it_joined(admin: Api) -> None:
    activity = admin.post("/activities", json=CALL)
    assert activity.status_code == 201, activity.text
    memo = admin.post(f"{activity.headers['Location']}/memos", json={"text": "noted"})
    assert memo.status_code == 201, memo.text
    assert memo.headers["Location"] == activity.headers["Location"]


def test_every_201_of_every_service_has_a_location(admin: Api) -> None:
    """Each documented 201 answer names `Location` in its OpenAPI document."""
    for operation in OPERATIONS:
        created = operation.operation["responses"].get("201")
        if created is not None:
            assert "Location" in created.get("headers", {}), operation


def test_a_delete_answers_204_without_a_body_as_documented(admin: Api) -> None:
    created = admin.post("/accounts", json={"name": "Gone Oy"})
    deleted = admin.delete(created.headers["Location"])
    assert deleted.status_code == 204 and deleted.content == b""
    for operation in OPERATIONS:
        if operation.method == "DELETE":
            responses = operation.operation["responses"]
            assert ("204" in responses and "200" not in responses) or "content" in responses.get("200", {}), operation
            assert "content" not in responses.get("204", {}), operation


# ------------------------------------------------------------------------------------------- CORS


def test_a_browser_script_may_read_location_and_the_request_id(admin: Api) -> None:
    preflight = admin.anonymous().request(
        "OPTIONS",
        "/accounts",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert "x-request-id" in preflight.headers["Access-Control-Allow-Headers"].lower()
    created = admin.post("/accounts", json={"name": "Cors Oy"}, headers={"Origin": "https://app.example"})
    exposed = {h.strip().lower() for h in created.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"location", "x-request-id"} <= exposed
