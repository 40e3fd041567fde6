"""Generated contracts: the event catalogue as docs/events.md, each service's API as OpenAPI JSON.

`kontakt docs` (`make docs`) writes them; `kontakt docs --check` and tests/unit/test_docs_current.py
fail when the checked-in copies differ from what the code says.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import pkgutil
import re
from pathlib import Path
from typing import Any

import services
import shared.contracts
from shared.events import Envelope, EventSpec, catalogue

EVENTS_MD = Path("docs") / "events.md"
WEBHOOK_EVENT_TYPES = Path("services") / "webhooks" / "event_types.json"
# Not offered to webhooks: internal command events (a request to do something, not a fact) and the
# webhooks service's own (`webhook.*`: its rule leaves them out, so no delivery makes another).
INTERNAL_EVENTS = re.compile(r"^(audience\.|webhook\.|.*_requested$|.*_refused$)")
OPENAPI_DIR = Path("docs") / "openapi"
# The one document of all of Kontakt's APIs (served at /openapi.json, its index at /docs): one SDK.
MERGED_OPENAPI = OPENAPI_DIR / "kontakt.json"


def service_names() -> list[str]:
    """The packages under `services/`."""
    return sorted(m.name for m in pkgutil.iter_modules(services.__path__) if m.ispkg)


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def load_catalogue() -> list[EventSpec]:
    """Every registered event type: import each service's events module and every shared contract."""
    modules = [f"services.{name}.events" for name in service_names()]
    modules += [f"shared.contracts.{m.name}" for m in pkgutil.iter_modules(shared.contracts.__path__)]
    for module in modules:
        if _has_module(module):
            importlib.import_module(module)
    return catalogue.all()


def _json_block(value: Any) -> str:
    return "```json\n" + json.dumps(value, indent=2) + "\n```"


def _envelope_table() -> str:
    schema = Envelope.model_json_schema()
    required = set(schema.get("required", []))
    rows = ["| field | type | required | meaning |", "|---|---|---|---|"]
    for name, field in schema["properties"].items():
        kind = field.get("type") or field.get("$ref", "").rsplit("/", 1)[-1].lower() or "any"
        if field.get("format"):
            kind = f"{kind} ({field['format']})"
        rows.append(f"| `{name}` | {kind} | {'yes' if name in required else 'no'} | {field.get('description', '')} |")
    return "\n".join(rows)


def _sources(spec: EventSpec) -> str:
    return ", ".join(f"`kontakt.{p.strip()}`" for p in spec.producer.split(","))


def render_events_md() -> str:
    specs = load_catalogue()
    parts = [
        "# Events",
        "",
        "<!-- Generated from the event catalogue by `kontakt docs` (`make docs`). Do not edit by hand. -->",
        "",
        "Services talk only through events on the EventBridge bus. A command writes its items and an",
        "outbox item in one DynamoDB transaction; the table's stream feeds the service's outbox publisher,",
        "which puts the events on the bus in calls of at most 10 entries and 256 KB (an event over 256 KB is",
        "set aside to the publisher's dead-letter queue). Each EventBridge event carries:",
        "",
        "- `source`: `kontakt.<service>`, the producing service;",
        "- `detail-type`: the event type (`<entity>.<verb>`), the same as the envelope's `type`;",
        "- `detail`: the envelope below, with the payload in `data`.",
        "",
        "Consumers receive events through their own SQS queue (an EventBridge rule per consumer, with a",
        "dead-letter queue); the envelope is the `detail` of the message body. Delivery is at least once:",
        "consumers are idempotent on the envelope's `id`.",
        "",
        "## The envelope",
        "",
        _envelope_table(),
        "",
        "<details><summary>Envelope JSON schema</summary>",
        "",
        _json_block(Envelope.model_json_schema()),
        "",
        "</details>",
        "",
        "## Event types",
        "",
        "| type | version | producer | description |",
        "|---|---|---|---|",
        *(
            f"| [`{s.event_type}`](#{_anchor(s.event_type)}) | {s.version} | {s.producer} | {s.description} |"
            for s in specs
        ),
    ]
    for spec in specs:
        parts += [
            "",
            f"### {spec.event_type}",
            "",
            spec.description,
            "",
            f"- version: {spec.version}",
            f"- producer: {spec.producer} (source {_sources(spec)})",
            f"- payload: `{spec.payload.__name__}`",
            "",
            _json_block(spec.payload.model_json_schema()),
        ]
    return "\n".join(parts) + "\n"


def _anchor(event_type: str) -> str:
    """GitHub's heading anchor for `### account.created`: lower case, dots dropped."""
    return event_type.replace(".", "")


def api_services() -> list[str]:
    """The services that have an HTTP API (`services/<name>/handlers/api.py`)."""
    return [name for name in service_names() if _has_module(f"services.{name}.handlers.api")]


@functools.cache
def openapi_text(service: str) -> str:
    """The OpenAPI document of a service's API as its Powertools resolver generates and serves it
    (properties in their models' order). Kept per process (a service's routes do not change in
    one): generating one takes a second or so, and the tests ask for each document many times."""
    module = importlib.import_module(f"services.{service}.handlers.api")
    return str(module.openapi_json() if hasattr(module, "openapi_json") else module.app.get_openapi_json_schema())


@functools.cache
def render_openapi(service: str) -> str:
    """The document as docs/openapi/ holds it: sorted JSON."""
    return _json_text(json.loads(openapi_text(service)))


