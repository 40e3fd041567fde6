"""The HTTP side every service API shares: the resolver, auth context and problem responses.

A service's route modules are imported, and their routers mounted, by the first request under a
path prefix they serve (`RouteModules`), and Powertools' OpenAPI models (the Swagger UI page, the
bearer scheme) by the first request for a document: a cold start pays for the routes of one feature,
not of every feature (docs/decisions.md, "Cold start"). The OpenAPI document mounts every route first.
"""

import base64
import importlib
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from html import escape
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.shared.json_encoder import Encoder
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import TypeAdapter

from shared import clock, conventions, idempotency, key_permissions, preconditions, ratelimit
from shared.auth import AuthContext, KeysUnavailable, Refused, Unauthenticated, from_http_event
from shared.errors import (
    BadRequest,
    DomainError,
    FieldError,
    Forbidden,
    Merged,
    NotFound,
    PayloadTooLarge,
    Problem,
    UnsupportedMediaType,
    field_errors_from_pydantic,
    problem_body,
)
from shared.events import Envelope
from shared.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

PROBLEM_JSON = "application/problem+json"
MAX_BODY_BYTES = 256 * 1024
# The deepest nesting of arrays and objects a JSON body may have: Python's parser (and pydantic
# after it) recurse per level, and 100,000 levels end in a RecursionError (a 500).
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEPS = bytes(1 if b in b"[{" else 255 if b in b"]}" else 0 for b in range(256))  # 255: -1 signed
API_VERSION = "1.0.0"
# The merged document of every service's API (`kontakt docs` writes it; `kontakt build` puts it at
# the same place beside shared/ in each service's code), served at /openapi.json, its index at /docs.
KONTAKT_OPENAPI = Path(__file__).resolve().parents[1] / "docs" / "openapi" / "kontakt.json"
POWERTOOLS_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def problem_response(error: DomainError, correlation_id: str | None = None) -> Response:
    body = problem_body(error.status, error.code, error.title, error.detail, error.errors, correlation_id)
    body.update(error.extensions())
    return Response(status_code=error.status, content_type=PROBLEM_JSON, body=json.dumps(body))


def moved_response(error: Merged, path: str, query: str = "") -> Response:
    """A GET of a merged record (by its path or a filter's id): 301 to the same request on the
    survivor, the problem body naming it."""
    body = problem_body(301, error.code, "Moved permanently", error.detail)
    body.update(error.extensions())
    segments = [error.survivor_id if part == error.record_id else part for part in path.split("/")]
    pairs = [(k, error.survivor_id if v == error.record_id else v) for k, v in parse_qsl(query, keep_blank_values=True)]
    headers = {"Location": "/".join(segments) + (f"?{urlencode(pairs)}" if pairs else "")}
    return Response(status_code=301, content_type=PROBLEM_JSON, body=json.dumps(body), headers=headers)


def body_size(body: str | None, is_base64_encoded: bool) -> int:
    """The size in bytes of a request body as the client sent it."""
    if not body:
        return 0
    if is_base64_encoded:
        return len(body) * 3 // 4 - (len(body) - len(body.rstrip("=")))
    return len(body.encode())


