"""Every status an operation can answer is in its OpenAPI document, derived once by the kernel
(`shared.api.operation_answers`) from what the route takes, with the problem+json body it is sent with."""

import json
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import BaseModel

from shared import api as http
from shared.errors import Conflict
from shared.routes import answers, no_content

pytestmark = pytest.mark.disable_socket


class NoteCreate(BaseModel):
    text: str


app = http.create_app("Answers test", "answers")


@app.post("/notes", status_code=201)
def create_note(body: Annotated[NoteCreate, Body()]) -> dict[str, Any]:
    return {"text": body.text}


@app.get("/notes")
def list_notes(cursor: Annotated[str | None, Query()] = None) -> dict[str, Any]:
    return {"items": []}


@app.get("/notes/<note_id>")
def get_note(note_id: Annotated[str, Path()]) -> dict[str, Any]:
    return {"id": note_id}


@app.delete("/notes/<note_id>")
def delete_note(note_id: Annotated[str, Path()]) -> Response[None]:
    return no_content()


@app.get("/filtered")
def filtered(owner_id: Annotated[str | None, Query()] = None) -> dict[str, Any]:
    return {}


@app.get("/busy")
@answers(402, 409)
def busy() -> dict[str, Any]:
    raise Conflict("busy")


@app.get("/open", security=[{}])
def public() -> dict[str, Any]:
    return {}


DOCUMENT = json.loads(app.get_openapi_json_schema())


def statuses(path: str, method: str) -> set[str]:
    return set(DOCUMENT["paths"][path][method]["responses"])


def test_a_json_body_can_be_malformed_too_large_not_json_or_invalid() -> None:
    assert statuses("/notes", "post") == {"201", "400", "401", "403", "409", "413", "415", "422", "429", "503"}


def test_a_path_id_can_be_not_found_and_a_cursor_bad() -> None:
    assert statuses("/notes/{note_id}", "get") == {"200", "400", "401", "403", "404", "422", "429", "503"}
    assert statuses("/notes", "get") == {"200", "400", "401", "403", "422", "429", "503"}
    assert statuses("/filtered", "get") == {"200", "400", "401", "403", "404", "422", "429", "503"}  # an id it names


def test_no_content_is_204_without_a_body() -> None:
    responses = DOCUMENT["paths"]["/notes/{note_id}"]["delete"]["responses"]
    assert "200" not in responses
    assert responses["204"]["description"] == "Done: no content" and "content" not in responses["204"]
    assert {"404", "409"} <= set(responses)


def test_a_handler_declares_statuses_the_route_does_not_show() -> None:
    assert statuses("/busy", "get") == {"200", "400", "401", "402", "403", "409", "429", "503"}


def test_a_public_route_has_no_login_answers() -> None:
    assert statuses("/open", "get") == {"200", "400", "429"}  # 400: a query parameter it does not take
    assert DOCUMENT["paths"]["/notes"]["get"]["security"] == [{"bearer": []}]
    assert DOCUMENT["components"]["securitySchemes"]["bearer"] == {
        "bearerFormat": "JWT",
        "scheme": "bearer",
        "type": "http",
    }


def test_errors_are_problems_and_the_gateways_own_answers_are_its_json() -> None:
    responses = DOCUMENT["components"]["responses"]
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    gateway = {"schema": {"$ref": "#/components/schemas/GatewayError"}}
    for name in ("BadRequest", "Forbidden", "NotFound", "Conflict", "ValidationFailed"):
        assert responses[name]["content"] == {"application/problem+json": problem}
    # A 401 is the kernel's problem (the authorizer's refusal), or API Gateway's own for a request
    # without an Authorization header (the authorizer's identity source missing).
    for name in ("PayloadTooLarge", "TooManyRequests", "Unauthorized"):
        assert responses[name]["content"] == {"application/problem+json": problem, "application/json": gateway}
    assert responses["GatewayThrottled"]["content"] == {"application/json": gateway}  # no login: the stage's only
    assert "WWW-Authenticate" in responses["Unauthorized"]["headers"]
    assert DOCUMENT["components"]["schemas"]["GatewayError"]["required"] == ["message"]


def test_a_documented_answer_is_what_the_kernel_sends(make_http_event: Any) -> None:
    answer = app.resolve(make_http_event("GET", "/busy"), {})
    assert str(answer["statusCode"]) in statuses("/busy", "get")
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    schema = DOCUMENT["components"]["schemas"]["Problem"]
    assert set(schema["required"]) <= set(json.loads(answer["body"]))


def test_every_app_serves_the_merged_document_and_its_index_without_a_login(make_http_event: Any) -> None:
    answer = app.resolve(make_http_event("GET", "/openapi.json", claims=None), {})
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == json.loads(http.KONTAKT_OPENAPI.read_text(encoding="utf-8"))
    index = app.resolve(make_http_event("GET", "/docs", claims=None), {})
    assert index["statusCode"] == 200
    assert index["headers"]["Content-Type"].startswith("text/html")
    assert "script-src" not in index["headers"]["Content-Security-Policy"]  # a page of links, no script
    for service in json.loads(answer["body"])["x-kontakt-services"]:
        assert f'href="/{service["name"]}/docs"' in index["body"]
        assert f'href="/{service["name"]}/openapi.json"' in index["body"]
    assert 'href="/openapi.json"' in index["body"]
    assert "/openapi.json" not in DOCUMENT["paths"] and "/docs" not in DOCUMENT["paths"]


def test_a_build_without_the_merged_document_answers_404(make_http_event: Any, monkeypatch: Any, tmp_path: Any) -> None:
    monkeypatch.setattr(http, "KONTAKT_OPENAPI", tmp_path / "missing.json")
    answer = app.resolve(make_http_event("GET", "/openapi.json", claims=None), {})
    assert answer["statusCode"] == 404
    assert answer["headers"]["Content-Type"] == "application/problem+json"


def test_a_problem_names_the_request_it_is_about(make_http_event: Any) -> None:
    body = json.loads(app.resolve(make_http_event("GET", "/busy"), {})["body"])
    assert body["instance"] == "/busy" and body["code"] == "conflict"
    assert "instance" in DOCUMENT["components"]["schemas"]["Problem"]["properties"]
    malformed = make_http_event("POST", "/notes", "{")
    assert json.loads(app.resolve(malformed, {})["body"])["instance"] == "/notes"
