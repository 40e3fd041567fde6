"""(r) The access service's AWS calls per unit of work, beside the minimum its design needs:

- an authorizer cache miss with an API key: the key's one GetItem (the tenant's IP rules are kept
  by the instance for seconds, a key's last use is written at most once a minute);
- a sign-in (the custom flow; `LocalRuntime.sign_in` invokes Cognito's triggers in Cognito's order):
  each of the three triggers finds who the login is (a GetItem on the directory's login item);
  PreAuthentication reads the user's and the address's counters in one BatchGetItem and writes the
  attempt, the counters and nothing else in one transaction; PostAuthentication reads the counters
  and the attempt under way, and closes it with its event in one transaction. A wrong password:
  DefineAuthChallenge reads the user's counter, then the attempt it names, and closes it. (The
  attempt's id is in the user's counter, so its read follows the counter's.)

Run: .venv/bin/pytest -s -p no:xdist tests/perf/test_r_access_calls.py
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra.devlogins import DEV_PASSWORD
from infra.runtime import SignInFailed

from .conftest import FIGURES, PROJECT_ROOT, render, started
from .test_h_campaign import CountedRuntime
from .test_r_authorizer import contacts_route, reader_key

pytestmark = pytest.mark.perf

ROUNDS = 20
AUTHORIZER, SIGN_IN = "AccessAuthorizerFunction", "AccessSignInFunction"
# The design's minimum per unit (the module's docstring): what each unit cannot do with fewer calls.
MINIMUM = {
    "authorizer miss (API key)": 1,
    "sign-in that passes": 3 + 2 + 3,  # a login read per trigger; pre: read + write; post: 2 reads + write
    "sign-in with a wrong password": 2 + 2 + 3,  # a login read per trigger; pre: read + write; define: 2 reads + write
}


@pytest.fixture(scope="module")
def stack() -> Iterator[CountedRuntime]:
    with started(CountedRuntime(PROJECT_ROOT, {}, stage="dev", port=0, concurrency=2)) as runtime:
        yield runtime


def calls_of(stack: CountedRuntime, function: str, before: Counter[tuple[str, str, str]]) -> Counter[str]:
    spent = stack.log.snapshot()[0] - before
    return Counter({f"{service} {operation}": n for (name, service, operation), n in spent.items() if name == function})


def authorizer_misses(stack: CountedRuntime, tenant: str) -> Counter[str]:
    assert stack.gateway is not None
    secret = reader_key(stack, stack.token(tenant, "admin-1", "admin"))
    route, params, authorizer = contacts_route(stack.gateway)
    environ = EnvironBuilder(path="/contacts", headers={"Authorization": f"Bearer {secret}"})
    request = Request({**environ.get_environ(), "REMOTE_ADDR": "127.0.0.1"})
    event = stack.gateway.authorizer_event(request, route, params, (request.headers["Authorization"], "127.0.0.1"), "p")
    function = authorizer.function
    stack.invoke(function, event)  # warm: the rules read, the last use written
    before = stack.log.snapshot()[0]
    for _ in range(ROUNDS):
        assert stack.invoke(function, event)["isAuthorized"]
    return calls_of(stack, AUTHORIZER, before)


def sign_ins(stack: CountedRuntime, tenant: str, password: str) -> Counter[str]:
    stack.sign_in(tenant, "warm", DEV_PASSWORD, "198.51.100.1", "perf")  # the trigger's worker warm
    before = stack.log.snapshot()[0]
    for n in range(ROUNDS):
        try:  # a user each, so that no lock stops the wrong passwords
            stack.sign_in(tenant, f"user-{n}", password, "198.51.100.1", "perf")
        except SignInFailed:
            assert password != DEV_PASSWORD
    return calls_of(stack, SIGN_IN, before)


def test_access_calls_per_unit(stack: CountedRuntime) -> None:
    tenant = f"perf-access-{uuid.uuid4().hex[:8]}"
    measured = {
        "authorizer miss (API key)": authorizer_misses(stack, tenant),
        "sign-in that passes": sign_ins(stack, tenant, DEV_PASSWORD),
        "sign-in with a wrong password": sign_ins(stack, f"{tenant}-w", "wrong"),
    }
    rows: list[tuple[str, ...]] = []
    for unit, calls in measured.items():
        per_unit = sum(calls.values()) / ROUNDS
        rows.append((unit, f"{per_unit:.2f}", str(MINIMUM[unit]), ""))
        rows += [(f"  {call}", f"{n / ROUNDS:.2f}", "", "") for call, n in sorted(calls.items())]
        FIGURES.add("r. access", f"AWS calls per {unit}", round(per_unit, 2), f"calls (minimum {MINIMUM[unit]})")
        assert per_unit <= 2 * MINIMUM[unit], (unit, calls)  # a loose bound: the figure is what is reported
    print(render("(r) access: AWS calls per unit of work", rows, header=("unit", "calls", "minimum", "")))