def _too_large(app: APIGatewayHttpResolver) -> PayloadTooLarge | None:
    event = app.current_event
    if body_size(event.body, bool(event.is_base64_encoded)) > MAX_BODY_BYTES:
        return PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    return None


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text, brackets in strings not counted
    (0 for a text with at most `MAX_JSON_DEPTH` opening brackets: it cannot be too deep).

    The strings are cut out, each bracket becomes +1 or -1 (a signed byte) and the depth is the
    highest running sum: all in C but the sum, ~12 ms for 256 KB of brackets.
    """
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return 0  # cannot be too deep: no need to walk it
    steps = _JSON_STRING.sub("", text).encode(errors="ignore").translate(_BRACKET_STEPS, _NOT_BRACKETS)
    return max(accumulate(memoryview(steps).cast("b")), default=0)


def _body_text(event: Mapping[str, Any]) -> str:
    body = str(event.get("body") or "")
    if not event.get("isBase64Encoded"):
        return body
    try:
        return base64.b64decode(body).decode("utf-8", errors="replace")
    except ValueError:
        return ""


def _problem_result(error: DomainError) -> dict[str, Any]:
    """A problem answer as the Lambda result, for refusals made before Powertools parses the request."""
    body = problem_body(error.status, error.code, error.title, error.detail, error.errors)
    headers = {"Content-Type": PROBLEM_JSON}
    return {"statusCode": error.status, "headers": headers, "body": json.dumps(body), "isBase64Encoded": False}


def _limit_body_size(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    # Powertools validates the request before user middlewares run: an oversized body that is
    # also invalid is answered 413 by the validation error handler below.
    too_large = _too_large(app)
    if too_large:
        raise too_large
    return next_middleware(app)


# Every HTML page an API serves (the unsubscribe landing page, the Swagger UI page): no scripts of
# another origin, no framing (clickjacking), no MIME sniffing, no Referer with the page's token.
HTML_POLICY = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
# Swagger UI's page is one document with its script, styles and the OpenAPI document inline; its
# "Try it out" calls this API.
DOCS_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def html_headers(policy: str = HTML_POLICY) -> dict[str, str]:
    """The security headers of an HTML page."""
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def _secure_html(docs_path: str) -> Callable[[APIGatewayHttpResolver, NextMiddleware], Response]:
    """The middleware that gives every text/html response of an app `html_headers()`."""

    def secure_html(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        response = next_middleware(app)
        content_type = str(response.headers.get("Content-Type") or response.content_type or "")
        if content_type.split(";", 1)[0].strip().lower() == "text/html":
            docs = app.current_event.raw_event.get("rawPath") == docs_path
            for name, value in html_headers(DOCS_POLICY if docs else HTML_POLICY).items():
                response.headers.setdefault(name, value)
        return response

    return secure_html


# A parsed JSON value's type, as JSON Schema names it.
_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (dict, "object"),
    (list, "array"),
    (str, "string"),
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (type(None), "null"),
)


def json_type(value: Any) -> str:
    """`object`, `array`, `string`, `boolean`, `integer`, `number` or `null`."""
    return next(name for kind, name in _JSON_TYPES if isinstance(value, kind))


def documented_types(annotation: Any) -> frozenset[str] | None:
    """The JSON types a body of this annotation may have at its top level, as its JSON Schema says
    (`integer` also allows `number`'s whole values, `number` allows `integer`); None when the schema
    names no type (any JSON)."""
    schema = TypeAdapter(annotation).json_schema()
    definitions = schema.get("$defs", {})
    types: set[str] = set()
    pending = [schema]
    while pending:
        node = pending.pop()
        if "$ref" in node:
            pending.append(definitions[node["$ref"].rsplit("/", 1)[-1]])
        elif "type" in node:  # before the combinators: a model's rules across fields sit beside its type
            types.update([node["type"]] if isinstance(node["type"], str) else node["type"])
        elif any(key in node for key in ("anyOf", "oneOf")):
            pending.extend(node.get("anyOf", []) + node.get("oneOf", []))
        elif "const" in node or "enum" in node:
            types.update(json_type(v) for v in ([node["const"]] if "const" in node else node["enum"]))
        else:
            return None
    if "number" in types:
        types.add("integer")
    return frozenset(types)


class BodyTypeValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, refusing a query parameter the route does not declare and a
    JSON body whose top-level type is not the documented one.

    An unknown query parameter (`GET /contacts?emial=x`, or a filter a list does not support) is a
    400 naming `query.<name>` on every documented route: ignored, it answered as if unfiltered.

    Powertools hands a route's single body parameter the first element of a JSON array when the
    parameter is not a sequence (its form-data rule applied to JSON): `[{...}, {...}]` sent to
    `POST /accounts` created one account and dropped the other. Here a body that is not of the
    documented type (an array, a string, a number or null where an object is expected) is a 422
    naming `body`, before anything else reads it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._types: dict[int, frozenset[str] | None] = {}

    def handler(self, app: Any, next_middleware: NextMiddleware) -> Response:
        route = app.context["_route"]
        # Powertools' own pages (swagger `?format=json`) read theirs; a public link in a mail (no login:
        # `security=[{}]`) gets parameters from link scanners and analytics (`utm_*`) and must still work.
        if route.include_in_schema and route.security != [{}]:
            known = {param.alias for param in route.dependant.query_params}
            unknown = sorted(set(app.current_event.resolved_query_string_parameters or {}) - known)
            if unknown:
                errors = [FieldError(field=f"query.{n}", message="unknown parameter", code="unknown") for n in unknown]
                raise BadRequest(f"Unknown query parameter: {', '.join(unknown)}.", errors)
        return super().handler(app, next_middleware)

    def _parse_json_data(self, app: Any) -> Any:
        body = super()._parse_json_data(app)
        route = app.context.get("_route")
        params = route.dependant.body_params if route is not None else []
        if len(params) != 1 or getattr(params[0].field_info, "embed", None):
            return body
        if id(route) not in self._types:
            self._types[id(route)] = documented_types(params[0].field_info.annotation)
        allowed = self._types[id(route)]
        if allowed is not None and json_type(body) not in allowed:
            expected = " or ".join(sorted(allowed))
            error = {
                "type": "body_type",
                "loc": ("body",),
                "msg": f"the body must be JSON of type {expected}, not {json_type(body)}",
                "input": {},
                "ctx": {},
            }
            raise RequestValidationError([error])
        return body


def _segments(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.split("/") if part)


class RouteModules:
    """A service's route modules (`<package>.<name>`, each defining `router`) and the literal path
    prefixes each serves, in mounting order: `{"templates": ("/email/templates",), ...}`.

    A request mounts the modules with a prefix that its path starts with (segment by segment): every
    route that could match it starts with one of those prefixes, so its module is mounted before
    Powertools matches (`tests/unit/test_routers.py` checks every route against its module's
    prefixes). Modules whose prefixes nest (`/contact-orders`, `/contact-orders/settings`) have
    routes that may match one path; they are mounted together, in this order, so that the first
    registered route wins as it did when every router was mounted at start.
    """

    def __init__(self, package: str, prefixes: Mapping[str, Sequence[str]]) -> None:
        self.package = package
        self.prefixes = {name: tuple(_segments(p) for p in listed) for name, listed in prefixes.items()}
        self._together = {name: self._nesting(name) for name in self.prefixes}

    def _nesting(self, name: str) -> frozenset[str]:
        """`name` and the modules whose prefixes nest with its own, transitively."""
        found, pending = {name}, [name]
        while pending:
            mine = self.prefixes[pending.pop()]
            for other, theirs in self.prefixes.items():
                nests = any(a[: len(b)] == b or b[: len(a)] == a for a in mine for b in theirs)
                if other not in found and nests:
                    found.add(other)
                    pending.append(other)
        return frozenset(found)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.prefixes)

    def serving(self, path: str) -> list[str]:
        """The modules with a prefix that `path` starts with, and those nesting with them, in order."""
        segments = _segments(path)
        matched = [name for name, listed in self.prefixes.items() if any(segments[: len(p)] == p for p in listed)]
        together = set().union(*(self._together[name] for name in matched))
        return [name for name in self.prefixes if name in together]

    def router(self, name: str) -> Router:
        router: Router = importlib.import_module(f"{self.package}.{name}").router
        return router


class Resolver(APIGatewayHttpResolver):
    """Powertools' resolver whose OpenAPI document shows the problem+json errors it really sends.

    `form_paths`: path prefixes whose routes also take `application/x-www-form-urlencoded` bodies
    (the public one-click unsubscribe link, which mail clients POST as a form).
    `routes`: the service's route modules, mounted by the first request under one of their
    prefixes (`mount`), every one of them before the OpenAPI document is built.
    """

    def __init__(
        self,
        *args: Any,
        form_paths: tuple[str, ...] = (),
        routes: RouteModules | None = None,
        record_refusal: Callable[[Envelope], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.form_paths = form_paths
        self.record_refusal = record_refusal
        if self._enable_validation:
            self._request_validation_middleware = BodyTypeValidation()
        self.routes = routes or RouteModules("", {})
        self._mounted: set[str] = set()
        self._pages: dict[tuple[str, ...], Callable[[], None]] = {}
        self._mounting = threading.RLock()

    def mount_later(self, prefix: str, register: Callable[[], None]) -> None:
        """Run `register` (which adds routes under `prefix`) before the first request under `prefix`."""
        self._pages[_segments(prefix)] = register

    def mount(self, path: str) -> None:
        """Mount the route modules (and later pages) serving `path`, each once per process."""
        segments = _segments(path)
        pages = [p for p in self._pages if segments[: len(p)] == p]
        names = [n for n in self.routes.serving(path) if n not in self._mounted]
        if names or pages:
            self._mount(names, pages)

    def mount_all(self) -> None:
        """Mount every route module and page (the OpenAPI document shows every route)."""
        self._mount([n for n in self.routes.names if n not in self._mounted], list(self._pages))

    def _mount(self, names: list[str], pages: list[tuple[str, ...]]) -> None:
        with self._mounting:
            for name in names:
                if name not in self._mounted:
                    self.include_router(self.routes.router(name))
                    self._mounted.add(name)
            for page in pages:
                register = self._pages.pop(page, None)
                if register is not None:
                    register()

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> "OpenAPI":
        from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, OpenAPI

        from shared.operation_docs import service_docs, with_operation_docs  # the document's only (~2 ms)

        self.mount_all()
        if not self.openapi_config.security_schemes:  # the models are imported here, not at a cold start
            self.openapi_config.security_schemes = {"bearer": HTTPBearer(bearerFormat="JWT")}
        document = super().get_openapi_schema(*args, **kwargs).model_dump(mode="json", by_alias=True, exclude_none=True)
        declared = {
            (route.openapi_path, route.method.lower()): frozenset(getattr(route.func, ANSWERS_ATTRIBUTE, ()))
            for route in (*self._static_routes, *self._dynamic_routes)
        }
        routes = (*self._static_routes, *self._dynamic_routes)
        docs = service_docs(getattr(route.func, "__module__", "") for route in routes)
        conditioned = preconditions.document_conditions(idempotency.document(document))
        documented = with_operation_docs(ratelimit.document(with_problem_responses(conditioned, declared)), docs)
        return OpenAPI.model_validate(conventions.with_headers(documented))

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        self.mount(self._path_of(event))
        refused = self._refused_login(event)
        # The tenant's rate limit next (a refused request claims no key); a retried POST: the first answer.
        answer = refused or ratelimit.handle(
            event, lambda: idempotency.handle(event, lambda: self._answer(event, context))
        )
        answer = with_instance(answer, str(event.get("rawPath") or ""))
        return conventions.finish(answer, event, lambda body: self._location(event, body))

    def _refused_login(self, event: Mapping[str, Any]) -> dict[str, Any] | None:
        """A 401 (or 503) problem when the route needs a login and the bearer token or API key is
        missing or not valid (or the authorizer refused it: 401, 403); a 403 when an API key lacks
        the route's permission; None when the request may go on. No handler, no validation runs
        before this (docs/decisions.md, "API keys and the Lambda authorizer")."""
        route = self._route_of(event)
        if route is None or not needs_login(route.security, route.include_in_schema):
            return None  # a public route, or no route (404/405 say nothing a document does not)
        try:
            caller = from_http_event(event)
        except Unauthenticated as error:
            log_unauthenticated(error, conventions.request_id(event))
            return unauthenticated_result(error)
        except KeysUnavailable:
            logger.exception("token keys unavailable", extra={"correlation_id": conventions.request_id(event)})
            return _problem_result(LoginUnavailable("Logins cannot be checked right now; retry later."))
        except Refused as refused:
            forbidden = refused.status == 403
            return _problem_result(Forbidden(refused.detail) if forbidden else LoginUnavailable(refused.detail))
        if caller.key_id is not None:
            refused_key = key_refusal(caller, key_permissions.Route(route.method.upper(), route.openapi_path))
            if refused_key is not None:
                self._note_refusal(event, caller, refused_key)
            return refused_key
        return None

    def _note_refusal(self, event: Mapping[str, Any], caller: AuthContext, answer: dict[str, Any]) -> None:
        """The audit trail's record of a key refused for want of a permission (shared/refusals.py)."""
        from shared.refusals import note_refusal  # only when a key is refused

        detail = str(json.loads(answer["body"])["detail"])
        ip = str(((event.get("requestContext") or {}).get("http") or {}).get("sourceIp") or "")
        note_refusal(caller.tenant_id, caller.key_id, ip, 403, detail, clock.now(), self.record_refusal)

    def _path_of(self, event: Mapping[str, Any]) -> str:
        """The request's path as Powertools matches it."""
        return str(self._remove_prefix(APIGatewayProxyEventV2(dict(event)).path))

    def _route_of(self, event: Mapping[str, Any]) -> Any:
        """The route Powertools will call for this request: matched as its `_resolve` matches."""
        path = self._path_of(event)
        method = APIGatewayProxyEventV2(dict(event)).http_method.upper()
        for route in (*self._static_routes, *self._dynamic_routes):
            if route.method == method and route.rule.match(path):
                return route
        return None

    def _location(self, event: Mapping[str, Any], body: dict[str, Any]) -> str | None:
        """Where the record a 201 answer created can be read (`conventions.created_location`)."""
        path = str(event.get("rawPath") or "")
        method = str((event.get("requestContext") or {}).get("http", {}).get("method") or "").upper()
        for route in (*self._static_routes, *self._dynamic_routes):
            found = route.rule.match(path) if route.method == method else None
            if found:
                declared = getattr(route.func, LOCATED_ATTRIBUTE, None)
                return conventions.created_location(
                    path, body, found.groupdict(), declared, lambda p: "GET" in self.allowed_methods(p)
                )
        return None

    def allowed_methods(self, path: str) -> list[str]:
        """The methods this API answers at `path` (for a 405's `Allow`, a 201's `Location`)."""
        self.mount(path)
        routes = (*self._static_routes, *self._dynamic_routes)
        return sorted({route.method for route in routes if route.rule.match(path)})

    def _answer(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        # Powertools parses form and multipart bodies itself (and fails with a bare ValueError on a
        # multipart type without a boundary) before any middleware of ours runs: refuse every body
        # that is not JSON here, with the same 415 problem as an unknown content type.
        if event.get("body") and not is_json(_content_type(event)) and not self._takes_form(event):
            wrong = FieldError(field="headers.content-type", message="send application/json", code="unsupported")
            return _problem_result(UnsupportedMediaType("The request body must be JSON.", [wrong]))
        # Powertools parses the JSON body (recursively) before any middleware of ours runs: a body
        # over the size limit is refused unread, one nested too deeply before it is parsed.
        if body_size(event.get("body"), bool(event.get("isBase64Encoded"))) > MAX_BODY_BYTES:
            return _problem_result(PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES} bytes."))
        if event.get("body") and json_depth(_body_text(event)) > MAX_JSON_DEPTH:
            deep = FieldError(field="body", message=f"nested deeper than {MAX_JSON_DEPTH} levels", code="too_deep")
            return _problem_result(BadRequest("The request body is nested too deeply.", [deep]))
        return dict(super().resolve(event, context))

    def _takes_form(self, event: Mapping[str, Any]) -> bool:
        path = str(event.get("rawPath") or "")
        return is_form(_content_type(event)) and any(path.startswith(p) for p in self.form_paths)


class LoginUnavailable(DomainError):
    status, code, title = 503, "login_unavailable", "Login check unavailable"


def key_refusal(caller: AuthContext, route: key_permissions.Route) -> dict[str, Any] | None:
    """A 403 problem naming the permission an API key lacks for `route` (None: the key has it).

    Checked here per request, never in the authorizer: API Gateway caches the authorizer's decision
    per identity (the key and the caller's IP) for every route, so a decision about one route
    would be reused for another."""
    if key_permissions.allows(caller.permissions, route):
        return None
    permission = key_permissions.needed(route)
    missing = FieldError(field="permissions", message=permission, code="missing_permission")
    detail = f"This API key lacks the permission {permission} (or one naming {route.method} {route.path})."
    return _problem_result(Forbidden(detail, [missing]))


def needs_login(security: Any, include_in_schema: bool = True) -> bool:
    """Whether a route needs a login: every documented route but those declared `security=[{}]`
    (public pages, links, feeds); the OpenAPI documents and docs pages (not in the document) are public."""
    return include_in_schema and security not in ([], [{}])


def www_authenticate(error: Unauthenticated) -> str:
    """RFC 6750 §3: a request without a token is told the scheme; a refused token `invalid_token`."""
    if not error.token_given:
        return 'Bearer realm="kontakt"'
    return f'Bearer realm="kontakt", error="invalid_token", error_description="{error.detail}"'


def log_unauthenticated(error: Unauthenticated, correlation_id: str) -> None:
    # Why the token is refused (which claim, PyJWT's words) is for the logs only.
    logger.warning("unauthenticated request", extra={"reason": str(error), "correlation_id": correlation_id})


def unauthenticated_result(error: Unauthenticated) -> dict[str, Any]:
    """The 401 problem as the Lambda result, with its `WWW-Authenticate` challenge."""
    body = problem_body(401, "unauthorized", "Unauthorized", error.detail)
    headers = {"Content-Type": PROBLEM_JSON, "WWW-Authenticate": www_authenticate(error)}
    return {"statusCode": 401, "headers": headers, "body": json.dumps(body), "isBase64Encoded": False}


def with_instance(result: dict[str, Any], path: str) -> dict[str, Any]:
    """A problem answer names the request it is about (RFC 9457 `instance`: the request's path)."""
    headers = result.get("headers") or {}
    media = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")
    if media.split(";", 1)[0].strip().lower() != PROBLEM_JSON or not path or result.get("isBase64Encoded"):
        return result
    try:
        body = json.loads(result.get("body") or "")
    except ValueError:
        return result
    if isinstance(body, dict) and "instance" not in body:
        body["instance"] = path
        result["body"] = json.dumps(body)
    return result


def _content_type(event: Mapping[str, Any]) -> str:
    headers = event.get("headers") or {}
    return next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")


def is_json(content_type: str) -> bool:
    """No content type (Powertools then reads JSON), application/json or a +json type."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("", "application/json") or media.endswith("+json")


def is_form(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


# Each error status an operation can answer: its shared response (components.responses) and what
# it means (see `operation_answers` for who answers it).
ANSWERS = {
    400: (
        "BadRequest",
        "Bad request: a query parameter the operation does not take, a body that is not JSON (or nested too deeply),"
        " a cursor this API did not give, or a combination of parameters the operation does not support",
    ),
    401: (
        "Unauthorized",
        "Not authenticated: no bearer token, or one that is expired, not signed by the user pool or not for this"
        " API's app client, or an API key that is unknown, locked, revoked or expired; `WWW-Authenticate` names the"
        " error. A request with no `Authorization` header at all is refused by API Gateway itself (its own JSON)",
    ),
    402: ("PaymentRequired", "Payment required: the tenant's prepaid credits do not cover this; nothing was taken"),
    403: (
        "Forbidden",
        "Forbidden: the caller's role or the tenant's features do not allow this, the API key lacks the"
        " permission (`errors` names it), or the caller's IP is outside the key's allow-list",
    ),
    301: (
        "MovedPermanently",
        "Moved permanently: the record was merged into another; `Location` is this path on the survivor, and"
        " `survivor_id` names it",
    ),
    404: ("NotFound", "Not found: no such record in the caller's tenant"),
    409: ("Conflict", "Conflict: the record's state does not allow this, or it changed meanwhile (reload, retry)"),
    410: ("Gone", "Gone: the record was merged into another, which `survivor_id` names; nothing was changed"),
    412: ("PreconditionFailed", "Precondition failed: `If-Match` does not hold (the record changed since it was read)"),
    413: ("PayloadTooLarge", f"Payload too large: the body is over {MAX_BODY_BYTES} bytes"),
    415: ("UnsupportedMediaType", "Unsupported media type: the body is not application/json"),
    422: ("ValidationFailed", "Validation failed: `errors` names each field"),
    429: (
        "TooManyRequests",
        "Too many requests: the tenant's rate limit (a problem, `rate_limited`, with `Retry-After`) or API Gateway's"
        " throttling of the route (its own JSON, no `Retry-After`) was reached",
    ),
    503: ("Unavailable", "Unavailable: a service this depends on did not answer; retry later"),
}
# The 429 of an operation without a login: only API Gateway's throttling answers it.
GATEWAY_THROTTLED = ("GatewayThrottled", "Too many requests: API Gateway's throttling of the route was reached")
WWW_AUTHENTICATE_HEADER = {
    "description": 'RFC 6750: `Bearer realm="kontakt"`; with `error="invalid_token"` when a token was sent and refused',
    "schema": {"type": "string"},
}
GATEWAY_ERROR = {
    "description": "An error answered by API Gateway itself, before the function runs",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
    "title": "GatewayError",
    "type": "object",
}
WRITES = frozenset({"post", "put", "patch", "delete"})
ANSWERS_ATTRIBUTE = "__kontakt_answers__"  # set by `shared.routes.answers` on a handler
LOCATED_ATTRIBUTE = "__kontakt_located__"  # set by `shared.routes.located` on a handler


def operation_answers(operation: Mapping[str, Any], method: str, declared: frozenset[int] = frozenset()) -> set[int]:
    """The error statuses an operation can answer, from what its route takes:

    - a login (the document's bearer scheme): 401 (`shared.auth` verifies the token, `Resolver` refuses),
      403 (`Caller.open`'s role and feature check) and 503 (the user pool's keys could not be read:
      `login_unavailable`);
    - a JSON body: 400 (malformed or too deep), 413 (too large), 415 (not JSON) and 422;
    - parameters: 422; a path parameter or an `*_id` query parameter: 404 (no such record in the
      tenant);
    - a write: 409 (a state that refuses it, or another writer: `ConcurrentUpdate`); a PUT, PATCH
      or DELETE: 412 (its `If-Match` does not hold, `shared.preconditions`);
    - an `Idempotency-Key` header (`shared/idempotency.py`): 409 (a request with the key still
      runs) and 422 (the key was used for another request);
    - every operation: 400 (a query parameter it does not take: `BodyTypeValidation`; a bad cursor
      or an unsupported combination of parameters) and 429 (API Gateway's throttling; with a login
      also the tenant's rate limit, `shared.ratelimit`);
    and the statuses its handler declares with `shared.routes.answers`.
    """
    statuses = {400, 429, *declared}
    if operation.get("security", [{"bearer": []}]) not in ([], [{}]):
        statuses |= {401, 403, 503}
    if "requestBody" in operation:
        statuses |= {400, 413, 415, 422}
    parameters = [p for p in operation.get("parameters", []) if isinstance(p, Mapping)]
    if parameters:
        statuses.add(422)
    if any(p.get("in") == "path" or str(p.get("name", "")).endswith("_id") for p in parameters):
        statuses.add(404)
    if method in WRITES:
        statuses.add(409)
    if method in preconditions.CONDITIONAL:
        statuses.add(412)
    if any(p.get("in") == "header" and p.get("name") == idempotency.HEADER for p in parameters):
        statuses |= {409, 422}
    return statuses


def _answer(status: int, signed_in: bool = True) -> dict[str, Any]:
    """The shared response of an error status (components.responses); a 429 of an operation
    without a login is API Gateway's alone (`GATEWAY_THROTTLED`)."""
    content: dict[str, Any] = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    gateway = {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayError"}}}
    if status == 429 and not signed_in:
        return {"description": GATEWAY_THROTTLED[1], "content": gateway}
    if status in (401, 413, 429):  # also API Gateway's own: no Authorization header, payload limit, throttling
        content = {**content, **gateway}
    answer: dict[str, Any] = {"description": ANSWERS[status][1], "content": content}
    if status == 429:  # the kernel's: the tenant's rate limit (`shared.ratelimit`)
        answer["headers"] = ratelimit.response_headers(throttled=True)
    if status == 301:
        answer["headers"] = {"Location": {"description": "This path on the survivor", "schema": {"type": "string"}}}
    if status == 401:  # the kernel's (shared/auth.py), from the authorizer's decision
        answer["headers"] = {"WWW-Authenticate": WWW_AUTHENTICATE_HEADER}
    return answer


def _no_content(responses: dict[str, Any]) -> None:
    """A handler typed `-> Response[None]` answers 204 with no body (`shared.routes.no_content`):
    Powertools documents it as a 200 with a JSON `null`."""
    success = responses.get("200")
    schema = (success or {}).get("content", {}).get("application/json", {}).get("schema", {})
    if success is not None and schema.get("type") == "null":
        del responses["200"]
        responses["204"] = {"description": "Done: no content"}


def with_problem_responses(
    document: dict[str, Any], declared: Mapping[tuple[str, str], frozenset[int]] | None = None
) -> dict[str, Any]:
    """Every error an operation can answer documented as our problem+json body (RFC 9457), in place
    of Powertools' `HTTPValidationError` 422; no-content answers as 204.

    `declared`: the statuses handlers declared (`shared.routes.answers`), by (path, method).
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, schema in problem.pop("$defs", {}).items():
        schemas.setdefault(name, schema)
    schemas["Problem"] = problem
    schemas["GatewayError"] = GATEWAY_ERROR
    # Powertools' own error models: their 422 is replaced below, and response validation (whose
    # `ResponseValidationError` it defines on every document) is not enabled, so none is referenced.
    for name in POWERTOOLS_ERROR_SCHEMAS:
        schemas.pop(name, None)
    default_security = document.get("security")
    shared = document["components"].setdefault("responses", {})
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = {str(status): response for status, response in operation["responses"].items()}
            responses.pop("422", None)
            _no_content(responses)
            if default_security and "security" not in operation:
                operation["security"] = default_security
            facts = {**operation, "security": operation.get("security") or []}
            for status in sorted(operation_answers(facts, method, (declared or {}).get((path, method), frozenset()))):
                signed_in = ratelimit.signed_in(facts)
                name = GATEWAY_THROTTLED[0] if status == 429 and not signed_in else ANSWERS[status][0]
                shared.setdefault(name, _answer(status, signed_in))
                responses.setdefault(str(status), {"$ref": f"#/components/responses/{name}"})
            operation["responses"] = dict(sorted(responses.items()))
    return document


def utf8_json(value: Any) -> str:
    """The API's JSON: compact, non-ASCII as UTF-8 (an `ä` is 2 bytes, not the 6 of `\\u00e4`; an
    emoji 4, not 12), so that a list page of the largest records stays small (tests/e2e/test_list_sizes.py)."""
    return json.dumps(value, separators=(",", ":"), cls=Encoder, ensure_ascii=False)


def create_app(
    title: str,
    docs_prefix: str,
    routers: RouteModules | Sequence[Router] = (),
    form_paths: tuple[str, ...] = (),
    record_refusal: Callable[[Envelope], None] | None = None,
) -> Resolver:
    """A service's API: a Powertools resolver with validation, problem+json errors, its routers and its docs.

    `routers`: the service's route modules, one per feature, named with the path prefixes they
    serve in `handlers/routes/__init__.py` (`ROUTERS`, a `RouteModules`): each is imported and
    mounted by the first request under one of its prefixes, all of them (in that order) for the
    OpenAPI document; a sequence of routers is mounted at once. The app serves its OpenAPI document
    at `/<docs_prefix>/openapi.json` and Swagger UI at `/<docs_prefix>/docs` (set up by its first
    request), both without a login (`needs_login`: routes not in the document are public).
    `form_paths`: path prefixes that also take form bodies (see `Resolver`); every other route takes JSON only.
    `record_refusal`: how a service without an outbox records an API key's refusal (shared/refusals.py).
    """
    lazy = routers if isinstance(routers, RouteModules) else None
    app = Resolver(
        enable_validation=True, form_paths=form_paths, serializer=utf8_json, routes=lazy, record_refusal=record_refusal
    )
    app.use(middlewares=[_limit_body_size, _secure_html(f"/{docs_prefix}/docs"), preconditions.middleware])
    # Configured on the app (not only on the swagger page) so that `get_openapi_json_schema()`,
    # which the checked-in docs are generated from, carries the title, version and bearer scheme
    # (the scheme's model is added by `Resolver.get_openapi_schema`: Powertools' OpenAPI models
    # cost ~40 ms of a cold start, and only a document needs them).
    app.configure_openapi(title=title, version=API_VERSION, security=[{"bearer": []}])
    app.mount_later(f"/{docs_prefix}/docs", lambda: app.enable_swagger(path=f"/{docs_prefix}/docs"))
    _register_error_handlers(app)

    @app.get(f"/{docs_prefix}/openapi.json", include_in_schema=False)
    def openapi_document() -> Response[str]:
        return Response(status_code=200, content_type="application/json", body=app.get_openapi_json_schema())

    _serve_kontakt_docs(app)
    for router in routers if not isinstance(routers, RouteModules) else ():
        app.include_router(router)
    return app


def _serve_kontakt_docs(app: APIGatewayHttpResolver) -> None:
    """/openapi.json (every service's API in one document) and /docs (an index of the services'
    documents and pages): on every app, without a login; template.yaml routes them to one function."""

    def merged() -> dict[str, Any]:
        try:
            return dict(json.loads(KONTAKT_OPENAPI.read_text(encoding="utf-8")))
        except FileNotFoundError as error:
            raise NotFound("The merged API document is not part of this build.") from error

    @app.get("/openapi.json", include_in_schema=False)
    def kontakt_openapi() -> Response[str]:
        return Response(status_code=200, content_type="application/json", body=json.dumps(merged()))

    @app.get("/docs", include_in_schema=False)
    def kontakt_docs_index() -> Response[str]:
        rows = "".join(
            f'<li><a href="{escape(s["docs"])}">{escape(s["title"])}</a> '
            f'(<a href="{escape(s["openapi"])}">OpenAPI document</a>)</li>'
            for s in merged().get("x-kontakt-services", [])
        )
        body = (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Kontakt API</title></head>'
            "<body><main><h1>Kontakt API</h1>"
            '<p>Every service in one document: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>'
            f"<h2>Services</h2><ul>{rows}</ul></main></body></html>\n"
        )
        return Response(status_code=200, content_type="text/html; charset=utf-8", body=body)


def _correlation_id(app: APIGatewayHttpResolver) -> str:
    return conventions.request_id(app.current_event.raw_event)


def _register_error_handlers(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(DomainError)
    def domain_error(error: DomainError) -> Response:
        event = app.current_event
        if isinstance(error, Merged) and event.http_method in ("GET", "HEAD"):
            return moved_response(error, event.path, str(event.raw_event.get("rawQueryString") or ""))
        return problem_response(error)

    @app.exception_handler(RequestValidationError)
    def validation_error(error: RequestValidationError) -> Response:
        too_large = _too_large(app)
        if too_large:
            return problem_response(too_large)
        errors = field_errors_from_pydantic(error.errors())
        if any(e.code == "json_invalid" for e in errors):
            malformed = FieldError(field="body", message="malformed JSON", code="json_invalid")
            bad = DomainError("The request body is not valid JSON.", [malformed])
            return problem_response(bad)
        invalid = DomainError("The request is not valid.", errors)
        invalid.status, invalid.code, invalid.title = 422, "validation_failed", "Validation failed"
        return problem_response(invalid)

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_content_type(_: RequestUnsupportedContentType) -> Response:
        wrong = FieldError(field="headers.content-type", message="send application/json", code="unsupported")
        return problem_response(UnsupportedMediaType("The request body must be JSON.", [wrong]))

    @app.exception_handler(UnicodeDecodeError)
    def undecodable_body(_: UnicodeDecodeError) -> Response:
        malformed = FieldError(field="body", message="the body is not UTF-8 text", code="json_invalid")
        return problem_response(BadRequest("The request body is not valid JSON.", [malformed]))

    @app.exception_handler(Unauthenticated)
    def unauthenticated(error: Unauthenticated) -> Response:
        # A handler asked for the caller of a request `Resolver` let through (its token was checked
        # then; its claims may still be unusable: no tenant, an unknown role).
        log_unauthenticated(error, _correlation_id(app))
        result = unauthenticated_result(error)
        return Response(status_code=401, content_type=PROBLEM_JSON, body=result["body"], headers=result["headers"])

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response:
        correlation_id = _correlation_id(app)
        logger.exception("unhandled error", extra={"correlation_id": correlation_id})
        body = problem_body(
            500, "internal_error", "Internal error", "Something went wrong on our side.", correlation_id=correlation_id
        )
        return Response(status_code=500, content_type=PROBLEM_JSON, body=json.dumps(body))

    @app.not_found
    def not_found(_: Any) -> Response:
        return no_route(app)


def no_route(app: APIGatewayHttpResolver) -> Response:
    """A path this API does not serve is 404; a path it serves with other methods is 405 with `Allow`."""
    allowed = app.allowed_methods(app.current_event.path) if isinstance(app, Resolver) else []
    if not allowed:
        body = problem_body(404, "not_found", "Not found", "No such route.")
        return Response(status_code=404, content_type=PROBLEM_JSON, body=json.dumps(body))
    method = app.current_event.http_method.upper()
    detail = f"{method} is not allowed here; this path answers {', '.join(allowed)}."
    body = problem_body(405, "method_not_allowed", "Method not allowed", detail)
    return Response(
        status_code=405, content_type=PROBLEM_JSON, body=json.dumps(body), headers={"Allow": ", ".join(allowed)}
    )


def auth(app: APIGatewayHttpResolver) -> AuthContext:
    """The caller, from the request's bearer token (`shared.auth`)."""
    return from_http_event(app.current_event.raw_event)