def _json_text(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


class MergeError(Exception):
    """Two services' documents cannot make one: a path or a component name both define differently."""


def merged_openapi(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One document of every service's API: their paths and components together.

    A path two services both serve, a component name or a tag two services define differently, or
    an operationId used twice is a `MergeError` (a name is part of the API: a generated client's class
    or function). `x-kontakt-services` lists each service's own document and Swagger UI page, for
    the index at /docs.
    """
    merged: dict[str, Any] = {"openapi": "3.1.0", "paths": {}, "components": {}, "servers": [{"url": "/"}]}
    services: list[dict[str, str]] = []
    operation_ids: dict[str, str] = {}
    tags: dict[str, dict[str, Any]] = {}
    for service, document in sorted(documents.items()):
        services.append(
            {
                "name": service,
                "title": str(document.get("info", {}).get("title", service)),
                "docs": f"/{service}/docs",
                "openapi": f"/{service}/openapi.json",
            }
        )
        if "security" in document and merged.setdefault("security", document["security"]) != document["security"]:
            raise MergeError(f"{service}: its security differs from another service's")
        for path, item in document.get("paths", {}).items():
            if path in merged["paths"]:
                raise MergeError(f"{path}: served by two services ({service} and another)")
            merged["paths"][path] = item
            for operation in item.values():
                operation_id = operation.get("operationId") if isinstance(operation, dict) else None
                if operation_id and operation_ids.setdefault(operation_id, service) != service:
                    raise MergeError(f"operationId {operation_id}: used by {operation_ids[operation_id]} and {service}")
        for tag in document.get("tags", []):
            if tags.setdefault(tag["name"], tag) != tag:
                raise MergeError(f"tag {tag['name']}: described differently by {service} and another service")
        for kind, components in document.get("components", {}).items():
            into = merged["components"].setdefault(kind, {})
            for name, component in components.items():
                if into.setdefault(name, component) != component:
                    raise MergeError(f"components.{kind}.{name}: defined differently by {service} and another service")
    merged["info"] = {
        "title": "Kontakt",
        "version": next(iter(documents.values()), {}).get("info", {}).get("version", "1.0.0"),
        "description": "Every Kontakt service's API in one document; each service also serves its own.",
    }
    if tags:
        merged["tags"] = [tags[name] for name in sorted(tags)]
    merged["x-kontakt-services"] = services
    return merged


def example_of(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """A value that fits a payload's JSON Schema: its example or default, else a placeholder of its type."""
    defs = schema.get("$defs", defs or {})
    if "$ref" in schema:
        return example_of(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    for key in ("examples", "example", "default", "const", "enum"):
        if key in schema and schema[key] is not None:
            value = schema[key]
            return value[0] if key in ("examples", "enum") and isinstance(value, list) and value else value
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return example_of(options[0], defs)
    kind = schema.get("type")
    if kind == "object":
        return {name: example_of(sub, defs) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example_of(schema.get("items", {}), defs)]
    formats = {"date-time": "2026-01-01T12:00:00Z", "date": "2026-01-01", "email": "maija@example.fi"}
    placeholders = {"string": formats.get(schema.get("format", ""), "string"), "integer": 1, "number": 1.5}
    return placeholders.get(kind, True if kind == "boolean" else None)  # type: ignore[arg-type]


def render_webhook_event_types() -> str:
    """The event types a webhook may receive (services/webhooks/catalogue.py reads this file)."""
    types = []
    for spec in load_catalogue():
        if INTERNAL_EVENTS.match(spec.event_type):
            continue
        schema = spec.payload.model_json_schema()
        types.append(
            {
                "type": spec.event_type,
                "version": spec.version,
                "description": spec.description,
                "schema": schema,
                "example": example_of(schema),
            }
        )
    return _json_text(types)


def rendered() -> dict[Path, str]:
    """Every generated file, by its path relative to the project root."""
    return dict(_rendered())


@functools.cache
def _rendered() -> dict[Path, str]:
    """Kept per process, as each document is: the code does not change in one, and the test modules
    of the generated docs each asked for all of them at their import, in every test worker."""
    files = {EVENTS_MD: render_events_md(), WEBHOOK_EVENT_TYPES: render_webhook_event_types()}
    documents = {}
    for service in api_services():
        text = render_openapi(service)
        files[OPENAPI_DIR / f"{service}.json"] = text
        documents[service] = json.loads(text)
    files[MERGED_OPENAPI] = _json_text(merged_openapi(documents))
    return files


def _leftovers(root: Path, expected: dict[Path, str]) -> list[Path]:
    """OpenAPI files of services that no longer have an API."""
    return sorted(
        path.relative_to(root) for path in (root / OPENAPI_DIR).glob("*.json") if path.relative_to(root) not in expected
    )


def stale(root: Path) -> list[Path]:
    """The generated files that are missing, differ from the code, or should not exist."""
    expected = rendered()
    changed = [
        path
        for path, text in expected.items()
        if not (root / path).is_file() or (root / path).read_text(encoding="utf-8") != text
    ]
    return changed + _leftovers(root, expected)


def write_all(root: Path) -> list[Path]:
    """Write every generated file that changed (and remove leftovers); the paths touched."""
    expected = rendered()
    touched = []
    for path, text in expected.items():
        target = root / path
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        touched.append(path)
    for path in _leftovers(root, expected):
        (root / path).unlink()
        touched.append(path)
    return touched
