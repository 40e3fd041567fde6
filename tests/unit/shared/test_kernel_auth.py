from typing import Any

import pytest

from shared.auth import AuthContext, Role, Unauthenticated, from_claims, from_http_event, parse_list_claim

pytestmark = pytest.mark.disable_socket


@pytest.mark.parametrize(
    "value",
    ["[a b]", "a,b", "a, b", ["a", "b"], ("a", "b"), '["a","b"]', '["a", "b"]', " [a  b] "],
)
def test_list_claim_formats(value: Any) -> None:
    assert parse_list_claim(value) == ("a", "b")


@pytest.mark.parametrize("value", [None, "", "[]", [], "[ ]"])
def test_empty_list_claim(value: Any) -> None:
    assert parse_list_claim(value) == ()


def test_single_item_list_claim() -> None:
    assert parse_list_claim("[admins]") == ("admins",)
    assert parse_list_claim("admins") == ("admins",)


def test_our_claims() -> None:
    context = from_claims({"sub": "u1", "tenant_id": "acme", "role": "manager", "groups": "[g1 g2]"})
    assert context == AuthContext(tenant_id="acme", user_id="u1", role=Role.MANAGER, groups=("g1", "g2"))
    assert context.owner_ids == {"u1", "g1", "g2"}
    assert not context.is_admin


def test_cognito_claims() -> None:
    claims = {"sub": "u1", "custom:tenant_id": "acme", "custom:role": "admin", "cognito:groups": "[sales]"}
    context = from_claims(claims)
    assert (context.tenant_id, context.role, context.groups) == ("acme", Role.ADMIN, ("sales",))
    assert context.is_admin


def test_role_defaults_to_user() -> None:
    assert from_claims({"sub": "u1", "tenant_id": "acme"}).role is Role.USER


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "u1"},
        {"sub": "u1", "tenant_id": ""},
        {"tenant_id": "acme"},
        {"sub": "u1", "tenant_id": "acme", "role": "owner"},
        {"sub": "u1", "tenant_id": "acme/other"},
        {"sub": "u1", "tenant_id": "x" * 65},
    ],
)
def test_unusable_claims_are_unauthenticated(claims: dict[str, Any]) -> None:
    with pytest.raises(Unauthenticated):
        from_claims(claims)


def test_from_http_event(make_http_event: Any) -> None:
    context = from_http_event(make_http_event("GET", "/x", claims={"sub": "u1", "tenant_id": "acme"}))
    assert context.tenant_id == "acme"


@pytest.mark.parametrize("claims", [None, {}])
def test_event_without_claims_is_unauthenticated(make_http_event: Any, claims: Any) -> None:
    with pytest.raises(Unauthenticated):
        from_http_event(make_http_event("GET", "/x", claims=claims))
