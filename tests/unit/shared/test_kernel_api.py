"""shared.api.create_app through a tiny resolver: problem+json for every way a request can fail."""

import json
from typing import Annotated, Any, Literal

import jwt
import pytest
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from shared import api as http
from shared import auth
from shared.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    ValidationFailed,
)
from shared.routes import CodeItem
from shared.types import input_config
from tests import tokens

pytestmark = pytest.mark.disable_socket


class Equals(BaseModel):
    op: Literal["kernel_equals"]
    value: str


class Within(BaseModel):
    op: Literal["kernel_within"]
    values: list[str]


class ThingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    count: int = 0
    rules: list[Annotated[Equals | Within, Field(discriminator="op")]] = []


ERRORS: dict[str, type[DomainError]] = {
    "bad": BadRequest,
    "unauthorized": Unauthorized,
    "forbidden": Forbidden,
    "missing": NotFound,
    "conflict": Conflict,
    "large": PayloadTooLarge,
    "invalid": ValidationFailed,
}

app = http.create_app("Kernel test", "kernel")


@app.post("/things", status_code=201)
def create_thing(body: Annotated[ThingCreate, Body()]) -> dict[str, Any]:
    if body.name == "boom":
        raise RuntimeError("secret database password in a traceback")
    return {"name": body.name, "count": body.count}


@app.get("/things")
def list_things(limit: Annotated[int, Query(ge=1, le=10)] = 5) -> dict[str, Any]:
    return {"limit": limit}


@app.get("/me")
def me() -> dict[str, Any]:
    caller = http.auth(app)
    return {"tenant": caller.tenant_id, "user": caller.user_id, "groups": list(caller.groups)}


@app.get("/fail/<kind>")
def fail(kind: str) -> dict[str, Any]:
    raise ERRORS[kind]("it failed")


def call(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = app.resolve(event, {})
    body = json.loads(response["body"]) if response.get("body") else {}
    if response["statusCode"] >= 400:
        assert response["headers"]["Content-Type"] == http.PROBLEM_JSON
        assert {"type", "title", "status", "detail"} <= body.keys()
        assert body["status"] == response["statusCode"]
    return response["statusCode"], body


def fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body.get("errors", [])]


def test_valid_request(make_http_event: Any) -> None:
    status, body = call(make_http_event("POST", "/things", {"name": "a", "count": 2}))
    assert (status, body) == (201, {"name": "a", "count": 2})


def test_malformed_json_is_400_naming_body(make_http_event: Any) -> None:
    status, body = call(make_http_event("POST", "/things", '{"name": '))
    assert status == 400
    assert fields(body) == ["body"]
    assert body["errors"][0]["code"] == "json_invalid"


def test_wrong_type_is_422_naming_the_field(make_http_event: Any) -> None:
    status, body = call(make_http_event("POST", "/things", {"name": "a", "count": "many"}))
    assert status == 422
    assert body["code"] == "validation_failed"
    assert fields(body) == ["count"]


def test_unknown_field_is_422_naming_it(make_http_event: Any) -> None:
    status, body = call(make_http_event("POST", "/things", {"name": "a", "colour": "red"}))
    assert status == 422
    assert fields(body) == ["colour"]
    assert body["errors"][0]["code"] == "extra_forbidden"


def test_missing_body_is_422(make_http_event: Any) -> None:
    status, body = call(make_http_event("POST", "/things"))
    assert status == 422
    assert fields(body) == ["body"]


