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
    claims = {"sub": "4f1c-login", "user_id": "u1", "tenant_id": "acme", "role": "manager", "groups": "[g1 g2]"}
    context = from_claims(claims)
    assert context == AuthContext(tenant_id="acme", user_id="u1", role=Role.MANAGER, groups=("g1", "g2"))
    assert context.owner_ids == {"u1", "g1", "g2"}
    assert not context.is_admin


def test_the_trigger_claims_of_a_cognito_id_token() -> None:
    """The V1_0 trigger's string claims: groups separated by spaces; the user is not the `sub`."""
    claims = {"sub": "9a7b-uuid", "user_id": "01JUSER", "tenant_id": "acme", "role": "admin", "groups": "g1 g2"}
    context = from_claims(claims)
    assert (context.tenant_id, context.user_id, context.role) == ("acme", "01JUSER", Role.ADMIN)
    assert context.groups == ("g1", "g2")


def test_cognito_attributes_and_groups_are_not_read() -> None:
    """A user-writable attribute or a Cognito group never gives a tenant, a role or a group."""
    claims = {"sub": "u1", "custom:tenant_id": "acme", "custom:role": "admin", "cognito:groups": "[sales]"}
    with pytest.raises(Unauthenticated):
        from_claims(claims)
    context = from_claims({**claims, "tenant_id": "mine", "user_id": "u1"})
    assert (context.tenant_id, context.role, context.groups) == ("mine", Role.USER, ())


def test_the_login_subject_is_not_the_user() -> None:
    with pytest.raises(Unauthenticated):
        from_claims({"sub": "u1", "tenant_id": "acme", "role": "admin"})


def test_role_defaults_to_user() -> None:
    assert from_claims({"user_id": "u1", "tenant_id": "acme"}).role is Role.USER


@pytest.mark.parametrize(
    "claims",
    [
        {"user_id": "u1"},
        {"user_id": "u1", "tenant_id": ""},
        {"tenant_id": "acme"},
        {"user_id": "u1", "tenant_id": "acme", "role": "owner"},
        {"user_id": "u1", "tenant_id": "acme/other"},
        {"user_id": "u1", "tenant_id": "x" * 65},
    ],
)
def test_unusable_claims_are_unauthenticated(claims: dict[str, Any]) -> None:
    with pytest.raises(Unauthenticated):
        from_claims(claims)


def test_from_http_event(make_http_event: Any) -> None:
    context = from_http_event(make_http_event("GET", "/x", claims={"user_id": "u1", "tenant_id": "acme"}))
    assert context.tenant_id == "acme"


@pytest.mark.parametrize("claims", [None, {}])
def test_event_without_claims_is_unauthenticated(make_http_event: Any, claims: Any) -> None:
    with pytest.raises(Unauthenticated):
        from_http_event(make_http_event("GET", "/x", claims=claims))
