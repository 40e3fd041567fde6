"""What a client reads about each operation: its tag, operationId, summary, description and examples.

Powertools documents a route only from its decorator's arguments (`summary=`, `tags=`,
`operation_id=`; no docstring), and without them names an operation `get_contact_contacts__contact_id__get`
and summarises it as `GET /contacts/{contact_id}`. The kernel does it for every service instead,
when the resolver builds its document (`shared.api.Resolver.get_openapi_schema`):

- operationId by convention, from the path and method (`operation_id`): `contacts.list`,
  `contacts.create`, `contacts.get`, `contacts.update`, `contacts.replace`, `contacts.delete`, a POST
  answering 200 is an action named by its last segment (`campaigns.send`), a GET that does not
  answer a page reads one thing (`settings.get`); a service's `ServiceDocs.operation_ids` renames
  the few the convention names badly;
- the tag: the service's declared tag whose path prefix is the longest match (`ServiceDocs.tags`),
  listed with its description at the document level;
- summary and description: the service's `ServiceDocs.operations[operationId]`;
- examples: the request body's and each 2xx JSON body's, from the `Doc` when it gives one, else
  built from the schema (`example_of`: realistic values by field name and format, checked against
  the schema's own constraints).

A service declares its `ServiceDocs` as `DOCS` in `services/<name>/handlers/routes/docs.py`, found
beside its route modules. An operation with no `Doc` keeps Powertools' summary and no description:
the document stays valid, and tests/unit/test_operation_docs.py names it.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# `contacts.get`, `contactOrders.bookings.update`: camelCase names joined by dots, at least two.
OPERATION_ID = re.compile(r"^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)+$")
DOCS_MODULE = "docs"  # services/<name>/handlers/routes/docs.py
NO_EXAMPLE = object()


@dataclass(frozen=True)
class Doc:
    """One operation's documentation: `summary` one line, `description` the rules a client meets.

    `request` / `response`: example bodies (the response one for the operation's 2xx JSON answer);
    left out, one is built from the schema.
    """

    summary: str
    description: str
    request: Any = NO_EXAMPLE
    response: Any = NO_EXAMPLE


@dataclass(frozen=True)
class Tag:
    """A group of operations (a resource), by the path prefixes of its operations."""

    name: str
    description: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class ServiceDocs:
    tags: tuple[Tag, ...] = ()
    operations: Mapping[str, Doc] = field(default_factory=dict)
    # "METHOD /path" -> operationId, where the convention's name is a bad one (or clashes).
    operation_ids: Mapping[str, str] = field(default_factory=dict)


def service_docs(route_modules: Iterable[str]) -> ServiceDocs:
    """The `DOCS` of the packages holding these route modules (`services.x.handlers.routes.docs`)."""
    tags: list[Tag] = []
    operations: dict[str, Doc] = {}
    operation_ids: dict[str, str] = {}
    for package in sorted({m.rsplit(".", 1)[0] for m in route_modules if m.startswith("services.")}):
        name = f"{package}.{DOCS_MODULE}"
        if importlib.util.find_spec(name) is None:
            continue
        docs = getattr(importlib.import_module(name), "DOCS", None)
        if isinstance(docs, ServiceDocs):
            tags += docs.tags
            operations.update(docs.operations)
            operation_ids.update(docs.operation_ids)
    return ServiceDocs(tuple(tags), operations, operation_ids)


def _camel(segment: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", segment) if w]
    return "".join([words[0].lower(), *(w[:1].upper() + w[1:].lower() for w in words[1:])]) if words else "x"


def _is_param(segment: str) -> bool:
    return segment.startswith("{")


def _json_schema(node: Mapping[str, Any] | None) -> dict[str, Any] | None:
    content = (node or {}).get("content", {})
    media = content.get("application/json")
    return media.get("schema") if isinstance(media, dict) else None


def _resolve(schema: Mapping[str, Any], document: Mapping[str, Any]) -> Mapping[str, Any]:
    while isinstance(schema, Mapping) and "$ref" in schema:
        node: Any = document
        for part in str(schema["$ref"])[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        schema = node
    return schema


def is_page(schema: Mapping[str, Any] | None, document: Mapping[str, Any]) -> bool:
    """Whether a response schema is the one pagination shape (`items` and `next_cursor`)."""
    properties = _resolve(schema or {}, document).get("properties", {})
    return "items" in properties and "next_cursor" in properties


def _success(operation: Mapping[str, Any]) -> tuple[str, Any] | None:
    responses = operation.get("responses", {})
    return next(((s, r) for s, r in sorted(responses.items()) if str(s).startswith("2")), None)


def operation_id(method: str, path: str, operation: Mapping[str, Any], document: Mapping[str, Any]) -> str:
    """The operationId by convention (see the module's docstring)."""
    segments = [s for s in path.strip("/").split("/") if s]
    names = [_camel(s) for s in segments if not _is_param(s)]
    success = _success(operation)
    status, answer = success if success else ("200", {})
    if segments and _is_param(segments[-1]):
        verb = {"get": "get", "patch": "update", "put": "replace", "delete": "delete"}.get(method, method)
    elif method == "get":
        verb = "list" if is_page(_json_schema(_resolve(answer, document)), document) else "get"
    elif method == "post":
        verb = "create" if status == "201" or len(names) < 2 else names.pop()
    else:
        verb = {"put": "replace", "patch": "update", "delete": "delete"}.get(method, method)
    return ".".join([*(names or ["root"]), verb])


def tag_of(path: str, tags: Iterable[Tag]) -> Tag | None:
    """The tag whose path prefix is the longest one of `path` (a whole segment matches)."""
    best: tuple[int, Tag] | None = None
    for tag in tags:
        for prefix in tag.paths:
            prefix = prefix.rstrip("/")
            if (path == prefix or path.startswith(prefix + "/")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), tag)
    return best[1] if best else None


def _fallback_tag(path: str) -> str:
    literal = next((s for s in path.strip("/").split("/") if not _is_param(s)), "api")
    return literal.replace("-", " ")


# Said of every list that takes `updated_since` (`shared.routes.UpdatedSince`), after its own description.
SYNC = (
    "Sync: `updated_since` (a time with an offset) lists the records changed at or after it, oldest change "
    "first, and in `deleted` the ids of those deleted since (kept 30 days; apply them before `items`), "
    "paged by `cursor` together, only what the caller may see. It takes no filter, `sort`, `order` or "
    "`ids` (400 `unsupported_combination` naming the parameter). Ask again from a minute before the "
    "latest `updated_at` or `deleted_at` received."
)


def with_operation_docs(document: dict[str, Any], docs: ServiceDocs) -> dict[str, Any]:
    """The document with every operation's operationId, tag, summary, description and examples."""
    used: set[str] = set()
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            name = docs.operation_ids.get(f"{method.upper()} {path}") or operation_id(method, path, operation, document)
            if name in used:  # a clash the service has not renamed yet: unique, and the test names it
                name = f"{name}.{method}{len(used)}"
            used.add(name)
            operation["operationId"] = name
            tag = tag_of(path, docs.tags)
            operation["tags"] = [tag.name if tag else _fallback_tag(path)]
            doc = docs.operations.get(name)
            if doc is not None:
                operation["summary"] = doc.summary
                operation["description"] = doc.description
                if any(p.get("name") == "updated_since" for p in operation.get("parameters", [])):
                    operation["description"] += f"\n\n{SYNC}"
            _add_examples(operation, doc, document)
    declared = {t.name: t for t in docs.tags}
    used_tags = sorted({op["tags"][0] for item in document.get("paths", {}).values() for op in _operations(item)})
    if used_tags:
        document["tags"] = [
            {"name": n, "description": declared[n].description} if n in declared else {"name": n} for n in used_tags
        ]
    return document


def _operations(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [o for o in item.values() if isinstance(o, dict) and o.get("tags")]


def _add_examples(operation: dict[str, Any], doc: Doc | None, document: Mapping[str, Any]) -> None:
    request: Any = NO_EXAMPLE
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if isinstance(body, dict) and "schema" in body:
        given = doc.request if doc is not None else NO_EXAMPLE
        request = body.get("example", given if given is not NO_EXAMPLE else example_of(body["schema"], document))
        if request is not NO_EXAMPLE:
            body["example"] = request
    for status, response in operation.get("responses", {}).items():
        media = response.get("content", {}).get("application/json") if isinstance(response, dict) else None
        if not str(status).startswith("2") or not isinstance(media, dict) or "schema" not in media:
            continue
        given = doc.response if doc is not None else NO_EXAMPLE
        value = given if given is not NO_EXAMPLE else _answer_to(request, media["schema"], document)
        if value is not NO_EXAMPLE and "example" not in media:
            media["example"] = value


def _answer_to(request: Any, schema: Mapping[str, Any], document: Mapping[str, Any]) -> Any:
    """An example answer built from the schema, showing the request's fields where the answer
    has them (the record a create or an update answers), if it still fits."""
    value = example_of(schema, document)
    if isinstance(value, dict) and isinstance(request, dict):
        properties = _resolve(schema, document).get("properties", {})
        echoed = {**value, **{k: v for k, v in request.items() if k in properties}}
        if _fits(echoed, schema, document):
            return echoed
    return value


# ---- Examples built from a schema -------------------------------------------------------------

ULID = "01JD8X6Z5N9V2K4T7Q3W8E1R0A"
# A value by field name (a suffix match on `_id`), tried before the generic candidates.
BY_NAME: dict[str, Any] = {
    "email": "ada.lovelace@example.com",
    "address": "ada.lovelace@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "name": "Acme Oy",
    "title": "Head of purchasing",
    "subject": "Send the offer",
    "phone": "+358 40 123 4567",
    "mobile": "+358 40 765 4321",
    "country": "FI",
    "city": "Helsinki",
    "street": "Mannerheimintie 1",
    "postal_code": "00100",
    "html": "<p>Hello {{first_name}},</p><p>Welcome aboard.</p>",
    "text": "Hello {{first_name}}, welcome aboard.",
    "body": "Called Ada: she wants the offer by Friday.",
    "description": "Follow up on the spring offer.",
    "number": "CON-1001",
    "timezone": "Europe/Helsinki",
    "time_zone": "Europe/Helsinki",
    "currency": "EUR",
    "language": "fi",
    "locale": "fi-FI",
    "content_type": "text/plain",
    "filename": "offer.pdf",
    "file_name": "offer.pdf",
    "url": "https://example.com/offer",
    "website": "https://example.com",
    "domain": "example.com",
    "type": "call",
    "status": "active",
    "role": "user",
    "expression": "rate(1 day)",
    "next_cursor": None,
    "job_title": "ceo",
    "region": "north",
    "benefit_status": "member",
    "sales_status": "lead",
    "department": "Purchasing",
    "location": "Customer's office",
    "crm_kind": "events",
    "crm_type": "customer_visits",
    "created_by": "01JD8X6Y2M4Q7R9T1V3W5X7Z9B",
    "uploaded_by": "01JD8X6Y2M4Q7R9T1V3W5X7Z9B",
    "updated_by": "01JD8X6Y2M4Q7R9T1V3W5X7Z9B",
    "version": 1,
    "year": 2026,
    "limit": 50,
}
# `name` by the title of the object holding it (a schema's title is its model's name).
NAMES = {
    "Template": "Welcome",
    "TemplateCreate": "Welcome",
    "Campaign": "Spring newsletter",
    "CampaignCreate": "Spring newsletter",
    "Automation": "Weekly digest",
    "ListType": "Product news",
    "Group": "Sales team",
    "User": "Grace Hopper",
    "Class": "Spring sales campaign",
    "ClassificationType": "Mailing lists",
    "TargetGroup": "Helsinki customers",
    "Facility": "Main office",
    "Favourite": "My open orders",
    "MassActivity": "Spring offer follow-up",
    "Attachment": "offer.pdf",
    "AttachmentInfo": "offer.pdf",
    "CampaignAttachment": "offer.pdf",
}
STRING_CANDIDATES = (
    "example",
    "Example",
    "example-1",
    "ada.lovelace@example.com",
    "+358 40 123 4567",
    "FI",
    "example.com",
    "https://example.com",
    "text/plain",
    "rate(1 day)",
    "cron(0 9 * * ? *)",
    "queued",
    "eyJleGFtcGxlIjp0cnVlfQ",
    "a",
)
FORMATS = {
    "date-time": "2026-03-02T09:30:00Z",
    "date": "2026-03-02",
    "time": "09:30:00",
    "email": "ada.lovelace@example.com",
    "uri": "https://example.com",
}


class _Builder:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def valid(self, value: Any, schema: Mapping[str, Any]) -> bool:
        return _fits(value, schema, self.document)

    def build(self, schema: Mapping[str, Any], name: str = "", depth: int = 0) -> Any:
        for candidate in self.candidates(schema, name, depth):
            if candidate is not NO_EXAMPLE and self.valid(candidate, schema):
                return candidate
        return NO_EXAMPLE

    def candidates(self, schema: Mapping[str, Any], name: str, depth: int) -> Iterable[Any]:
        if depth > 8:
            return
        schema = _resolve(schema, self.document)
        if name in BY_NAME:
            yield BY_NAME[name]
        for key in ("examples", "default"):
            if key == "examples" and schema.get("examples"):
                yield copy.deepcopy(schema["examples"][0])
            elif key == "default" and "default" in schema and schema["default"] is not None:
                yield copy.deepcopy(schema["default"])
        if "const" in schema:
            yield schema["const"]
        if schema.get("enum"):
            yield from schema["enum"]
        for part in schema.get("allOf", []):
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            yield self.build({**_resolve(part, self.document), **merged}, name, depth + 1)
        branches = [*schema.get("anyOf", []), *schema.get("oneOf", [])]
        for branch in sorted(branches, key=lambda b: _resolve(b, self.document).get("type") == "null"):
            yield self.build(branch, name, depth + 1)
        kinds = schema.get("type")
        for branch in self.object_branches(schema):
            yield from self.objects(branch, depth)
        for kind in [kinds] if isinstance(kinds, str) else list(kinds or []):
            yield from self.of_type(kind, schema, name, depth)
        if not kinds and "properties" in schema:
            yield from self.of_type("object", schema, name, depth)

    def of_type(self, kind: str, schema: Mapping[str, Any], name: str, depth: int) -> Iterable[Any]:
        if kind == "object":
            yield from self.objects(schema, depth)
        elif kind == "array":
            items = schema.get("items", {})
            item = self.build(items, name.removesuffix("s"), depth + 1) if items else "example"
            count = max(1, int(schema.get("minItems", 1)))
            if item is not NO_EXAMPLE:
                yield [item] * count if not schema.get("uniqueItems") or count == 1 else NO_EXAMPLE
            yield []
        elif kind == "string":
            yield from self.strings(schema, name)
        elif kind in ("integer", "number"):
            guess = BY_NAME.get(name)
            if isinstance(guess, int):
                yield guess
            low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
            yield int(low) + (1 if "exclusiveMinimum" in schema or low == 0 else 0)
            yield low
        elif kind == "boolean":
            yield True
        elif kind == "null":
            yield None

    def strings(self, schema: Mapping[str, Any], name: str) -> Iterable[Any]:
        guess = BY_NAME.get(name)
        if isinstance(guess, str):
            yield guess
        if name == "id" or name.endswith("_id") or name.endswith("_ids"):
            yield ULID
        if schema.get("format") in FORMATS:
            yield FORMATS[schema["format"]]
        if name.endswith("_at"):
            yield FORMATS["date-time"]
        yield from STRING_CANDIDATES
        low = int(schema.get("minLength", 1))
        yield "x" * low

    def object_branches(self, schema: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
        """An object schema with a rule across fields (`allOf: [{anyOf: [...]}]`, pydantic's) as one
        schema per branch: each branch's property rules joined to the object's own."""
        if "properties" not in schema:
            return
        rules = [_resolve(p, self.document) for p in schema.get("allOf", [])] + [schema]
        for rule in rules:
            for branch in [*rule.get("anyOf", []), *rule.get("oneOf", [])]:
                branch = _resolve(branch, self.document)
                if "properties" not in branch and "required" not in branch:
                    continue
                properties = dict(schema["properties"])
                for key, sub in branch.get("properties", {}).items():
                    properties[key] = {"allOf": [properties[key], sub]} if key in properties else sub
                required = sorted({*schema.get("required", []), *branch.get("required", [])})
                yield {**schema, "properties": properties, "required": required}

    def objects(self, schema: Mapping[str, Any], depth: int) -> Iterable[Any]:
        properties: Mapping[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))
        full: dict[str, Any] = {}
        title = str(schema.get("title", ""))
        for key, sub in properties.items():
            named = NAMES.get(title) if key == "name" else None
            value = named if named is not None and _fits(named, sub, self.document) else NO_EXAMPLE
            if value is NO_EXAMPLE:
                value = self.build(sub, key, depth + 1)
            if value is NO_EXAMPLE:
                if key in required:
                    full = {}
                    break
                continue
            full[key] = value
        if full or not required:
            yield full
            yield {k: v for k, v in full.items() if k in required}
        extra = schema.get("additionalProperties")
        if not properties and isinstance(extra, Mapping):
            value = self.build(extra, "value", depth + 1)
            yield {"key": value} if value is not NO_EXAMPLE else {}
        yield {}


def _fits(value: Any, schema: Any, document: Mapping[str, Any]) -> bool:
    """Whether a value fits a schema, for the JSON Schema keywords pydantic writes (`format` not
    checked). The examples are built at run time too (the served documents), where the jsonschema
    package is not installed; tests/unit/test_operation_docs.py checks every example with it."""
    if schema is True or schema == {}:
        return True
    if schema is False or not isinstance(schema, Mapping):
        return False
    schema = _resolve(schema, document)
    checks = (
        ("const", lambda c: value == c and type(value) is type(c)),
        ("enum", lambda e: value in e),
        ("type", lambda t: any(_is_type(value, k) for k in ([t] if isinstance(t, str) else t))),
        ("allOf", lambda parts: all(_fits(value, p, document) for p in parts)),
        ("anyOf", lambda parts: any(_fits(value, p, document) for p in parts)),
        ("oneOf", lambda parts: sum(_fits(value, p, document) for p in parts) == 1),
        ("not", lambda part: not _fits(value, part, document)),
    )
    if not all(check(schema[key]) for key, check in checks if key in schema):
        return False
    if isinstance(value, str):
        return _fits_string(value, schema)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _fits_number(value, schema)
    if isinstance(value, list):
        return _fits_array(value, schema, document)
    if isinstance(value, dict):
        return _fits_object(value, schema, document)
    return True


def _is_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    kinds = {"string": str, "boolean": bool, "array": list, "object": dict, "null": type(None)}
    return isinstance(value, kinds.get(kind, object))


def _fits_string(value: str, schema: Mapping[str, Any]) -> bool:
    if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
        return False
    return "pattern" not in schema or re.search(schema["pattern"], value) is not None


def _fits_number(value: float, schema: Mapping[str, Any]) -> bool:
    bounds = (
        ("minimum", lambda b: value >= b),
        ("maximum", lambda b: value <= b),
        ("exclusiveMinimum", lambda b: value > b),
        ("exclusiveMaximum", lambda b: value < b),
        ("multipleOf", lambda b: (value / b) == int(value / b)),
    )
    return all(check(schema[key]) for key, check in bounds if key in schema)


def _fits_array(value: list[Any], schema: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
        return False
    if "contains" in schema and not any(_fits(v, schema["contains"], document) for v in value):
        return False
    return "items" not in schema or all(_fits(v, schema["items"], document) for v in value)


def _fits_object(value: dict[str, Any], schema: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    properties = schema.get("properties", {})
    if not set(schema.get("required", [])) <= value.keys():
        return False
    if "propertyNames" in schema and not all(_fits(k, schema["propertyNames"], document) for k in value):
        return False
    extra = schema.get("additionalProperties", True)
    return all(_fits(v, properties.get(k, extra), document) for k, v in value.items())


def example_of(schema: Mapping[str, Any], document: Mapping[str, Any]) -> Any:
    """A value valid against `schema` (refs into `document`), with realistic values where the
    field names say what they hold; `NO_EXAMPLE` when none of the tried values fits."""
    return _Builder(document).build(schema)