def test_union_tag_is_not_in_the_field_path(make_http_event: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shared.errors._union_tags", {"kernel_equals", "kernel_within"})
    rules = [{"op": "kernel_within", "values": ["x"]}, {"op": "kernel_equals", "value": 3}]
    status, body = call(make_http_event("POST", "/things", {"name": "a", "rules": rules}))
    assert status == 422
    assert fields(body) == ["rules.1.value"]


def test_query_parameter_error_keeps_its_place(make_http_event: Any) -> None:
    status, body = call(make_http_event("GET", "/things", query={"limit": "99"}))
    assert status == 422
    assert fields(body) == ["query.limit"]


def test_an_unknown_query_parameter_is_400_naming_it(make_http_event: Any) -> None:
    status, body = call(make_http_event("GET", "/things", query={"limit": "3", "limt": "4", "emial": "x"}))
    assert status == 400
    assert fields(body) == ["query.emial", "query.limt"]
    status, body = call(make_http_event("GET", "/fail/conflict", query={"id": "1"}))  # a route with none
    assert (status, fields(body)) == (400, ["query.id"])
    assert call(make_http_event("GET", "/things", query={"limit": "3"})) == (200, {"limit": 3})


def test_body_over_256_kib_is_413(make_http_event: Any) -> None:
    status, body = call(make_http_event("POST", "/things", {"name": "x" * (257 * 1024)}))
    assert status == 413
    assert body["code"] == "payload_too_large"


def test_body_over_256_kib_is_413_even_when_invalid(make_http_event: Any) -> None:
    status, _ = call(make_http_event("POST", "/things", "{" + "x" * (257 * 1024)))
    assert status == 413
    status, _ = call(make_http_event("POST", "/things", {"name": "a", "extra": "x" * (257 * 1024)}))
    assert status == 413


def test_size_limit_counts_bytes_not_characters(make_http_event: Any) -> None:
    name = "ä" * (140 * 1024)  # 140 Ki characters, 280 KiB of UTF-8
    status, _ = call(make_http_event("POST", "/things", json.dumps({"name": name}, ensure_ascii=False)))
    assert status == 413


def test_base64_body_is_measured_decoded(make_http_event: Any) -> None:
    status, _ = call(make_http_event("POST", "/things", {"name": "a"}, is_base64_encoded=True))
    assert status == 201
    status, _ = call(make_http_event("POST", "/things", {"name": "x" * (257 * 1024)}, is_base64_encoded=True))
    assert status == 413


@pytest.mark.parametrize("size", [0, 1, 2, 3, 100, 256 * 1024])
def test_body_size_of_base64(size: int) -> None:
    import base64

    encoded = base64.b64encode(b"x" * size).decode()
    assert http.body_size(encoded, True) == size
    assert http.body_size("x" * size, False) == size


def test_unexpected_exception_is_500_with_correlation_id_and_no_traceback(make_http_event: Any) -> None:
    response = app.resolve(make_http_event("POST", "/things", {"name": "boom"}, request_id="req-42"), {})
    assert response["statusCode"] == 500
    body = json.loads(response["body"])
    assert body["code"] == "internal_error"
    assert body["correlation_id"] == "req-42"
    text = response["body"]
    assert "secret" not in text
    assert "Traceback" not in text
    assert "RuntimeError" not in text


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_domain_errors_map_to_their_status(make_http_event: Any, kind: str) -> None:
    error = ERRORS[kind]
    status, body = call(make_http_event("GET", f"/fail/{kind}"))
    assert status == error.status
    assert body["code"] == error.code
    assert body["title"] == error.title
    assert body["detail"] == "it failed"


def test_auth_reads_the_bearer_tokens_claims(make_http_event: Any) -> None:
    status, body = call(make_http_event("GET", "/me"))
    assert status == 200
    assert body == {"tenant": "tenant-1", "user": "user-1", "groups": ["g1", "g2"]}


def test_claims_in_the_request_context_are_not_an_identity(make_http_event: Any) -> None:
    """No authorizer is configured: claims in `requestContext.authorizer` (as one would write them)
    are not read, with or without a token; the token's own claims are."""
    forged = {"jwt": {"claims": {"tenant_id": "victim", "user_id": "boss", "role": "admin"}, "scopes": None}}
    anonymous = make_http_event("GET", "/me", claims=None)
    anonymous["requestContext"]["authorizer"] = forged
    status, _ = call(anonymous)
    assert status == 401
    signed_in = make_http_event("GET", "/me")
    signed_in["requestContext"]["authorizer"] = forged
    status, body = call(signed_in)
    assert status == 200 and body["tenant"] == "tenant-1" and body["user"] == "user-1"


def test_no_claims_is_401(make_http_event: Any) -> None:
    status, body = call(make_http_event("GET", "/me", claims=None))
    assert status == 401
    assert body["code"] == "unauthorized"


def test_claims_without_tenant_are_401(make_http_event: Any) -> None:
    status, _ = call(make_http_event("GET", "/me", claims={"user_id": "user-1"}))
    assert status == 401


def test_unknown_route_is_404_problem(make_http_event: Any) -> None:
    status, body = call(make_http_event("GET", "/nowhere"))
    assert status == 404
    assert body["code"] == "not_found"


def test_openapi_document_has_bearer_security() -> None:
    document = json.loads(app.get_openapi_json_schema(title="Kernel test", version="1.0.0"))
    assert "/things" in document["paths"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_swagger_page_serves_the_same_document(make_http_event: Any) -> None:
    response = app.resolve(make_http_event("GET", "/kernel/docs", query={"format": "json"}), {})
    assert response["statusCode"] == 200
    document = json.loads(response["body"])
    assert document["info"]["title"] == "Kernel test"
    assert document["security"] == [{"bearer": []}]


def test_the_app_serves_its_openapi_document_without_a_login(make_http_event: Any) -> None:
    response = app.resolve(make_http_event("GET", "/kernel/openapi.json", claims=None), {})
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"]) == json.loads(app.get_openapi_json_schema())
    assert "/kernel/openapi.json" not in json.loads(response["body"])["paths"]


def test_the_routers_given_are_mounted_and_documented(make_http_event: Any) -> None:
    first, second = APIGatewayHttpRouter(), APIGatewayHttpRouter()

    @first.get("/orders/<order_id>")
    def order(order_id: str) -> dict[str, Any]:
        return {"order": order_id}

    @second.get("/notes")
    def notes() -> dict[str, Any]:
        return {"notes": []}

    mounted = http.create_app("Mounted", "mounted", [first, second])
    assert json.loads(mounted.resolve(make_http_event("GET", "/orders/o1"), {})["body"]) == {"order": "o1"}
    assert json.loads(mounted.resolve(make_http_event("GET", "/notes"), {})["body"]) == {"notes": []}
    assert set(json.loads(mounted.get_openapi_json_schema())["paths"]) == {"/orders/{order_id}", "/notes"}


def test_openapi_validation_errors_are_problems() -> None:
    document = json.loads(app.get_openapi_json_schema())
    assert document["paths"]["/things"]["post"]["responses"]["422"] == {
        "$ref": "#/components/responses/ValidationFailed"
    }
    response = document["components"]["responses"]["ValidationFailed"]
    assert response["content"] == {http.PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "code", "detail"}
    assert "FieldError" in schemas


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"]
)
def test_a_body_that_is_not_json_is_415_before_any_parsing(make_http_event: Any, content_type: str) -> None:
    event = make_http_event("POST", "/things", "name=a&count=2")
    event["headers"]["content-type"] = content_type
    status, body = call(event)
    assert status == 415
    assert fields(body) == ["headers.content-type"]


def test_json_types_with_parameters_are_json(make_http_event: Any) -> None:
    event = make_http_event("POST", "/things", {"name": "a", "count": 2})
    event["headers"]["content-type"] = "application/json; charset=utf-8"
    assert call(event)[0] == 201
    assert http.is_json("application/problem+json") and http.is_json("")


form_app = http.create_app("Kernel form test", "kernel-form", form_paths=("/forms/",))


@form_app.post("/forms/echo")
def echo_form() -> dict[str, Any]:
    return {"body": form_app.current_event.decoded_body}


@form_app.post("/json")
def json_only(body: Annotated[ThingCreate, Body()]) -> dict[str, Any]:
    return {"name": body.name}


def test_form_bodies_pass_only_under_the_form_paths(make_http_event: Any) -> None:
    event = make_http_event("POST", "/forms/echo", "List-Unsubscribe=One-Click")
    event["headers"]["content-type"] = "application/x-www-form-urlencoded"
    response = form_app.resolve(event, {})
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"]) == {"body": "List-Unsubscribe=One-Click"}
    elsewhere = make_http_event("POST", "/json", "name=a&count=2")
    elsewhere["headers"]["content-type"] = "application/x-www-form-urlencoded"
    assert form_app.resolve(elsewhere, {})["statusCode"] == 415
    multipart = make_http_event("POST", "/forms/echo", "x")
    multipart["headers"]["content-type"] = "multipart/form-data; boundary=x"
    assert form_app.resolve(multipart, {})["statusCode"] == 415


@app.get("/page", security=[{}])
def page() -> Any:
    from aws_lambda_powertools.event_handler import Response

    return Response(status_code=200, content_type="text/html; charset=utf-8", body="<p>hi</p>")


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_json_nested_deeper_than_the_limit_is_400_naming_body(make_http_event: Any, base64_encoded: bool) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    status, body = call(make_http_event("POST", "/things", deep, is_base64_encoded=base64_encoded))
    assert status == 400
    assert fields(body) == ["body"]
    assert body["errors"][0]["code"] == "too_deep"


def test_json_nested_deep_and_over_256_kib_is_413_not_500(make_http_event: Any) -> None:
    status, body = call(make_http_event("POST", "/things", "[" * 300_000 + "]" * 300_000))
    assert (status, body["code"]) == (413, "payload_too_large")


def test_json_nesting_up_to_the_limit_and_brackets_in_strings_pass(make_http_event: Any) -> None:
    nested: Any = "x"
    for _ in range(http.MAX_JSON_DEPTH - 1):
        nested = [nested]
    status, body = call(make_http_event("POST", "/things", {"name": "[{" * 1000, "count": 1, "extra": nested}))
    assert (status, fields(body)) == (422, ["extra"])  # parsed and validated, not refused as too deep
    status, _ = call(make_http_event("POST", "/things", {"name": "[{" * 1000}))
    assert status == 201


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("[" * 65 + "]" * 65, 65),
        ('{"a":' * 70 + "1" + "}" * 70, 70),
        ("[{" * 33 + "}]" * 33, 66),
        ('["' + "[" * 100 + '"]', 1),  # brackets inside a string
        ('["\\"' + "[" * 100 + '"]', 1),  # an escaped quote does not end the string
        ('["\\\\", ' + "[" * 70 + "]" * 70 + "]", 71),  # an escaped backslash does
        ('["ä", ' + "[" * 70 + "]" * 70 + "]", 71),
    ],
)
def test_json_depth_counts_nesting_outside_strings(text: str, depth: int) -> None:
    assert http.json_depth(text) == depth


