"""The local runtime's stand-in DNS (infra/local_dns.py): a worker given a table answers names from
it alone, so a test never asks real DNS; without one the system's resolver stays."""

from __future__ import annotations

import pytest

from infra import local_dns
from shared import outbound

pytestmark = pytest.mark.disable_socket


@pytest.fixture(autouse=True)
def _restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbound, "resolve", outbound.resolve)


def test_a_table_answers_its_names_localhost_as_loopback_and_nothing_else() -> None:
    variables = local_dns.environment({"Hooks.Example.com": ["93.184.215.14", "10.0.0.1"]})
    assert local_dns.install(variables) is True
    assert outbound.resolve("hooks.example.com.") == ["93.184.215.14", "10.0.0.1"]
    assert outbound.resolve("localhost") == ["127.0.0.1", "::1"]
    with pytest.raises(outbound.Unresolved):
        outbound.resolve("example.com")  # not asked of real DNS: the socket is disabled here
    with pytest.raises(outbound.OutboundRefused, match=r"10\.0\.0\.1"):
        outbound.destination("hooks.example.com", 443, allow=outbound.AllowList())


def test_without_a_table_the_system_resolver_stays() -> None:
    assert local_dns.environment(None) == {}
    assert local_dns.install({}) is False
    assert outbound.resolve is outbound.system_resolver


LOOPBACK_ONLY = """
import socket, sys
from infra import local_dns
server = socket.create_server(("127.0.0.1", 0))
local_dns.loopback_only()
socket.create_connection(server.getsockname(), timeout=5).close()  # loopback: allowed
for address in (("93.184.215.14", 443), ("10.0.0.1", 80), ("::ffff:93.184.215.14", 443)):
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    try:
        socket.socket(family).connect(address)
    except ConnectionRefusedError as refused:
        assert "loopback only" in str(refused), refused
    else:
        sys.exit(f"connected to {address}")
print("refused")
"""


def test_a_test_runtimes_worker_connects_to_loopback_only() -> None:
    """What a worker of the test runtime installs beside the table: a connection to any address but
    loopback is refused before any packet leaves (run in a child, as it patches the process's sockets)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", LOOPBACK_ONLY], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "refused", done.stdout + done.stderr
