"""A stand-in DNS for the local runtime's functions, so that no test asks real DNS.

`LocalRuntime(hosts={name: [addresses]})` gives every function's worker `KONTAKT_HOSTS`, that
table as JSON; the worker installs a resolver answering from it as `shared.outbound.resolve`, the
one every outbound check asks (shared/outbound.py: an SMTP server, a webhook endpoint). `localhost`
answers loopback (RFC 6761); any other name does not resolve (`outbound.Unresolved`). A test may
answer other names for a while with `runtime.functions.configured(id, environment={HOSTS: ...})`.
Without the variable (`kontakt dev`) the system's resolver answers. Nothing of this is in the
functions' code: the worker installs it, as it installs IAM and faults (infra/functions.py).

With the table the worker's sockets also connect to loopback only (`loopback_only`, installed by the
worker beside the table): a test's
endpoint named by a public address (`hooks.example.com`) is refused by the machine before any
packet leaves, even if the outbound guard were broken (issue 20 item 7).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from collections.abc import Mapping, Sequence
from typing import Any

HOSTS = "KONTAKT_HOSTS"
LOCALHOST = ("127.0.0.1", "::1")


def environment(hosts: Mapping[str, Sequence[str]] | None) -> dict[str, str]:
    """The variable a worker reads the table from (none without a table)."""
    return {} if hosts is None else {HOSTS: json.dumps({name: list(found) for name, found in hosts.items()})}


def install(environment: Mapping[str, str] | None = None) -> bool:
    """Install the table's resolver in this process when the environment carries one (whether it did).

    Call it once the function's code is importable (its `shared` package is the one it imports)."""
    text = (os.environ if environment is None else environment).get(HOSTS)
    if not text:
        return False
    table = {_name(name): [str(a) for a in found] for name, found in json.loads(text).items()}
    table.setdefault("localhost", list(LOCALHOST))

    from shared import outbound

    def resolve(host: str) -> list[str]:
        found = table.get(_name(host))
        if not found:
            raise outbound.Unresolved(f"{host} does not resolve")
        return list(found)

    outbound.resolve = resolve
    return True


def loopback_only() -> None:
    """Refuse every IP connection of this process to an address outside 127.0.0.0/8 and ::1."""
    if getattr(socket.socket.connect, "loopback_only", False):
        return
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def checked(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            raise ConnectionRefusedError(f"the test runtime connects to loopback only, not {address[0]}")

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        checked(sock, address)
        connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        checked(sock, address)
        return connect_ex(sock, address)

    guarded_connect.loopback_only = True  # type: ignore[attr-defined]
    socket.socket.connect = guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign,assignment]


def _loopback(address: Any) -> bool:
    try:
        return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
    except (ValueError, IndexError, TypeError):
        return False


def _name(host: str) -> str:
    return host.strip().lower().rstrip(".")