def test_a_401_never_shows_why_the_claims_were_refused(make_http_event: Any) -> None:
    claims = {"tenant_id": "no spaces allowed!", "user_id": "user-1", "role": "admin"}
    status, body = call(make_http_event("GET", "/me", claims=claims))
    assert status == 401
    assert body["detail"] == "The token is not valid for this API."
    text = json.dumps(body)
    for internal in ("pattern", "validation", "pydantic", "tenant_id", "String should"):
        assert internal not in text


@pytest.mark.parametrize(("path", "query"), [("/page", None), ("/kernel/docs", None)])
def test_html_pages_carry_the_security_headers(make_http_event: Any, path: str, query: Any) -> None:
    response = app.resolve(make_http_event("GET", path, query=query, claims=None), {})
    assert response["statusCode"] == 200
    headers = response["headers"]
    assert headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_the_plain_html_policy_allows_no_script(make_http_event: Any) -> None:
    headers = app.resolve(make_http_event("GET", "/page", claims=None), {})["headers"]
    assert "script-src" not in headers["Content-Security-Policy"]
    json_headers = app.resolve(make_http_event("GET", "/things"), {})["headers"]
    assert "Content-Security-Policy" not in json_headers


@pytest.mark.parametrize(
    "body",
    [[{"name": "a"}, {"name": "b"}], [{"name": "a"}], [], "x", 1, 1.5, True, None],
    ids=["two", "one", "empty", "string", "integer", "number", "boolean", "null"],
)
def test_a_body_that_is_not_the_documented_object_is_422_naming_body(make_http_event: Any, body: Any) -> None:
    event = make_http_event("POST", "/things")
    event["body"] = json.dumps(body)  # `null` too: the body text is there, it is not an object
    status, answer = call(event)
    assert status == 422, answer
    assert fields(answer) == ["body"]
    assert "object" in answer["errors"][0]["message"]


