"""Every service's OpenAPI operations, for sweeps that must cover a new service or route by existing.

The documents are the apps' own (`services/<name>/handlers/api.py`'s `app`, found by listing the
services), the ones the running API serves at `/<prefix>/openapi.json`.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import docs

UNKNOWN = "01JUNKNOWNID00000000000000"
# Path parameters that are not record ids: a value the route accepts.
LITERALS = {"year": "2026", "name": "region", "entity": "contacts", "list_type_id": "marketing", "token": "x"}
# Body fields whose value a route checks beyond its schema: a value it accepts.
# "raw": a raw message in base64 (POST /scanner/mailboxes/{id}/raw), "sweep" encoded
FIELD_VALUES = {
    "type": "call",
    "content_type": "text/plain",
    "address": "sweep@example.com",
    "url": "https://sweep.example.com/hook",
    "raw": "c3dlZXA=",
    "rate": "10",  # invoicing: decimal strings
    "unit_price": "10",
    "quantity": "1",
    "business_id": "0737546-2",  # a Finnish business id with its check digit (shared/business_ids.py)
}


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    path: str
    operation: dict[str, Any]
    document: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_parameters(self) -> list[str]:
        return [p["name"] for p in self.operation.get("parameters", []) if p["in"] == "path"]

    @property
    def json_body(self) -> dict[str, Any] | None:
        """The schema of the operation's JSON request body, if it takes one."""
        content = (self.operation.get("requestBody") or {}).get("content") or {}
        media = content.get("application/json")
        return resolve(media["schema"], self.document) if media else None

    @property
    def public(self) -> bool:
        """An operation without a login (`/t/{token}`, `/u/{token}`)."""
        return self.operation.get("security") == [] or "{token}" in self.path


def documents() -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document, by service name (a copy of its own for each caller)."""
    return {name: json.loads(text) for name, text in _document_texts().items()}


def _document_texts() -> dict[str, str]:
    """Generated once per process, and shared with the tests of the generated docs
    (`infra.docs.openapi_text` keeps each, in the order the API serves: an example body takes a
    schema's first property): the seven test modules that sweep the operations ask
    for all of them at their import, in every test worker's collection."""
    return {name: docs.openapi_text(name) for name in docs.api_services()}


def operations() -> list[Operation]:
    return [
        Operation(service, method.upper(), path, operation, document)
        for service, document in documents().items()
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def example(schema: dict[str, Any], document: dict[str, Any], name: str = "", depth: int = 0) -> Any:
    """A value of the schema with its required fields (best effort: enough for most creates)."""
    schema = resolve(schema, document)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        options = [o for o in schema.get(key, []) if resolve(o, document).get("type") != "null"]
        if options:
            return example(options[0], document, name, depth)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        required = schema.get("required") or list(properties)[:1]
        if depth > 4:
            return {}
        return {n: example(properties[n], document, n, depth + 1) for n in required if n in properties}
    if kind == "array":
        return [example(schema["items"], document, name, depth + 1)] * schema.get("minItems", 0)
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if schema.get("format") == "email" or name == "email":
        return "sweep@example.com"
    if schema.get("format") == "date":
        return "2026-06-01"
    if schema.get("format") == "date-time":
        return "2030-06-01T10:00:00Z"
    if name.endswith("_id"):
        return LITERALS.get(name, UNKNOWN)
    return FIELD_VALUES.get(name, "sweep")  # lower case: fits a code's pattern too


def url(op: Operation, ids: dict[str, str] | None = None) -> str:
    """The operation's path with each path parameter filled: from `ids` by name, else a literal or an unknown id."""
    filled = op.path
    for name in op.path_parameters:
        value = (ids or {}).get(name) or LITERALS.get(name, UNKNOWN)
        filled = filled.replace("{" + name + "}", value)
    return filled


def required_query(op: Operation) -> dict[str, Any]:
    """A value for each required query parameter."""
    return {
        p["name"]: example(p.get("schema") or {}, op.document, p["name"])
        for p in op.operation.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }


MERGED_DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "kontakt.json"


@functools.cache
def _documented() -> list[tuple[str, re.Pattern[str], int, frozenset[str]]]:
    """(method, path pattern, its number of parameters, documented statuses) of every operation
    of the merged document (`kontakt docs --check` keeps it current)."""
    if not MERGED_DOCUMENT.exists():  # a copy of the project without its docs (tests/infra/test_new_service.py)
        return []
    document = json.loads(MERGED_DOCUMENT.read_text(encoding="utf-8"))
    found = []
    for path, item in document["paths"].items():
        pattern = re.compile("^" + "[^/]+".join(re.escape(part) for part in re.split(r"\{[^}]+\}", path)) + "$")
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                statuses = frozenset(str(s) for s in operation.get("responses", {}))
                found.append((method.upper(), pattern, path.count("{"), statuses))
    return found


def documented_statuses(method: str, path: str) -> frozenset[str] | None:
    """The statuses the merged document gives the operation a request goes to (the most specific
    path that matches: fewest parameters); None for a path or method it does not have."""
    route = path.split("?", 1)[0]
    matches = [
        (params, statuses) for m, pattern, params, statuses in _documented() if m == method and pattern.match(route)
    ]
    return min(matches, key=lambda match: match[0])[1] if matches else None
