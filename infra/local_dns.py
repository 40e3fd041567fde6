"""A stand-in DNS for the local runtime's functions, so that no test asks real DNS.

`LocalRuntime(hosts={name: [addresses]})` gives every function's worker `KONTAKT_HOSTS`, that
table as JSON; the worker installs a resolver answering from it as `shared.outbound.resolve`, the
one every outbound check asks (shared/outbound.py: an SMTP server, a webhook endpoint). `localhost`
answers loopback (RFC 6761); any other name does not resolve (`outbound.Unresolved`). A test may
answer other names for a while with `runtime.functions.configured(id, environment={HOSTS: ...})`.
Without the variable (`kontakt dev`) the system's resolver answers. Nothing of this is in the
functions' code: the worker installs it, as it installs IAM and faults (infra/functions.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

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


def _name(host: str) -> str:
    return host.strip().lower().rstrip(".")