class EitherName(BaseModel):
    model_config = input_config(anyOf=[{"required": ["first"]}, {"required": ["last"]}])

    first: str | None = None
    last: str | None = None


def test_documented_body_types_follow_the_annotation() -> None:
    assert http.documented_types(ThingCreate) == {"object"}
    assert http.documented_types(ThingCreate | None) == {"object", "null"}
    assert http.documented_types(list[ThingCreate]) == {"array"}
    assert http.documented_types(Annotated[Equals | Within, Field(discriminator="op")]) == {"object"}
    assert http.documented_types(float) == {"number", "integer"}
    assert http.documented_types(Any) is None
    # an object whose rules across fields are combinators beside its type (shared.types.input_config)
    assert http.documented_types(EitherName) == {"object"}


@app.get("/codes")
def list_codes(statuses: Annotated[list[CodeItem] | None, Query(max_length=3)] = None) -> dict[str, Any]:
    return {"statuses": statuses}


@pytest.mark.parametrize(
    ("raw", "joined"),
    [("statuses=a&statuses=b", "a,b"), ("statuses=a,b", "a,b"), ("statuses=a,b&statuses=c", "a,b,c")],
)
def test_an_array_query_parameter_reads_the_repeated_and_the_comma_form_alike(
    make_http_event: Any, raw: str, joined: str
) -> None:
    # As API Gateway's HTTP API builds it: repeated parameters comma-joined, the raw query as sent.
    event = make_http_event("GET", "/codes", query={"statuses": joined})
    event["rawQueryString"] = raw
    status, body = call(event)
    assert (status, body) == (200, {"statuses": joined.split(",")})


