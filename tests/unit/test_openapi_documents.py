"""Each service's OpenAPI document is a contract a client generator can use: valid OpenAPI 3.1,
every `$ref` defined.

The documents are the ones `kontakt docs` writes to docs/openapi/ and the APIs serve at
/<service>/openapi.json; a new service with an API is covered by existing (`docs.api_services()`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

from infra import docs

pytestmark = pytest.mark.disable_socket


# Rendered at collection, outside the socket guard: importing an API module starts the X-Ray SDK.
RENDERED = docs.rendered()
DOCUMENTS: dict[str, dict[str, Any]] = {
    service: json.loads(RENDERED[docs.OPENAPI_DIR / f"{service}.json"]) for service in docs.api_services()
}
MERGED: dict[str, Any] = json.loads(RENDERED[docs.MERGED_OPENAPI])


def document(service: str) -> dict[str, Any]:
    return DOCUMENTS[service]


def refs(node: Any) -> Iterator[str]:
    """Every `$ref` in a document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolves(root: dict[str, Any], ref: str) -> bool:
    if not ref.startswith("#/"):
        return False  # the documents are self-contained
    node: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_there_are_documents() -> None:
    assert {"directory", "activities", "email"} <= set(docs.api_services())


@pytest.mark.parametrize("service", sorted(DOCUMENTS))
def test_every_reference_is_defined(service: str) -> None:
    root = document(service)
    dangling = sorted({ref for ref in refs(root) if not resolves(root, ref)})
    assert dangling == [], f"{service}: references to nothing"


@pytest.mark.parametrize("service", sorted(DOCUMENTS))
def test_document_is_valid_openapi_3_1(service: str) -> None:
    root = document(service)
    assert root["openapi"].startswith("3.1")
    validate(root, cls=OpenAPIV31SpecValidator)


# A component name is part of the API (a generated client's class name): short, no module path.
COMPONENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@pytest.mark.parametrize("service", sorted(DOCUMENTS))
def test_component_names_are_short_and_carry_no_module_path(service: str) -> None:
    components = document(service)["components"]
    names = [name for kind in ("schemas", "responses") for name in components.get(kind, {})]
    bad = [n for n in names if "__" in n or "services" in n or not COMPONENT_NAME.match(n) or len(n) > 60]
    assert bad == [], f"{service}: component names that are module paths or not identifiers"


def test_a_schema_name_means_one_schema_across_all_services() -> None:
    """One SDK for all of Kontakt (docs/openapi/kontakt.json): a name two services define differently clashes."""
    seen: dict[str, tuple[str, Any]] = {}
    clashes = []
    for service in sorted(DOCUMENTS):
        for name, schema in document(service)["components"].get("schemas", {}).items():
            first = seen.setdefault(name, (service, schema))
            if first[1] != schema:
                clashes.append(f"{name}: {first[0]} and {service}")
    assert clashes == []


def test_the_merged_document_is_every_service_in_one_valid_document() -> None:
    merged = MERGED
    validate(merged, cls=OpenAPIV31SpecValidator)
    assert [s["name"] for s in merged["x-kontakt-services"]] == sorted(DOCUMENTS)
    for service, own in DOCUMENTS.items():
        for path, item in own["paths"].items():
            assert merged["paths"][path] == item, f"{service} {path}"
        for name, schema in own["components"]["schemas"].items():
            assert merged["components"]["schemas"][name] == schema
    assert sorted({ref for ref in refs(merged) if not resolves(merged, ref)}) == []


def _service(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def test_a_path_or_a_name_two_services_define_differently_does_not_merge() -> None:
    item = {"get": {"operationId": "get_a", "responses": {"200": {"description": "ok"}}}}
    other = {"get": {"operationId": "get_b", "responses": {"200": {"description": "ok"}}}}
    same = {"type": "object"}
    merged = docs.merged_openapi(
        {"one": _service({"/a": item}, {"S": same}), "two": _service({"/b": other}, {"S": same})}
    )
    assert set(merged["paths"]) == {"/a", "/b"} and merged["components"]["schemas"] == {"S": same}
    with pytest.raises(docs.MergeError, match="/a"):
        docs.merged_openapi({"one": _service({"/a": item}, {}), "two": _service({"/a": other}, {})})
    with pytest.raises(docs.MergeError, match=r"schemas\.S"):
        docs.merged_openapi({"one": _service({}, {"S": same}), "two": _service({}, {"S": {"type": "string"}})})
    with pytest.raises(docs.MergeError, match="get_a"):
        docs.merged_openapi({"one": _service({"/a": item}, {}), "two": _service({"/b": item}, {})})


def test_rules_across_fields_sit_in_all_of_beside_a_models_properties() -> None:
    """openapi-python-client makes a schema with anyOf/oneOf/not beside its properties into one
    model per branch holding only that branch's fields (ContactCreate lost `last_name`); inside
    allOf (the same JSON Schema meaning) the model keeps every field."""
    schemas = MERGED["components"]["schemas"]
    beside = [name for name, s in schemas.items() if "properties" in s and {"anyOf", "oneOf", "not"} & s.keys()]
    assert beside == []
