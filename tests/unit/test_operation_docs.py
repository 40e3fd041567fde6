"""Documentation a client learns from: every operation of every service's OpenAPI document (and of
the merged one, docs/openapi/kontakt.json) has a tag described at the document level, a short stable
operationId by the convention (`contacts.get`, `campaigns.send`; `shared.operation_docs`), unique
across all services, a summary, a description, and an example of its JSON request body and of each
2xx JSON response body, which validates against its schema.

An operation without its documentation is named with the file to add it to: the service's
`handlers/routes/docs.py` (`DOCS.operations[operationId]`). A new service or route is covered by
existing (`docs.api_services()`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

from shared import operation_docs
from shared.operation_docs import OPERATION_ID, Doc, ServiceDocs, Tag
from tests.unit import test_openapi_documents

pytestmark = pytest.mark.disable_socket

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# The documents test_openapi_documents renders at collection (one rendering per test process);
# their validity as OpenAPI 3.1, the merged one's included, is checked there.
DOCUMENTS: dict[str, dict[str, Any]] = test_openapi_documents.DOCUMENTS
MERGED: dict[str, Any] = test_openapi_documents.MERGED


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in sorted(document["paths"].items()):
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def where(service: str, method: str, path: str, operation: dict[str, Any]) -> str:
    name = operation.get("operationId", "?")
    return f"{service}: {method.upper()} {path} ({name}; services/{service}/handlers/routes/docs.py)"


def all_operations() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for service, document in sorted(DOCUMENTS.items()):
        for method, path, operation in operations(document):
            yield service, method, path, operation


def test_every_operation_has_a_declared_and_described_tag() -> None:
    missing = []
    for service, method, path, operation in all_operations():
        declared = {t["name"]: t for t in DOCUMENTS[service].get("tags", [])}
        tags = operation.get("tags") or []
        if len(tags) != 1 or not declared.get(tags[0], {}).get("description"):
            missing.append(f"{where(service, method, path, operation)}: tag {tags} not declared with a description")
    assert missing == []
    assert [t["name"] for t in MERGED["tags"]] == sorted({t["name"] for d in DOCUMENTS.values() for t in d["tags"]})


def test_operation_ids_follow_the_convention_and_are_unique_across_services() -> None:
    """`<resource>[.<sub-resource>].<verb>`, as `shared.operation_docs.operation_id` derives it from
    the path and method, or the service's declared rename; never a clash renamed by the kernel."""
    bad = []
    seen: dict[str, str] = {}
    for service, method, path, operation in all_operations():
        name = operation.get("operationId", "")
        renamed = operation_docs.service_docs([f"services.{service}.handlers.routes.x"]).operation_ids
        expected = renamed.get(f"{method.upper()} {path}") or operation_docs.operation_id(
            method, path, operation, DOCUMENTS[service]
        )
        if not OPERATION_ID.match(name) or name != expected:
            bad.append(f"{where(service, method, path, operation)}: expected {expected} (a clash? rename one)")
        if seen.setdefault(name, f"{service} {method.upper()} {path}") != f"{service} {method.upper()} {path}":
            bad.append(f"{name}: used by {seen[name]} and {service} {method.upper()} {path}")
    assert bad == []


def test_every_operation_has_a_summary_and_a_description() -> None:
    missing = []
    for service, method, path, operation in all_operations():
        summary = str(operation.get("summary", ""))
        if not summary or summary == f"{method.upper()} {path}" or "\n" in summary:
            missing.append(f"{where(service, method, path, operation)}: no one-line summary")
        if not str(operation.get("description", "")).strip():
            missing.append(f"{where(service, method, path, operation)}: no description")
    assert missing == []


def test_descriptions_say_who_may_call() -> None:
    """Permissions are the rule a client meets first: every operation with a login says who may call
    it, every public one says it takes no token."""
    missing = []
    for service, method, path, operation in all_operations():
        text = str(operation.get("description", ""))
        public = operation.get("security") in ([], [{}])
        if ("no token" not in text) if public else ("Who:" not in text):
            missing.append(where(service, method, path, operation))
    assert missing == []


def json_media(node: dict[str, Any] | None) -> dict[str, Any] | None:
    media = ((node or {}).get("content") or {}).get("application/json")
    return media if isinstance(media, dict) and "schema" in media else None