def test_an_array_query_parameter_checks_each_item_and_the_count(make_http_event: Any) -> None:
    for joined in ("a,B", "a,b,c,d"):
        event = make_http_event("GET", "/codes", query={"statuses": joined})
        event["rawQueryString"] = "statuses=" + joined
        status, body = call(event)
        assert status == 422
        assert fields(body)[0].startswith("query.statuses")


def test_a_login_route_refuses_a_missing_token_before_validation_or_its_handler(make_http_event: Any) -> None:
    for body in ({"name": "boom"}, {"nope": 1}, "not json"):  # the handler's 500, a 422, a 415 otherwise
        event = make_http_event("POST", "/things", body, claims=None)
        if body == "not json":
            event["headers"]["content-type"] = "text/plain"
        answer = app.resolve(event, {})
        assert answer["statusCode"] == 401, (body, answer)
        assert answer["headers"]["Content-Type"] == http.PROBLEM_JSON
        assert answer["headers"]["WWW-Authenticate"] == 'Bearer realm="kontakt"'
        problem = json.loads(answer["body"])
        assert problem["code"] == "unauthorized" and problem["instance"] == "/things"
        assert problem["correlation_id"] == answer["headers"]["X-Request-Id"]


def test_a_refused_token_is_challenged_as_invalid(make_http_event: Any) -> None:
    event = make_http_event("GET", "/things", claims=None)
    event["headers"]["authorization"] = "Bearer not.a.token"
    answer = app.resolve(event, {})
    assert answer["statusCode"] == 401
    assert answer["headers"]["WWW-Authenticate"].startswith('Bearer realm="kontakt", error="invalid_token"')


def test_a_public_route_ignores_a_bad_token(make_http_event: Any) -> None:
    event = make_http_event("GET", "/page", claims=None)
    event["headers"]["authorization"] = "Bearer nonsense"
    assert app.resolve(event, {})["statusCode"] == 200
    document = make_http_event("GET", "/kernel/openapi.json", claims=None)
    document["headers"]["authorization"] = "Bearer nonsense"
    assert app.resolve(document, {})["statusCode"] == 200


def test_an_unreadable_key_set_is_a_503_not_a_401(make_http_event: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class Unreachable(jwt.PyJWKClient):
        def fetch_data(self) -> Any:
            raise jwt.PyJWKClientConnectionError("connection refused")

    monkeypatch.setitem(auth._clients, tokens.JWKS_URL, Unreachable(tokens.JWKS_URL))
    monkeypatch.setattr(auth, "_last", None)  # no verification kept from another test
    status, body = call(make_http_event("GET", "/me"))
    assert status == 503 and body["code"] == "login_unavailable"


def test_a_problem_carries_the_extension_members_its_error_adds() -> None:
    class Taken(Conflict):
        def extensions(self) -> dict[str, Any]:
            return {"taken_by": ["a1"]}

    body = json.loads(http.problem_response(Taken("Taken."), "c1").body)
    assert (body["status"], body["code"], body["taken_by"], body["correlation_id"]) == (409, "conflict", ["a1"], "c1")
    assert "taken_by" not in json.loads(http.problem_response(Conflict("Taken.")).body)
