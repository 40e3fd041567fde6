"""Refused credentials in the audit trail: `access.refused`, at most one a minute per key (or
address) and reason.

The access service's authorizer notes the refusals it decides (a locked, revoked or expired key, a
key used outside its IPs, an address the tenant's rules deny); every service's API notes the one
the kernel decides per route (an API key without the route's permission, shared/api.py). Each
writes, in its own table, a mark per key (or address) and reason whose conditional write commits
with the event's outbox item: a flood of refused requests costs one failed conditional write each
and one event a minute, never a write per request. A service that is the trail itself (audit: no
outbox) records the event its own way (`record`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta

from pynamodb.attributes import TTLAttribute, UnicodeAttribute

from shared.contracts.access import Refused
from shared.events import Actor, Envelope, new_event
from shared.observability import logger
from shared.store import ConcurrentUpdate, TableItem, UnitOfWork, tenant_key

INTERVAL = timedelta(minutes=1)


class RefusalMark(TableItem):
    """`T#<tenant>#REFUSAL#<key or address>#<reason's hash>` / `REFUSAL`: until when such refusals go
    unrecorded (one item per key or address and reason, overwritten: no item per request)."""

    until = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)  # a mark is of use for a minute; the table's TTL removes it


def note_refusal(
    tenant_id: str,
    key_id: str | None,
    ip: str,
    status: int,
    reason: str,
    now: datetime,
    record: Callable[[Envelope], None] | None = None,
) -> None:
    """Record a refusal (an `access.refused` event through the outbox, or `record`), unless one for
    the same key (or address) and reason was recorded within the last minute. Never raises: a
    refusal's answer does not wait on its record."""
    mark = RefusalMark(
        pk=tenant_key(tenant_id, "REFUSAL", key_id or ip, hashlib.sha256(reason.encode()).hexdigest()[:16]),
        sk="REFUSAL",
        kind="refusal",
        until=(now + INTERVAL).isoformat(),
        expires_at=now + timedelta(days=1),
    )
    payload = Refused(id=key_id or ip, status=status, reason=reason, key_id=key_id, ip=ip)
    actor = Actor(type="key", id=key_id) if key_id else Actor(type="system", id="authorizer")
    event = new_event("access.refused", tenant_id, payload, actor=actor)
    uow = UnitOfWork()
    uow.save(mark, condition=RefusalMark.pk.does_not_exist() | (RefusalMark.until <= now.isoformat()))
    if record is None:
        uow.publish(event)
    try:
        uow.commit()
        if record is not None:
            record(event)
    except ConcurrentUpdate:
        pass  # recorded within the minute
    except Exception:
        logger.warning("a refusal was not recorded", extra={"tenant_id": tenant_id}, exc_info=True)