def bodies(operation: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each JSON body of an operation: the request's and each 2xx response's."""
    request = json_media(operation.get("requestBody"))
    if request is not None:
        yield "request", request
    for status, response in sorted(operation.get("responses", {}).items()):
        media = json_media(response) if str(status).startswith("2") and isinstance(response, dict) else None
        if media is not None:
            yield f"response {status}", media


# Formats as the API writes them. JSON Schema's `time` is RFC 3339's full-time, with an offset;
# pydantic documents a `datetime.time` (a local time of day, in a schedule's zone) as `time` and
# answers it without one ("09:30:00"): an example shows what the API answers.
FORMATS = FormatChecker([f for f in Draft202012Validator.FORMAT_CHECKER.checkers if f != "time"])


def schema_validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator of `schema`, its `#/components/...` references into `document`."""
    return Draft202012Validator({**schema, "components": document["components"]}, format_checker=FORMATS)


def test_every_json_body_has_an_example_that_validates_against_its_schema() -> None:
    problems = []
    for service, method, path, operation in all_operations():
        for which, media in bodies(operation):
            if "example" not in media:
                problems.append(f"{where(service, method, path, operation)}: no {which} example")
                continue
            validator = schema_validator(DOCUMENTS[service], media["schema"])
            for error in validator.iter_errors(media["example"]):
                at = "/".join(map(str, error.absolute_path)) or "(root)"
                problems.append(f"{where(service, method, path, operation)}: {which} example at {at}: {error.message}")
    assert problems == []


# ---- the kernel's rules, on a small document ----------------------------------------------------


def _answer(schema: str) -> dict[str, Any]:
    return {
        "description": "ok",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _in_path(name: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}]


def _page_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/things": {
                "get": {"responses": {"200": _answer("Page_Thing_")}},
                "post": {"responses": {"201": _answer("Thing")}},
            },
            "/things/{thing_id}": {
                "parameters": _in_path("thing_id"),
                "get": {"responses": {"200": _answer("Thing")}},
                "patch": {"responses": {"200": _answer("Thing")}},
                "put": {"responses": {"200": _answer("Thing")}},
                "delete": {"responses": {"204": {"description": "done"}}},
            },
            "/things/{thing_id}/send": {
                "parameters": _in_path("thing_id"),
                "post": {"responses": {"200": _answer("Thing")}},
            },
            "/things/{thing_id}/parts": {
                "parameters": _in_path("thing_id"),
                "post": {"responses": {"201": _answer("Thing")}},
            },
            "/thing-settings": {"get": {"responses": {"200": _answer("Thing")}}},
            "/x/{token}": {"parameters": _in_path("token"), "post": {"responses": {"200": _answer("Thing")}}},
        },
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "properties": {"id": {"type": "string", "pattern": "^[0-9A-Z]{26}$"}, "email": {"type": "string"}},
                    "required": ["id"],
                },
                "Page_Thing_": {
                    "type": "object",
                    "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}},
                        "next_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    },
                    "required": ["items", "next_cursor"],
                },
            }
        },
    }


def test_the_convention_names_crud_actions_sub_resources_and_singletons() -> None:
    document = _page_document()
    names = {
        f"{method.upper()} {path}": operation_docs.operation_id(method, path, operation, document)
        for method, path, operation in operations(document)
    }
    assert names == {
        "GET /things": "things.list",
        "POST /things": "things.create",
        "GET /things/{thing_id}": "things.get",
        "PATCH /things/{thing_id}": "things.update",
        "PUT /things/{thing_id}": "things.replace",
        "DELETE /things/{thing_id}": "things.delete",
        "POST /things/{thing_id}/send": "things.send",
        "POST /things/{thing_id}/parts": "things.parts.create",
        "GET /thing-settings": "thingSettings.get",
        "POST /x/{token}": "x.post",
    }


def test_docs_are_applied_and_an_undocumented_operation_stays_valid_but_is_named() -> None:
    document = _page_document()
    docs_of = ServiceDocs(
        tags=(Tag("things", "Things.", ("/things",)),),
        operations={"things.send": Doc("Send a thing", "Who: anyone.", response={"id": "01JD8X6Z5N9V2K4T7Q3W8E1R0A"})},
        operation_ids={"POST /x/{token}": "things.list"},  # a clash: the kernel keeps the ids unique
    )
    out = operation_docs.with_operation_docs(document, docs_of)
    send = out["paths"]["/things/{thing_id}/send"]["post"]
    assert (send["summary"], send["description"], send["tags"]) == ("Send a thing", "Who: anyone.", ["things"])
    assert send["responses"]["200"]["content"]["application/json"]["example"] == {"id": "01JD8X6Z5N9V2K4T7Q3W8E1R0A"}
    listed = out["paths"]["/things"]["get"]["responses"]["200"]["content"]["application/json"]["example"]
    assert listed["items"][0]["email"] == "ada.lovelace@example.com" and listed["next_cursor"] is None
    assert out["tags"] == [{"name": "thing settings"}, {"name": "things", "description": "Things."}, {"name": "x"}]
    ids = [op["operationId"] for _, _, op in operations(out)]
    assert len(ids) == len(set(ids)) and "description" not in out["paths"]["/things"]["get"]
    validate(out, cls=OpenAPIV31SpecValidator)


def test_an_example_that_fits_no_tried_value_is_left_out() -> None:
    document = _page_document()
    impossible = {"type": "string", "pattern": "^never-(matched)$", "minLength": 40}
    assert operation_docs.example_of(impossible, document) is operation_docs.NO_EXAMPLE
