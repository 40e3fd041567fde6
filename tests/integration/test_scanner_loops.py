"""Loop safety's allowance against the emulator (services/scanner/loops.py): at most 10 automatic
mails to one address in any 3 hours, a sliding window (the 11th waits until the first is 3 hours
old), and two senders that read the same allowance cannot both take its last place."""

from __future__ import annotations

from typing import Any

import pytest

from shared.store import ConcurrentUpdate, UnitOfWork
from tests.integration.conftest import new_tenant
from tests.kernel_clock import KernelClock


def _take(tenant: str, address: str) -> bool:
    from services.scanner import loops

    uow = UnitOfWork()
    taken = loops.take_allowance(uow, tenant, address)
    if taken:
        uow.commit()
    return taken


def test_ten_a_window_sliding(lambda_env: Any, kernel_clock: KernelClock) -> None:
    from services.scanner import loops

    lambda_env("ScannerInboundFunction")
    tenant, address = new_tenant(), "Maija@Example.fi"
    for _ in range(loops.MAX_AUTOMATIC):
        assert _take(tenant, address)
        kernel_clock.advance(60)
    assert not _take(tenant, "maija@example.fi")  # the same address, however spelt
    assert _take(new_tenant(), address)  # another tenant's allowance is its own
    kernel_clock.advance(loops.WINDOW.total_seconds() - 10 * 60 + 1)  # the first send is 3 hours old
    assert _take(tenant, address) and not _take(tenant, address)
    assert loops.sent_recently(tenant, address) == loops.MAX_AUTOMATIC


def test_two_senders_cannot_both_take_the_last_place(lambda_env: Any) -> None:
    from services.scanner import loops

    lambda_env("ScannerInboundFunction")
    tenant, address = new_tenant(), "kiire@example.fi"
    for _ in range(loops.MAX_AUTOMATIC - 1):
        assert _take(tenant, address)
    first, second = UnitOfWork(), UnitOfWork()
    assert loops.take_allowance(first, tenant, address) and loops.take_allowance(second, tenant, address)
    first.commit()
    with pytest.raises(ConcurrentUpdate):
        second.commit()  # read the same version: its retry reads again and finds no place
    assert not _take(tenant, address)
    assert loops.sent_recently(tenant, address) == loops.MAX_AUTOMATIC
