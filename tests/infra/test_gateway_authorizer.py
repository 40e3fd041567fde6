"""The local gateway's Lambda authorizer emulation (infra/gateway.py), as API Gateway runs one: its
identity sources, its cache by identity (never by route), its answers mapped to the gateway's own."""

from __future__ import annotations

from typing import Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra.gateway import AuthorizerCache, Gateway, identity_values
from infra.template import Authorizer, Route, Stack

AUTHORIZER = Authorizer(
    "kontakt", "Authorize", ("$request.header.Authorization", "$context.identity.sourceIp"), 5, True
)


def _request(path: str = "/items", method: str = "GET", **headers: str) -> Request:
    environ = EnvironBuilder(path=path, method=method, headers=headers).get_environ()
    environ["REMOTE_ADDR"] = "192.0.2.7"
    return Request(environ)


def test_identity_sources_are_read_and_a_missing_one_is_none() -> None:
    assert identity_values(_request(Authorization="Bearer x"), AUTHORIZER) == ("Bearer x", "192.0.2.7")
    assert identity_values(_request(), AUTHORIZER) is None
    assert identity_values(_request(Authorization=""), AUTHORIZER) is None


def test_the_cache_keeps_an_answer_for_its_ttl() -> None:
    now = [100.0]
    cache = AuthorizerCache(lambda: now[0])
    cache.put("kontakt", ("a", "ip"), {"isAuthorized": True}, 5)
    cache.put("kontakt", ("b", "ip"), {"isAuthorized": True}, 0)  # TTL 0: not cached
    assert cache.get("kontakt", ("a", "ip")) == {"isAuthorized": True}
    assert cache.get("kontakt", ("a", "other ip")) is None and cache.get("kontakt", ("b", "ip")) is None
    now[0] += 5
    assert cache.get("kontakt", ("a", "ip")) is None


def test_the_gateway_runs_the_authorizer_once_per_identity_for_every_route() -> None:
    routes = [Route("GET", "/items", "Items", True, "kontakt"), Route("POST", "/items", "Items", True, "kontakt")]
    stack = Stack("kontakt", "eu-north-1", "123456789012", {}, routes=routes, authorizers={"kontakt": AUTHORIZER})
    invoked: list[tuple[str, Any]] = []
    answers = {"Bearer ok": {"isAuthorized": True, "context": {"user_id": "u1"}}, "Bearer no": {"isAuthorized": False}}

    def invoke(function: str, event: Any) -> Any:
        invoked.append((function, event))
        if function == "Authorize":
            return answers.get(event["identitySource"][0], "not an answer")
        return {"statusCode": 200, "body": event["requestContext"]["authorizer"]["lambda"]["user_id"]}

    gateway = Gateway(stack, issuer=None, invoke=invoke, events=lambda _: [])  # type: ignore[arg-type]
    first = gateway.handle(_request(Authorization="Bearer ok"))
    second = gateway.handle(_request(method="POST", Authorization="Bearer ok"))
    assert first.get_data(as_text=True) == second.get_data(as_text=True) == "u1"
    authorizations = [e for f, e in invoked if f == "Authorize"]
    assert len(authorizations) == 1 and authorizations[0]["type"] == "REQUEST" and "body" not in authorizations[0]
    assert gateway.handle(_request(Authorization="Bearer no")).status_code == 403
    assert gateway.handle(_request(Authorization="Bearer bad")).status_code == 500  # a malformed answer
    missing = gateway.handle(_request())
    assert missing.status_code == 401 and missing.get_json() == {"message": "Unauthorized"}
    assert len([f for f, _ in invoked if f == "Authorize"]) == 3  # never for a missing identity source
