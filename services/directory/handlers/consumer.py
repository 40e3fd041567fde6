"""Consumes the events routed to the directory: audience requests, customers added by contact orders,
requesters of tickets, field changes workflows ask for, and the last steps of its own merges."""

from collections.abc import Iterator
from contextlib import suppress
from typing import Any

from services.directory.domain.conditions import TargetGroup
from services.directory.domain.models import Contact
from services.directory.orders import create_customer
from services.directory.requesters import create_requester
from services.directory.service import Caller, readable, service_caller
from services.directory.settings import DirectorySettings
from services.directory.store import Record
from services.directory.target_groups import Resolver
from services.directory.updates import apply_update
from shared.auth import AuthContext, Role
from shared.consumer import Handle
from shared.contracts.audience import (
    PAGE_BYTES,
    PAGE_SIZE,
    AudienceMember,
    AudiencePage,
    AudienceRequested,
    json_bytes,
    page_overhead,
)
from shared.entry import consumer_entry
from shared.errors import NotFound
from shared.events import Actor, Envelope, new_event
from shared.ids import derived_id
from shared.observability import logger, metrics
from shared.service import model_of
from shared.store import AlreadyApplied, UnitOfWork

CONSUMER = "directory"
CONTACT_FIELDS = frozenset(Contact.model_fields) - {"version"}
DIRECTORY = Actor(type="service", id="directory")


def _member(contact: dict[str, Any], fields: list[str]) -> AudienceMember:
    return AudienceMember(
        contact_id=contact["id"],
        account_id=contact.get("account_id"),
        owner_id=(contact.get("owner") or {}).get("id"),
        owner_type=(contact.get("owner") or {}).get("type"),
        account_manager_id=contact.get("account_manager_id"),
        fields={f: contact.get(f) for f in fields if f in CONTACT_FIELDS},
    )


def _pages(request: AudienceRequested, members: Iterator[dict[str, Any]]) -> Iterator[AudiencePage]:
    """Pages of at most PAGE_SIZE members and PAGE_BYTES of JSON; the last one says so and carries the total.

    A page is closed when the next member would not fit, so it is never empty unless the group
    is, and the last page is known to be last. A member larger than a whole page (the member
    model's longest fields make ~23 KB, far less) would still go alone on its page.
    """
    room = PAGE_BYTES - page_overhead(request.request_id, request.requester, request.target_group_id)
    batch: list[AudienceMember] = []
    number, total, used = 1, 0, 0
    for contact in members:
        member = _member(contact, request.fields)
        size = json_bytes(member) + 1  # and the comma between members
        if batch and (len(batch) == PAGE_SIZE or used + size > room):
            yield AudiencePage(**_base(request), page=number, last=False, members=batch)
            batch, used, number = [], 0, number + 1
        batch.append(member)
        used += size
        total += 1
    yield AudiencePage(**_base(request), page=number, last=True, total_members=total, members=batch)


def _base(request: AudienceRequested) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "requester": request.requester,
        "target_group_id": request.target_group_id,
    }


def _publish(envelope: Envelope, page: AudiencePage) -> None:
    """One page in its own transaction; its id is derived, so a redelivery cannot add it twice."""
    event_id = derived_id(envelope.id, "page", str(page.page))
    uow = UnitOfWork()
    uow.publish(
        new_event(
            "audience.page",
            envelope.tenant_id,
            page,
            actor=DIRECTORY,
            correlation_id=envelope.correlation_id,
            event_id=event_id,
        )
    )
    with suppress(AlreadyApplied):
        uow.commit()


def _viewer(tenant_id: str, request: AudienceRequested) -> Caller | None:
    """The user the requester acts for, as a directory caller: the same check as their requests."""
    if request.acting is None:
        return None
    auth = AuthContext(
        tenant_id=tenant_id,
        user_id=request.acting.user_id,
        role=Role(request.acting.role),
        groups=tuple(request.acting.groups),
    )
    return Caller(auth=auth)


def resolve_audience(envelope: Envelope, uow: UnitOfWork) -> None:
    request = AudienceRequested.model_validate(envelope.data)
    caller = service_caller(envelope.tenant_id, open_tenant=False)  # reads only; an unknown tenant has no group
    viewer = _viewer(envelope.tenant_id, request)
    try:  # a group the acting user may not see is unknown to them, as on the API (`readable`)
        record: Record | None = readable(viewer or caller, "target_group", request.target_group_id, "target_groups")
    except NotFound:
        record = None
    if record is None:
        empty = AudiencePage(
            **_base(request),
            page=1,
            last=True,
            total_members=0,
            members=[],
            error=f"No target group {request.target_group_id}.",
        )
        _publish(envelope, empty)
        return
    resolver = Resolver(caller, model_of(record, TargetGroup), viewer)
    for audience_page in _pages(request, resolver.members()):
        _publish(envelope, audience_page)
    metrics.add_metric(name="AudienceItemsRead", unit="Count", value=resolver.items_read)
    logger.info("audience resolved", extra={"request_id": request.request_id, "items_read": resolver.items_read})


def finish_merge(envelope: Envelope, uow: UnitOfWork) -> None:
    # here: the merge module builds its request models at import, which no other event needs
    from services.directory.merges import on_merged

    on_merged(envelope, uow)


HANDLERS: dict[str, Handle] = {
    "audience.requested": resolve_audience,
    "contact_order.created": create_customer,
    "ticket.created": create_requester,
    "contact.update_requested": apply_update,
    "account.update_requested": apply_update,
    "contact.merged": finish_merge,
    "account.merged": finish_merge,
}

handler = consumer_entry(DirectorySettings, CONSUMER, HANDLERS)
