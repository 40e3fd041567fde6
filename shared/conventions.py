"""The headers every API answer carries, whatever the route: the request id, `Location` on a 201.

- `X-Request-Id`: the id of this request, the correlation id of its log lines (`shared/entry.py`)
  and of a problem body (`correlation_id`). A client that sends a valid `X-Request-Id` (1 to 128
  letters, digits and `._:-`) gets it back, so its own trace id follows the request into our logs;
  any other value is ignored and API Gateway's request id is used.
- `Location` on a 201: the URL of the record the request created, as a path-absolute reference
  (RFC 9110 §10.2.2): see `created_location`.

No Powertools resolver is imported here: queue functions load this module through `shared/entry.py`.
"""

import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

REQUEST_ID_HEADER = "X-Request-Id"
CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
PROBLEM_JSON = "application/problem+json"


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    return next((str(v) for k, v in (headers or {}).items() if k.lower() == name.lower()), None)


def request_id(event: Mapping[str, Any]) -> str:
    """The request's id: the client's `X-Request-Id` when it is valid, else API Gateway's request id.

    A repeated header arrives comma-joined (payload 2.0) and is not valid: one id per request."""
    sent = _header(event.get("headers"), REQUEST_ID_HEADER) or ""
    if CLIENT_REQUEST_ID.fullmatch(sent):
        return sent
    return str((event.get("requestContext") or {}).get("requestId") or "")


def finish(
    result: dict[str, Any], event: Mapping[str, Any], locate: Callable[[dict[str, Any]], str | None]
) -> dict[str, Any]:
    """Give an API answer (a Lambda result of payload 2.0) its request id and, on a 201, its `Location`.

    `locate(body)`: the created record's URL (`created_location`)."""
    headers = result.setdefault("headers", {})
    correlation_id = request_id(event)
    if correlation_id:
        headers[REQUEST_ID_HEADER] = correlation_id
    body = _json_body(result)
    content_type = (_header(headers, "Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type == PROBLEM_JSON and isinstance(body, dict) and correlation_id and not body.get("correlation_id"):
        body["correlation_id"] = correlation_id
        result["body"] = json.dumps(body)
    if result.get("statusCode") == 201 and _header(headers, "Location") is None and isinstance(body, dict):
        location = locate(body)
        if location:
            headers["Location"] = location
    return result


def created_location(
    path: str,
    body: Mapping[str, Any],
    path_parameters: Mapping[str, str],
    declared: str | None,
    has_get_route: Callable[[str], bool],
) -> str | None:
    """The URL of the record a POST to `path` created, as a path-absolute reference:

    - the route's declared template (`shared.routes.located`), `{name}` filled from the path
      parameters or the body (`{attachment.id}` reads a nested field);
    - else `<path>/<id>` where the API answers GET;
    - else, when the id is one of the path's own segments (a memo added to an activity, answered with
      the activity), the path up to that segment;
    - else the request path itself where the API answers GET: a record without a URL of its own (a
      note, a favourite, an opt-out) is found in the list it joined; a singleton (the caller's
      calendar feed) is that path.
    """
    if declared:
        return _fill(declared, body, path_parameters)
    record_id = body.get("id")
    path = path.rstrip("/")
    if isinstance(record_id, str) and record_id:
        candidate = f"{path}/{quote(record_id, safe='')}"
        if has_get_route(candidate):
            return candidate
        segments = path.split("/")
        if record_id in segments:
            prefix = "/".join(segments[: segments.index(record_id) + 1])
            if has_get_route(prefix):
                return prefix
    return path if path and has_get_route(path) else None


def _fill(template: str, body: Mapping[str, Any], path_parameters: Mapping[str, str]) -> str | None:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in path_parameters:
            return quote(str(path_parameters[name]), safe="")
        node: Any = body
        for part in name.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is None:
            raise LookupError(name)
        return quote(str(node), safe="")

    try:
        return re.sub(r"\{([\w.]+)\}", value, template)
    except LookupError:
        return None


def _json_body(result: Mapping[str, Any]) -> Any:
    if result.get("isBase64Encoded") or not result.get("body"):
        return None
    try:
        return json.loads(result["body"])
    except (TypeError, ValueError):
        return None


# The headers above in the OpenAPI documents (components.headers), on every response.
DOCUMENTED_HEADERS: dict[str, dict[str, Any]] = {
    "RequestId": {
        "description": "The request's id, in our logs and in a problem's `correlation_id`: the request's own "
        "`X-Request-Id` when it sent a valid one (1 to 128 letters, digits and `._:-`), else API Gateway's",
        "schema": {"type": "string", "maxLength": 128},
    },
    "ApiGatewayRequestId": {
        "description": "API Gateway's id of the request, on every answer, API Gateway's own errors too",
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "The created record's URL (a path on this API)",
        "schema": {"type": "string", "format": "uri-reference"},
    },
}


def with_headers(document: dict[str, Any]) -> dict[str, Any]:
    """Document the request ids on every response of every operation and `Location` on every 201.

    `X-Request-Id` is on every answer of a function; API Gateway's own (its throttling's 429 of an
    operation without a login, `GatewayThrottled`) carry only `apigw-requestid`."""
    components = document.setdefault("components", {})
    components.setdefault("headers", {}).update(DOCUMENTED_HEADERS)
    gateway_id = {"apigw-requestid": {"$ref": "#/components/headers/ApiGatewayRequestId"}}
    request_id = {REQUEST_ID_HEADER: {"$ref": "#/components/headers/RequestId"}, **gateway_id}
    for name, response in components.get("responses", {}).items():
        response.setdefault("headers", {}).update(gateway_id if name == "GatewayThrottled" else request_id)
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if "$ref" in response:
                    continue  # a shared response: documented above
                response.setdefault("headers", {}).update(request_id)
                if str(status) == "201":
                    response["headers"]["Location"] = {"$ref": "#/components/headers/Location"}
    return document
