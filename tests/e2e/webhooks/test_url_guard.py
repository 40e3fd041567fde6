"""An endpoint's host goes through the outbound guard when it is saved (issue 20, item 7): every range
the guard refuses, by a name resolving into it and by literal addresses. The runtime's functions
resolve the names of tests/e2e/hosts.py only (infra/local_dns.py), and nothing here connects anywhere:
the guard is checked at save."""

from __future__ import annotations

import pytest

from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, ok
from tests.e2e.hosts import REFUSED

FUNCTION = "WebhooksApiFunction"


def _code(answer: object) -> str:
    body = assert_problem(answer, 422, "url")  # type: ignore[arg-type]
    return str(body["errors"][0]["code"])


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_name_resolving_into_a_refused_range_is_refused_on_create_and_change(admin: Api, name: str) -> None:
    assert _code(admin.post("/webhooks/endpoints", json={"url": f"https://{name}/hook"})) == "outbound_refused"
    endpoint = ok(admin.post("/webhooks/endpoints", json={"url": "https://hooks.example.com/hook"}), 201)
    changed = admin.patch(f"/webhooks/endpoints/{endpoint['id']}", json={"url": f"https://{name}:8443/hook"})
    assert _code(changed) == "outbound_refused"
    assert [e["url"] for e in ok(admin.get("/webhooks/endpoints"))["items"]] == ["https://hooks.example.com/hook"]


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",  # the instance metadata service
        "2852039166",  # the same, as one number
        "0xa9fea9fe",
        "0251.0376.0251.0376",
        "[fd00:ec2::254]",  # its IPv6 address
        "[::ffff:169.254.169.254]",  # IPv4-mapped
        "[::ffff:a9fe:a9fe]",
        "10.0.0.1",
        "172.31.0.1",
        "192.168.0.1",
        "100.100.100.200",  # CGNAT
        "127.0.0.2",  # loopback, but for 127.0.0.1 the local stack allows
        "0.0.0.0",
        "0",
        "[::]",
        "224.0.0.1",
        "[ff02::1]",
        "[fe80::1]",
        "[fc00::1]",
        "[2002:a9fe:a9fe::1]",  # 6to4 of the metadata address
    ],
)
def test_a_literal_address_in_a_refused_range_is_refused(admin: Api, host: str) -> None:
    assert _code(admin.post("/webhooks/endpoints", json={"url": f"https://{host}/hook"})) == "outbound_refused"


def test_a_name_that_does_not_resolve_is_refused(admin: Api) -> None:
    assert _code(admin.post("/webhooks/endpoints", json={"url": "https://nowhere.example.com/"})) == "unresolvable_host"
    assert _code(admin.post("/webhooks/endpoints", json={"url": "https://[1:2:3]/"})) == "unresolvable_host"


def test_public_names_and_the_local_stacks_own_loopback_are_allowed(admin: Api) -> None:
    for url in (
        "https://hooks.example.com/a",
        "https://dual.example.com:8443/b",  # IPv4 and IPv6 answers, both public
        "https://own-loopback.example.com/c",  # 127.0.0.1: the local stack's OutboundAllow
        "https://[::1]:9443/d",
        "http://localhost:8999/e",
    ):
        assert ok(admin.post("/webhooks/endpoints", json={"url": url}), 201)["url"] == url


def test_the_allow_list_lets_a_self_hosted_stack_reach_its_own_network(stack: LocalRuntime, admin: Api) -> None:
    assert stack.functions is not None
    allow = {"OUTBOUND_ALLOW": "127.0.0.1/32,::1/128,10.0.0.0/8,metadata6.ssrf.test"}
    with stack.functions.configured(FUNCTION, environment=allow):
        assert ok(admin.post("/webhooks/endpoints", json={"url": "https://private10.ssrf.test/"}), 201)
        assert ok(admin.post("/webhooks/endpoints", json={"url": "https://metadata6.ssrf.test/"}), 201)
        refused = admin.post("/webhooks/endpoints", json={"url": "https://private172.ssrf.test/"})
        assert _code(refused) == "outbound_refused"
    assert _code(admin.post("/webhooks/endpoints", json={"url": "https://private10.ssrf.test/"})) == "outbound_refused"
