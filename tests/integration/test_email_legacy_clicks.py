"""Legacy click links (a URL in a token signed with the stack's secret) are followed until
LEGACY_CLICKS_UNTIL, then answer as an unknown link; links naming their position keep working."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.ids import new_id
from tests.kernel_clock import KernelClock

URL = "https://shop.example/offer?a=1"
ORIGIN = "https://api.kontakt.example"


@pytest.fixture
def message(lambda_env: Any) -> tuple[str, str]:
    """A sent campaign mail whose HTML held URL (and whose sender recorded it as link 0)."""
    lambda_env("EmailApiFunction")
    from services.email.service import service_caller
    from services.email.transactional import new_message_record
    from shared.store import UnitOfWork

    tenant, message_id = "t" + new_id().lower()[:16], new_id()
    caller = service_caller(tenant)
    data = {
        "to": "reader@example.com",
        "subject": "Offer",
        "html": f'<p><a href="{URL}">Offer</a></p>',
        "links": [URL],
        "status": "sent",
        "message_id_header": f"<{message_id}@kontakt>",
    }
    uow = UnitOfWork()
    caller.store.add(uow, new_message_record(caller, message_id, data))
    uow.commit()
    return tenant, message_id


@pytest.mark.parametrize("offset", [timedelta(seconds=-1), timedelta(0), timedelta(days=30)])
def test_a_legacy_click_link_goes_until_its_removal_date_then_is_unknown(
    message: tuple[str, str], kernel_clock: KernelClock, offset: timedelta
) -> None:
    from services.email import tracking
    from services.email.domain.tracking import TrackingClaims

    tenant, message_id = message
    kernel_clock.moment = (tracking.LEGACY_CLICKS_UNTIL + offset).timestamp()
    legacy = TrackingClaims(tenant=tenant, message_id=message_id, kind="click", url=URL)
    current = TrackingClaims(tenant=tenant, message_id=message_id, kind="click", link=0)
    if kernel_clock.now() < datetime(2027, 6, 30, tzinfo=UTC):
        assert tracking.follow(legacy, ORIGIN) == URL
    else:
        with pytest.raises(tracking.UnknownLink):
            tracking.follow(legacy, ORIGIN)
    assert tracking.follow(current, ORIGIN) == URL  # a link naming its position is not affected
