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


def test_failures_at_once_each_count_and_the_last_locks(lambda_env: Any) -> None:
    lambda_env("AccessSignInFunction")
    store, tenant, now = AccessStore(), new_tenant(), clock.now()

    def fail(n: int) -> None:
        logins.failed(store, tenant, "user-1", "203.0.113.7", f"agent-{n}", now)

    with ThreadPoolExecutor(max_workers=USER_LIMIT) as pool:
        list(pool.map(fail, range(USER_LIMIT)))
    user = store.get(tenant, logins.LOCK, lock_id(LockSubject.USER, "user-1"))
    address = store.get(tenant, logins.LOCK, lock_id(LockSubject.IP, "203.0.113.7"))
    assert user is not None and user.data["locks"] == 1 and user.data["locked_until"]  # the 5th of 5 locked
    assert address is not None and address.data["failures"] == USER_LIMIT  # none lost
    attempts = Record.by_type.query(tenant_key(tenant, logins.ATTEMPT.upper(), "user-1"))
    assert sorted(a.data["user_agent"] for a in attempts) == [f"agent-{n}" for n in range(USER_LIMIT)]
    with pytest.raises(logins.LoginRefused):  # locked: refused before any password
        logins.check(store, tenant, "user-1", "203.0.113.7", "agent", now)
