"""Idempotency-Key (issue 16, part 1) through the local stack, as a client that retries sees it: a
repeated create or action with the same key is answered with the first answer and
`Idempotent-Replayed: true` and makes nothing twice; the same key on another request is a 422 naming
the header; keys belong to their tenant; every POST that needs a login documents the header."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
import requests

from infra.runtime import LocalRuntime
from tests.e2e.helpers import assert_problem, created, envelopes, new_tenant, ok, settle, walk
from tests.e2e.openapi_ops import UNKNOWN, operations

if TYPE_CHECKING:
    from conftest import Api

REPLAYED = "Idempotent-Replayed"
EVENT = {"type": "call", "subject": "Call back", "start": "2030-03-05T09:00:00Z", "end": "2030-03-05T10:00:00Z"}
TEMPLATE = {"name": "Retry", "subject": "Hello", "html": "<p>Hello</p>"}
CREATES = [  # the route (listed at the same path), a body, another body
    ("/contacts", {"first_name": "Aino", "email": "aino@example.fi"}, {"first_name": "Aino"}),
    ("/activities", EVENT, {**EVENT, "subject": "Call again"}),
    ("/email/templates", TEMPLATE, {**TEMPLATE, "name": "Other"}),
]


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


@pytest.fixture(scope="module")
def admin(session_api: Api) -> Api:
    return session_api.as_(new_tenant(), "idem-admin", "admin")


@pytest.mark.parametrize(("path", "body", "other"), CREATES, ids=[c[0] for c in CREATES])
def test_a_retried_create_is_answered_with_the_first_answer_and_makes_one_record(
    admin: Api, path: str, body: dict[str, Any], other: dict[str, Any]
) -> None:
    headers = key()
    before = len(walk(admin, path, limit=100))
    first = admin.post(path, json=body, headers=headers)
    again = admin.post(path, json=body, headers=headers)
    assert created(again)["id"] == created(first)["id"]
    assert again.json() == first.json()
    assert again.headers.get("Location") == first.headers.get("Location")
    assert again.headers.get(REPLAYED) == "true" and REPLAYED not in first.headers
    assert len(walk(admin, path, limit=100)) == before + 1

    refused = admin.post(path, json=other, headers=headers)
    assert_problem(refused, 422, "header.idempotency-key")
    assert refused.json()["errors"][0]["code"] == "reused"
    assert len(walk(admin, path, limit=100)) == before + 1
    # Without a key each request is its own.
    created(admin.post(path, json=body))
    assert len(walk(admin, path, limit=100)) == before + 2


def test_a_retried_action_runs_once(admin: Api) -> None:
    activity = created(admin.post("/activities", json=EVENT))
    headers = key()
    first = created(admin.post(f"/activities/{activity['id']}/memos", json={"text": "Called"}, headers=headers))
    again = admin.post(f"/activities/{activity['id']}/memos", json={"text": "Called"}, headers=headers)
    assert created(again) == first and again.headers.get(REPLAYED) == "true"
    assert len(ok(admin.get(f"/activities/{activity['id']}"))["memos"]) == 1
    # The same key on another route is another request: refused, not replayed.
    assert_problem(admin.post("/activities", json=EVENT, headers=headers), 422, "header.idempotency-key")


def test_a_refused_request_does_not_take_its_key(admin: Api) -> None:
    headers = key()
    unknown = {"first_name": "Aino", "account_id": UNKNOWN}
    assert_problem(admin.post("/contacts", json=unknown, headers=headers), 422, "account_id")
    account = created(admin.post("/accounts", json={"name": "Fixed Oy"}))
    fixed = {"first_name": "Aino", "account_id": account["id"]}
    # The cause fixed, the retry with the same key runs (another body is fine: the refusal kept nothing),
    # and takes the key.
    contact = admin.post("/contacts", json=fixed, headers=headers)
    assert created(contact)["account_id"] == account["id"] and REPLAYED not in contact.headers
    again = admin.post("/contacts", json=fixed, headers=headers)
    assert created(again)["id"] == contact.json()["id"] and again.headers.get(REPLAYED) == "true"


def test_a_key_belongs_to_its_tenant(admin: Api, session_api: Api, stack: LocalRuntime) -> None:
    tenant = new_tenant()
    other = session_api.as_(tenant, "idem-admin", "admin")
    headers = key()
    mine = created(admin.post("/contacts", json={"first_name": "Bo"}, headers=headers))
    theirs = other.post("/contacts", json={"first_name": "Bo"}, headers=headers)
    assert created(theirs)["id"] != mine["id"] and REPLAYED not in theirs.headers
    their_retry = other.post("/contacts", json={"first_name": "Bo"}, headers=headers)
    assert created(their_retry)["id"] == theirs.json()["id"] and their_retry.headers.get(REPLAYED) == "true"
    assert [c["id"] for c in walk(other, "/contacts", limit=100)] == [theirs.json()["id"]]
    mine_again = admin.post("/contacts", json={"first_name": "Bo"}, headers=headers)
    assert created(mine_again)["id"] == mine["id"]
    # One contact.created for the tenant's one contact: the replay published nothing (and the
    # keys' items in the table leave its stream's publisher running).
    settle(stack, lambda: envelopes(stack, tenant, "contact.created"), busy_ok=True)
    assert [e["data"]["id"] for e in envelopes(stack, tenant, "contact.created")] == [theirs.json()["id"]]


def test_concurrent_repeats_make_one_record(session_api: Api) -> None:
    """Requests with one key at once: one runs; the others are replays of it or 409 (still running)."""
    tenant_admin = session_api.as_(new_tenant(), "idem-race", "admin")
    headers = {**key(), "Authorization": tenant_admin.session.headers["Authorization"]}
    url = f"{tenant_admin.base_url}/contacts"

    def send(_: int) -> requests.Response:
        return requests.post(url, json={"first_name": "Race"}, headers=headers, timeout=60)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    assert sorted({a.status_code for a in answers}) in ([201], [201, 409])
    fresh = [a for a in answers if a.status_code == 201 and REPLAYED not in a.headers]
    assert len(fresh) == 1
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409)
        else:
            assert answer.json()["id"] == fresh[0].json()["id"]
    assert len(walk(tenant_admin, "/contacts", limit=100)) == 1


def test_a_key_that_is_no_key_is_refused(admin: Api) -> None:
    for bad in ("has space", "k" * 256):
        response = admin.post("/contacts", json={"first_name": "X"}, headers={"Idempotency-Key": bad})
        assert_problem(response, 422, "header.idempotency-key")


def test_browsers_may_send_the_key_and_read_the_replay_header(admin: Api) -> None:
    preflight = requests.options(
        f"{admin.base_url}/contacts",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "idempotency-key",
        },
        timeout=30,
    )
    assert "idempotency-key" in preflight.headers["Access-Control-Allow-Headers"].lower()
    answer = admin.post("/contacts", json={"first_name": "Cors"}, headers={**key(), "Origin": "https://app.example"})
    assert REPLAYED.lower() in answer.headers["Access-Control-Expose-Headers"].lower()


def test_every_post_with_a_login_documents_the_key_and_its_answers() -> None:
    everything = operations()
    posts = [op for op in everything if op.method == "POST" and not op.public]
    assert len(posts) > 40  # every service's creates and actions
    missing = []
    for op in posts:
        names = {p["name"].lower(): p for p in op.operation.get("parameters", []) if p["in"] == "header"}
        header = names.get("idempotency-key")
        if header is None or header["required"] or header["schema"].get("maxLength") != 255:
            missing.append(f"{op}: no optional Idempotency-Key header")
        if not {"409", "422"} <= set(op.operation["responses"]):
            missing.append(f"{op}: 409 and 422 not documented")
        success = [r for s, r in op.operation["responses"].items() if s.startswith("2")]
        if not all(REPLAYED in r.get("headers", {}) for r in success):
            missing.append(f"{op}: {REPLAYED} not documented")
    assert missing == []
    public = [op for op in everything if op.method == "POST" and op.public]
    assert all("idempotency-key" not in str(op.operation.get("parameters", "")).lower() for op in public)
