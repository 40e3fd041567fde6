"""The local HTTP API: requests become API Gateway HTTP API (payload 2.0) events."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jwt
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from infra import dev_mail, dev_webhooks, devpage, sms_emulation
from infra.auth import DevIssuer
from infra.console import Console
from infra.functions import FunctionError
from infra.template import ACCOUNT_ID, DEFAULT_ROUTE, REGION, Authorizer, Route, Stack, Throttle

log = logging.getLogger("kontakt.gateway")

MAX_PAYLOAD = 10 * 1024 * 1024
# /dev/* (every tenant's events and mail, dev tokens) answers only a Host header naming this machine:
# a page of another site that resolves its name to 127.0.0.1 (DNS rebinding) sends its own name.
_LOOPBACK_HOST = re.compile(r"(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?", re.IGNORECASE)
# A sent mail's HTML is shown sandboxed: no scripts, no forms, an origin of its own (not the API's).
MAIL_HTML_HEADERS = {
    "Content-Security-Policy": "sandbox",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
DEV_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# The answers API Gateway gives without a function, with why (the console prints them).
_GATEWAY_ANSWERS = {
    204: "CORS preflight",
    401: "no valid token",
    403: "authorizer refused",
    500: "authorizer failed",
    404: "no route",
    413: "too large",
    429: "throttled",
}
_TEXT_TYPES = ("text/", "json", "xml", "javascript", "x-www-form-urlencoded", "yaml", "csv")


@dataclass
class CompiledRoute:
    route: Route
    pattern: re.Pattern[str]
    params: list[str]
    greedy: bool
    literal_segments: int

    @classmethod
    def compile(cls, route: Route) -> CompiledRoute:
        parts, params, greedy, literals = [], [], False, 0
        for segment in route.path.strip("/").split("/"):
            match = re.fullmatch(r"\{(\w+)(\+?)\}", segment)
            if match and match.group(2):
                parts.append(f"(?P<{match.group(1)}>.+)")
                greedy = True
            elif match:
                parts.append(f"(?P<{match.group(1)}>[^/]+)")
            else:
                parts.append(re.escape(segment))
                literals += 1
            if match:
                params.append(match.group(1))
        # DOTALL: a greedy {proxy+} takes every character of the path, an encoded newline (%0A) too,
        # as API Gateway's does (the function's own router then answers its 404 or 422 problem).
        pattern = re.compile("/" + "/".join(parts) if parts != [""] else "/", re.DOTALL)
        return cls(route, pattern, params, greedy, literals)

    def specificity(self) -> tuple[int, int, int, int]:
        """Lower sorts first: exact paths, then {param}, then {proxy+}; a method before ANY."""
        return (int(self.greedy), -self.literal_segments, len(self.params), int(self.route.method == "ANY"))


class RouteTable:
    """The routes of an HTTP API: the most specific match wins; `$default` takes what none matches."""

    def __init__(self, routes: list[Route]) -> None:
        self.default = next((r for r in routes if r.path == DEFAULT_ROUTE), None)
        named = [r for r in routes if r.path != DEFAULT_ROUTE]
        self._routes = sorted((CompiledRoute.compile(r) for r in named), key=CompiledRoute.specificity)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for compiled in self._routes:
            if compiled.route.method not in ("ANY", method):
                continue
            found = compiled.pattern.fullmatch(path)
            if found:
                names = {name: found.group(name) for name in compiled.params}
                return compiled.route, {k.rstrip("+"): v for k, v in names.items()}
        return (self.default, {}) if self.default is not None else None

    def allows_path(self, path: str) -> bool:
        return self.default is not None or any(c.pattern.fullmatch(path) for c in self._routes)


class TokenBuckets:
    """API Gateway's throttling of a stage: a token bucket per route (its own limits, or the stage's
    default route settings), `burst` tokens, refilled at `rate` a second; a request takes one."""

    def __init__(self, default: Throttle | None, routes: dict[str, Throttle], clock: Callable[[], float]) -> None:
        self.default = default
        self.routes = routes
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # route key -> (tokens, at)
        self._lock = threading.Lock()
        # The fewest tokens each route's bucket held after a request: how near a run came to throttling.
        self.lowest: dict[str, float] = {}

    def take(self, route_key: str) -> bool:
        """Whether a request of this route may pass now (a token taken), or is throttled."""
        limits = self.routes.get(route_key, self.default)
        if limits is None:
            return True
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.get(route_key, (float(limits.burst), now))
            tokens = min(float(limits.burst), tokens + (now - at) * limits.rate)
            allowed = tokens >= 1
            left = tokens - 1 if allowed else tokens
            self._buckets[route_key] = (left, now)
            self.lowest[route_key] = min(left, self.lowest.get(route_key, left))
            return allowed


def claim_text(value: Any) -> str:
    """How the HTTP API JWT authorizer renders a claim: all strings, lists as `[a b]`."""
    if isinstance(value, list):
        return "[" + " ".join(claim_text(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _json_response(status: int, document: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(document), status=status, content_type="application/json", headers=headers)


class AuthorizerCache:
    """API Gateway's cache of a Lambda authorizer's answers: by authorizer and identity source
    values (never the route), each kept for the authorizer's TTL (0: not cached)."""

    MAX_ENTRIES = 2000  # expired answers are dropped when it holds more

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._answers: dict[tuple[str, tuple[str, ...]], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, identity: tuple[str, ...]) -> Any:
        found = self._answers.get((name, identity))
        return found[1] if found is not None and found[0] > self.clock() else None

    def put(self, name: str, identity: tuple[str, ...], answer: Any, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            return
        now = self.clock()
        with self._lock:
            if len(self._answers) >= self.MAX_ENTRIES:
                self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
            self._answers[(name, identity)] = (now + ttl_seconds, answer)


def identity_values(request: Request, authorizer: Authorizer) -> tuple[str, ...] | None:
    """The values of an authorizer's identity sources in a request; None when one is missing or empty."""
    values = []
    for source in authorizer.identity_sources:
        if source.startswith("$request.header."):
            value = request.headers.get(source.removeprefix("$request.header."), "")
        elif source.startswith("$request.querystring."):
            value = request.args.get(source.removeprefix("$request.querystring."), "")
        elif source == "$context.identity.sourceIp":
            value = request.remote_addr or "127.0.0.1"
        else:
            raise ValueError(f"identity source {source} is not emulated")
        if not value:
            return None
        values.append(value)
    return tuple(values)


class SignInFailed(Exception):
    """A dev sign-in was refused, as Cognito answers NotAuthorizedException (infra/runtime.py `sign_in`)."""


class Gateway:
    """A WSGI app routing the template's HTTP API routes to the functions."""

    def __init__(
        self,
        stack: Stack,
        issuer: DevIssuer,
        invoke: Callable[[str, Any], Any],
        events: Callable[[int], list[dict[str, Any]]],
        mail_dir: Path | None = None,
        sms_dir: Path | None = None,
        token: Callable[[str, str, str, list[str]], str] | None = None,
        sign_in: Callable[..., str] | None = None,
        console: Console | None = None,
        dev_state: Callable[[], Any] | None = None,
        sms_inbound: Callable[[dict[str, Any]], None] | None = None,
        webhooks: dev_webhooks.Receiver | None = None,
    ) -> None:
        """`token(tenant, user, role, groups)`: the runtime's dev token maker, served at POST /dev/token.

        `sign_in(tenant, user, password, ip, user_agent, role, flow)`: the runtime's dev sign-in (the
        user pool's sign-in triggers, a password that can be wrong), served at POST /dev/sign-in.

        `console`: told of each request the gateway answers itself (a function's answer is told
        by the invocation).

        `dev_state()`: the panels' data of the local console page (infra/devpage.py), served at
        /dev/api/state; the page itself at /dev.

        `sms_inbound(envelope)`: puts an SNS envelope on the inbound SMS queue (POST /dev/sms/inbound).

        `webhooks`: the webhook receiver (infra/dev_webhooks.py) at POST /dev/webhooks/<name>, listed
        at GET /dev/webhooks."""
        self.stack = stack
        self.issuer = issuer
        self.invoke = invoke
        self.events = events
        self.mail_dir = mail_dir
        self.sms_dir = sms_dir
        self.token = token
        self.sign_in = sign_in
        self.console = console
        self.dev_state = dev_state
        self.sms_inbound = sms_inbound
        self.webhooks = webhooks
        self.routes = RouteTable(stack.routes)
        self.throttles = TokenBuckets(stack.throttle, stack.route_throttles, time.monotonic)
        self.decisions = AuthorizerCache(time.monotonic)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- serving

    def start(self, port: int = 0) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # handle() logs one line per request
        self._server = make_server("127.0.0.1", port, self, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self.throttles.lowest:
            route, left = min(self.throttles.lowest.items(), key=lambda item: item[1])
            log.info("throttling: the fullest route was %s, down to %.1f tokens", route, left)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    # -- requests

    def handle(self, request: Request) -> Response:
        if request.path == "/dev" or request.path.startswith("/dev/"):
            return self._dev(request)
        # API Gateway's id of the request: the event's requestContext.requestId, and the
        # `apigw-requestid` header of every answer, its own errors included.
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        response = self._answer(request, request_id)
        response.headers["Apigw-Requestid"] = request_id
        if self.console is not None and not getattr(response, "from_function", False):
            path = request.full_path.rstrip("?")
            ms = (time.monotonic() - started) * 1000
            reason = _GATEWAY_ANSWERS.get(response.status_code, "")
            self.console.request(request.method, path, response.status_code, ms, reason)
        return response

    def _answer(self, request: Request, request_id: str) -> Response:
        """What API Gateway answers: its own errors as it words them ({"message": ...}, which an
        HTTP API cannot change), else the function's answer (docs/decisions.md), marked
        `from_function` (the invocation tells the console of it, the gateway of the others)."""
        if request.content_length is not None and request.content_length > MAX_PAYLOAD:
            return _json_response(413, {"message": "Request Entity Too Large"})
        if request.method == "OPTIONS" and self.stack.cors and self.routes.allows_path(request.path):
            return self._preflight(request)
        found = self.routes.match(request.method, request.path)
        if found is None:
            return self._with_cors(_json_response(404, {"message": "Not Found"}))
        route, path_parameters = found
        if not self.throttles.take(route.route_key):
            return self._with_cors(_json_response(429, {"message": "Too Many Requests"}))
        claims, decided = None, None
        if route.authorizer is not None:
            decided = self._authorize(request, route, path_parameters, request_id)
            if isinstance(decided, Response):
                return self._with_cors(decided)
        elif route.auth_required:  # a JWT authorizer (a template whose routes have one)
            claims = self._claims(request)
            if claims is None:
                return self._with_cors(_json_response(401, {"message": "Unauthorized"}))
        body = request.get_data(cache=False)
        if len(body) > MAX_PAYLOAD:
            return _json_response(413, {"message": "Request Entity Too Large"})
        event = self.event(request, route, path_parameters, claims, body, request_id)
        if decided is not None:
            event["requestContext"]["authorizer"] = {"lambda": decided}
        try:
            result = self.invoke(route.function, event)
            response = lambda_response(result)
        except FunctionError:  # the console tells it (infra/console.py)
            response = _json_response(500, {"message": "Internal Server Error"})
        response.from_function = True  # type: ignore[attr-defined]
        return self._with_cors(response)

    def _authorize(
        self, request: Request, route: Route, path_parameters: dict[str, str], request_id: str
    ) -> dict[str, Any] | Response:
        """The route's Lambda authorizer, as API Gateway runs it: a request lacking an identity
        source is a 401 without invoking it; its answer is cached per identity sources for its TTL
        (whatever the route: the cache key is the identity alone); `isAuthorized` false is a 403;
        a failed or malformed answer a 500. Its context (simple responses) is what the route's
        function gets in `requestContext.authorizer.lambda`."""
        assert route.authorizer is not None
        authorizer = self.stack.authorizers[route.authorizer]
        identity = identity_values(request, authorizer)
        if identity is None:
            return _json_response(401, {"message": "Unauthorized"})
        result = self.decisions.get(authorizer.name, identity)
        if result is None:
            event = self.authorizer_event(request, route, path_parameters, identity, request_id)
            try:
                result = self.invoke(authorizer.function, event)
            except FunctionError:
                return _json_response(500, {"message": "Internal Server Error"})
            self.decisions.put(authorizer.name, identity, result, authorizer.ttl_seconds)
        if not (
            authorizer.simple_responses and isinstance(result, dict) and isinstance(result.get("isAuthorized"), bool)
        ):
            return _json_response(500, {"message": "Internal Server Error"})  # IAM policy answers are not emulated
        if not result["isAuthorized"]:
            return _json_response(403, {"message": "Forbidden"})
        return dict(result.get("context") or {})

    def authorizer_event(
        self,
        request: Request,
        route: Route,
        path_parameters: dict[str, str],
        identity: tuple[str, ...],
        request_id: str,
    ) -> dict[str, Any]:
        """The request authorizer's event (payload 2.0): the request without its body."""
        event = self.event(request, route, path_parameters, None, b"", request_id)
        arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{self.stack.api_id}/$default/{request.method}{request.path}"
        return {"type": "REQUEST", "routeArn": arn, "identitySource": list(identity), **event}

    def _claims(self, request: Request) -> dict[str, Any] | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            return self.issuer.verify(token.strip())
        except jwt.InvalidTokenError:
            return None

    def event(
        self,
        request: Request,
        route: Route,
        path_parameters: dict[str, str],
        claims: dict[str, Any] | None,
        body: bytes,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        raw_query = request.query_string.decode("latin-1")
        headers = self._headers(request)
        cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
        request_context: dict[str, Any] = {
            "accountId": ACCOUNT_ID,
            "apiId": self.stack.api_id,
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": request_id or str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        }
        if claims is not None:
            request_context["authorizer"] = {
                "jwt": {"claims": {k: claim_text(v) for k, v in claims.items()}, "scopes": None}
            }
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": request.path,
            "rawQueryString": raw_query,
            "headers": headers,
            "requestContext": request_context,
            "isBase64Encoded": False,
        }
        if cookies:
            event["cookies"] = cookies
        query = _joined(parse_qsl(raw_query, keep_blank_values=True))
        if query:
            event["queryStringParameters"] = query
        if path_parameters:
            event["pathParameters"] = path_parameters
        if body:
            if _is_text(request.content_type, body):
                event["body"] = body.decode("utf-8")
            else:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
        return event

    @staticmethod
    def _headers(request: Request) -> dict[str, str]:
        pairs = [(k.lower(), v) for k, v in request.headers.items()]
        return _joined(pairs)

    # -- CORS (x-amazon-apigateway-cors of the template's API)

    def _preflight(self, request: Request) -> Response:
        cors = self.stack.cors or {}
        response = Response(status=204)
        response.headers["Access-Control-Allow-Origin"] = self._allowed_origin(request)
        response.headers["Access-Control-Allow-Methods"] = ",".join(cors.get("allowMethods", ["*"]))
        response.headers["Access-Control-Allow-Headers"] = ",".join(cors.get("allowHeaders", ["*"]))
        if "maxAge" in cors:
            response.headers["Access-Control-Max-Age"] = str(cors["maxAge"])
        return response

    def _with_cors(self, response: Response) -> Response:
        cors = self.stack.cors or {}
        if "*" in cors.get("allowOrigins", []) and "Access-Control-Allow-Origin" not in response.headers:
            response.headers["Access-Control-Allow-Origin"] = "*"
        if cors.get("exposeHeaders") and "Access-Control-Allow-Origin" in response.headers:
            response.headers["Access-Control-Expose-Headers"] = ",".join(cors["exposeHeaders"])
        return response

    def _allowed_origin(self, request: Request) -> str:
        origins = (self.stack.cors or {}).get("allowOrigins", [])
        origin = request.headers.get("Origin", "")
        return "*" if "*" in origins else origin if origin in origins else ""

    # -- dev paths

    def _dev(self, request: Request) -> Response:
        if not _LOOPBACK_HOST.fullmatch(request.headers.get("Host", "")):
            return _json_response(403, {"message": "/dev answers requests to localhost, 127.0.0.1 or [::1] only"})
        if self.dev_state is not None and request.path in ("/dev", "/dev/", "/dev/page.js", "/dev/page.css"):
            return self._page(request.path)
        if self.dev_state is not None and request.path == "/dev/api/state":
            return _json_response(200, self.dev_state(), {"Cache-Control": "no-store"})
        if request.path == "/dev/health":
            return _json_response(200, {"status": "ok", "routes": len(self.stack.routes)})
        if request.path == "/dev/jwks.json":  # where the functions read the dev issuer's keys
            return _json_response(200, self.issuer.jwks())
        if request.path == "/dev/events":
            limit = request.args.get("limit", default=50, type=int) or 50
            return _json_response(200, self.events(limit))
        if request.path == "/dev/mail" or request.path.startswith("/dev/mail/"):
            return self._mail(request)
        if request.path == "/dev/sms" and self.sms_dir is not None:  # the SMS the emulator accepted
            limit = request.args.get("limit", default=100, type=int) or 100
            return _json_response(200, sms_emulation.listing(self.sms_dir, limit))
        if request.path == "/dev/sms/inbound" and request.method == "POST" and self.sms_inbound is not None:
            return self._sms_reply(request)
        if request.path == "/dev/token" and request.method == "POST" and self.token is not None:
            return self._token(request)
        if request.path == "/dev/sign-in" and request.method == "POST" and self.sign_in is not None:
            return self._sign_in(request)
        if self.webhooks is not None and request.path.startswith(dev_webhooks.PATH):
            return self._webhook(request, self.webhooks)
        return _json_response(404, {"message": "Not Found"})

    def _webhook(self, request: Request, receiver: dev_webhooks.Receiver) -> Response:
        """The webhook receiver: POST /dev/webhooks/<name> records a request, GET /dev/webhooks lists them."""
        name = request.path.removeprefix(dev_webhooks.PATH).strip("/")
        if request.method == "GET" and not name:
            limit = request.args.get("limit", default=100, type=int) or 100
            return _json_response(200, receiver.listing(limit, request.args.get("name")))
        if request.method == "POST" and name and "/" not in name:
            status = dev_webhooks.answer_status(request.args.get("status"))
            body = request.get_data(cache=False)
            receiver.receive(name, dict(request.headers.items()), body, status)
            return Response(status=status) if status == 204 else _json_response(status, {"received": True})
        return _json_response(404, {"message": "Not Found"})

    @staticmethod
    def _page(path: str) -> Response:
        """The local console page (infra/devpage.py): its HTML, script and style sheet."""
        if path.endswith(".js"):
            body, kind = devpage.script(), "text/javascript"
        elif path.endswith(".css"):
            body, kind = devpage.css(), "text/css"
        else:
            body, kind = devpage.html(), "text/html"
        return Response(body, content_type=f"{kind}; charset=utf-8", headers=devpage.PAGE_HEADERS)

    def _token(self, request: Request) -> Response:
        """A dev token for `kontakt token` (the runtime provisions the tenant and user first).

        JSON only: a page of another site can send a form or text/plain POST without asking (no
        CORS preflight), and would provision tenants and users this way."""
        if (request.mimetype or "").lower() != "application/json":
            return _json_response(415, {"message": "send application/json"})
        try:
            asked = json.loads(request.get_data(cache=False) or b"{}")
            assert self.token is not None
            token = self.token(asked["tenant"], asked["user"], asked.get("role", "admin"), asked.get("groups") or [])
        except (KeyError, TypeError, ValueError, FunctionError) as error:
            return _json_response(400, {"message": f"no token: {error}"})
        return _json_response(200, {"token": token})

    def _sign_in(self, request: Request) -> Response:
        """A dev sign-in: `{"tenant", "user", "password", "role"?, "flow"?}` (flow: "custom", the
        default, or "password": USER_PASSWORD_AUTH's triggers) from this request's address and
        User-Agent; 200 with the ID token, or 401 as Cognito refuses it. JSON only, as /dev/token."""
        if (request.mimetype or "").lower() != "application/json":
            return _json_response(415, {"message": "send application/json"})
        try:
            asked = json.loads(request.get_data(cache=False) or b"{}")
            assert self.sign_in is not None
            ip, agent = request.remote_addr or "127.0.0.1", request.headers.get("User-Agent", "")
            token = self.sign_in(
                asked["tenant"],
                asked["user"],
                str(asked["password"]),
                ip,
                agent,
                asked.get("role", "admin"),
                asked.get("flow", "custom"),
            )
        except SignInFailed as failed:
            return _json_response(401, {"__type": "NotAuthorizedException", "message": str(failed)})
        except (KeyError, TypeError, ValueError, FunctionError) as error:
            return _json_response(400, {"message": f"no sign-in: {error}"})
        return _json_response(200, {"token": token})

    def _sms_reply(self, request: Request) -> Response:
        """Play the handset: `{"from": "+358401234567", "text": "STOP"}` becomes the two-way message
        End User Messaging SMS would publish (answering the last SMS sent to that number), delivered
        on the inbound queue in SNS's envelope. JSON only, as /dev/token."""
        if (request.mimetype or "").lower() != "application/json":
            return _json_response(415, {"message": "send application/json"})
        try:
            asked = json.loads(request.get_data(cache=False) or b"{}")
            message = sms_emulation.two_way_message(self.sms_dir, str(asked["from"]), str(asked["text"]))
        except (KeyError, TypeError, ValueError) as error:
            return _json_response(400, {"message": f"no inbound SMS: {error}"})
        assert self.sms_inbound is not None
        self.sms_inbound(sms_emulation.sns_envelope(message, "sms-inbound"))
        return _json_response(202, message)

    def _mail(self, request: Request) -> Response:
        """The mails SES sent (the emulator's mail folder): a page or JSON, and each mail."""
        if self.mail_dir is None:
            return _json_response(404, {"message": "No mail folder: start the runtime with mail_dir"})
        name = request.path.removeprefix("/dev/mail").strip("/")
        if not name:
            limit = request.args.get("limit", default=100, type=int) or 100
            mails = dev_mail.listing(self.mail_dir, limit)
            if request.args.get("format") == "json" or "html" not in request.headers.get("Accept", ""):
                return _json_response(200, mails)
            page = dev_mail.page(mails, str(self.mail_dir))
            return Response(page, content_type="text/html; charset=utf-8", headers=DEV_PAGE_HEADERS)
        file_name, _, view = name.partition("/")
        found = dev_mail.read(self.mail_dir, file_name)
        if found is None or view not in ("", "html"):
            return _json_response(404, {"message": "Not Found"})
        if view == "html":
            html = dev_mail.html_part(found) or "(no HTML part)"
            return Response(html, content_type="text/html; charset=utf-8", headers=MAIL_HTML_HEADERS)
        if request.args.get("download"):
            headers = {
                "Content-Disposition": f'attachment; filename="{file_name}"',
                "X-Content-Type-Options": "nosniff",
            }
            return Response(found, content_type="message/rfc822", headers=headers)
        return Response(found, content_type="text/plain; charset=utf-8", headers={"X-Content-Type-Options": "nosniff"})


def _joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Repeated names are comma-joined, as API Gateway does for payload 2.0."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def _is_text(content_type: str | None, body: bytes) -> bool:
    """Text goes to the function as is; anything else (or text that is not UTF-8) as base64."""
    if content_type and not any(t in content_type.lower() for t in _TEXT_TYPES):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def lambda_response(result: Any) -> Response:
    """Map a function's result to HTTP as the 2.0 payload format does."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Without a statusCode the whole result is the JSON body of a 200.
        return _json_response(200, result)
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    response = Response(data, status=int(result["statusCode"]))
    response.headers.remove("Content-Type")
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        response.headers[name] = ",".join(str(v) for v in values)
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    if "Content-Type" not in response.headers:
        response.headers["Content-Type"] = "application/json"
    return response
