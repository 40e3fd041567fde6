"""An API key's permissions against routes (shared/key_permissions.py), and the authorizer's context
as the kernel reads it (shared/auth.py)."""

import pytest

from shared.auth import AuthContext, Refused, Role, Unauthenticated, from_authorizer, principal_context, refusal_context
from shared.key_permissions import Route, allows, needed, problems

LIST = Route("GET", "/contacts")
READ = Route("GET", "/contacts/{contact_id}")
CREATE = Route("POST", "/contacts")
ERASE = Route("POST", "/contacts/{contact_id}/erase")
SEND = Route("POST", "/campaigns/{campaign_id}/send")
NOTES = Route("POST", "/contact-orders/{order_id}/notes")
TEMPLATES = Route("PATCH", "/email/templates/{template_id}")
KEYS = Route("GET", "/api-keys")
API = (LIST, READ, CREATE, ERASE, SEND, NOTES, TEMPLATES, KEYS, Route("GET", "/campaigns"))


@pytest.mark.parametrize(
    ("permission", "granted"),
    [
        ("contacts:read", {LIST, READ}),
        ("contacts:write", {CREATE, ERASE}),  # an action is a write too
        ("contacts:erase", {ERASE}),
        ("campaigns:send", {SEND}),
        ("contact-orders:notes", {NOTES}),  # a sub-resource's POST is named as an action
        ("email:write", {TEMPLATES}),  # the resource is the first segment
        ("GET /contacts/*", {READ}),  # `*` spans segments; `/contacts` itself is not `/contacts/...`
        ("* /contacts*", {LIST, READ, CREATE, ERASE}),
        ("POST /campaigns/{campaign_id}/send", {SEND}),
        ("api-keys:read", set()),  # keys never manage keys
        ("GET /api-keys*", set()),
        ("contacts:READ", set()),
    ],
)
def test_a_permission_allows_exactly_its_routes(permission: str, granted: set[Route]) -> None:
    assert {route for route in API if allows([permission], route)} == granted


def test_a_refusal_names_the_narrowest_permission() -> None:
    assert [needed(r) for r in (LIST, CREATE, ERASE, SEND, TEMPLATES)] == [
        "contacts:read",
        "contacts:write",
        "contacts:erase",
        "campaigns:send",
        "email:write",
    ]


def test_permissions_are_checked_against_the_api() -> None:
    assert [p for p in ("contacts:read", "campaigns:send", "GET /contacts/*", "* /email/*") if problems(p, API)] == []
    assert problems("api-keys:read", API) == "API keys cannot manage API keys"
    assert problems("deals:read", API) == "no resource 'deals' in the API"
    assert problems("campaigns:fly", API) == "'campaigns' has no routes for 'fly'"
    assert problems("FETCH /contacts", API) == "no method 'FETCH'"
    assert problems("GET /deals/*", API) == "matches no route of the API"
    assert problems("GET /api-keys", API) == "matches no route of the API"
    assert problems("read everything", API) == "not `resource:action` or `METHOD /path`"


def test_the_authorizers_context_is_the_principal_or_a_refusal() -> None:
    key = AuthContext(
        tenant_id="t1", user_id="key_1", role=Role.MANAGER, key_id="key_1", permissions=("contacts:read",)
    )
    assert from_authorizer(principal_context(key)) == key
    user = AuthContext(tenant_id="t1", user_id="u1", groups=("g1",))
    assert from_authorizer(principal_context(user)) == user
    with pytest.raises(Unauthenticated) as refused:
        from_authorizer(refusal_context(401, "The API key is locked."))
    assert refused.value.detail == "The API key is locked." and refused.value.token_given
    with pytest.raises(Refused) as forbidden:
        from_authorizer(refusal_context(403, "Not from this IP."))
    assert forbidden.value.status == 403
    with pytest.raises(Unauthenticated):
        from_authorizer({"user_id": "u1"})  # no tenant
