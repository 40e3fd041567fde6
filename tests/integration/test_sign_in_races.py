"""Sign-in failures under concurrent writers, against the emulator's access table: each counts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from services.access import logins
from services.access.domain.logins import USER_LIMIT, LockSubject, lock_id
from services.access.store import AccessStore, Record
from shared import clock
from shared.store import tenant_key
from tests.integration.conftest import new_tenant


def test_sign_ins_at_once_each_count_and_the_next_locks(lambda_env: Any) -> None:
    lambda_env("AccessSignInFunction")
    store, tenant, now = AccessStore(), new_tenant(), clock.now()

    def attempt(n: int) -> None:  # begun, then the wrong password seen (the custom flow)
        logins.begin(store, tenant, "user-1", "203.0.113.7", f"agent-{n}", now)
        logins.failed(store, tenant, "user-1", "203.0.113.7", f"agent-{n}", now)

    with ThreadPoolExecutor(max_workers=USER_LIMIT) as pool:
        list(pool.map(attempt, range(USER_LIMIT)))
    user = store.get(tenant, logins.LOCK, lock_id(LockSubject.USER, "user-1"))
    address = store.get(tenant, logins.LOCK, lock_id(LockSubject.IP, "203.0.113.7"))
    assert user is not None and user.data["failures"] == USER_LIMIT and not user.data.get("locked_until")  # none lost
    assert address is not None and address.data["failures"] == USER_LIMIT
    with pytest.raises(logins.LoginRefused):  # the next finds a full window: refused before any password
        logins.begin(store, tenant, "user-1", "203.0.113.7", "agent", now)
    user = store.get(tenant, logins.LOCK, lock_id(LockSubject.USER, "user-1"))
    assert user is not None and user.data["locks"] == 1 and user.data["locked_until"]
    attempts = list(Record.by_type.query(tenant_key(tenant, logins.ATTEMPT.upper(), "user-1")))
    outcomes = sorted((a.data["outcome"], a.data["user_agent"]) for a in attempts)
    assert outcomes == sorted([("failed", f"agent-{n}") for n in range(USER_LIMIT)] + [("refused", "agent")])
    assert all(a.expires_at for a in attempts) and user.expires_at  # the table's TTL removes them in time
