"""(j) What a dev token costs: provisioning the tenant and user, then the trigger's claims."""

from __future__ import annotations

import uuid

import pytest

from infra.runtime import LocalRuntime

from .conftest import FIGURES, median, render, stopwatch

pytestmark = pytest.mark.perf

ROUNDS = 20


def test_dev_token_costs(runtime: LocalRuntime) -> None:
    runtime.token(f"perf-tok-{uuid.uuid4().hex[:8]}", "warm", "admin")  # cold starts are not measured
    new_tenant, new_user, cached = [], [], []
    for n in range(ROUNDS):
        tenant = f"perf-tok-{uuid.uuid4().hex[:8]}"
        with stopwatch() as elapsed:
            runtime.token(tenant, "admin-1", "admin")
        new_tenant.append(elapsed())
        with stopwatch() as elapsed:
            runtime.token(tenant, f"user-{n}", "user", ["g1"])
        new_user.append(elapsed())
        with stopwatch() as elapsed:
            runtime.token(tenant, "admin-1", "admin")
        cached.append(elapsed())
    rows = [
        ("first token of a new tenant", f"{median(new_tenant) * 1000:.0f}", "ms (median)"),
        ("first token of another user", f"{median(new_user) * 1000:.0f}", "ms (median)"),
        ("same token again (cached)", f"{median(cached) * 1000:.2f}", "ms (median)"),
    ]
    print(
        render(f"(j) dev tokens: {ROUNDS} tenants, provisioning + trigger per new token", rows, ("", "value", "unit"))
    )
    for label, value, unit in rows:
        FIGURES.add("j. dev tokens", label, float(value), unit)
    assert median(cached) < median(new_user)
