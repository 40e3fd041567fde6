"""A user's calendar: the JSON view, the secret iCalendar feed and the cancellations it publishes.

The calendar index (`by_calendar`, `T#<t>#CAL#<user>` / `<start>#<id>`) holds the user's events
(activities.py), the bookings of contact orders (order_bookings.py; a cancelled booking stays
there with status cancelled) and the tombstones written here: when an event leaves a calendar
(deleted, turned into a task, given to another owner) a tombstone item keeps it there as
cancelled, with a higher sequence, for TOMBSTONE_LIFE, so that subscribed clients remove it.
DynamoDB's TTL (`expires_at`) deletes a tombstone eventually; reads skip one already expired.

Feed URLs [002 Google/Outlook]: `/calendar/<feed id>.<mac>.ics`. The feed id is random (144
bits) and names a lookup item `CALFEED#<feed id>` -> tenant and user; the mac (HMAC with the
service's signing key) turns away made-up tokens without a read. Creating a feed again rotates
the id, revoking deletes the lookup item: an old URL then answers 404. The user's feed record
keeps the live id so that GET /calendar-feeds can show the URL again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pynamodb.attributes import MapAttribute, TTLAttribute, UnicodeAttribute

from services.activities.activities import on_change, stamp
from services.activities.domain.calendar import CalendarEntry, CalendarLinks, EntryKind, render_feed
from services.activities.domain.models import Activity, ActivityKind
from services.activities.service import Caller, service_caller
from services.activities.store import Record, clean, new_record, record_key
from services.activities.tenant import zone as tenant_zone
from shared import clock
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.ids import derived_id
from shared.observability import logger
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.service import commit
from shared.store import TableItem, UnitOfWork, run_with_retries, tenant_key

T = TypeVar("T", bound=BaseModel)

FEED = "calendar_feed"
FEED_KEY = "CALFEED"
TOMBSTONE = "calendar_tombstone"
TOMBSTONE_LIFE = timedelta(days=30)
FEED_PAST = timedelta(days=90)
FEED_AHEAD = timedelta(days=365)
FEED_MAX_ITEMS = 5000
MAX_RANGE = timedelta(days=366)
FEED_NAME = "Kontakt"


class CalendarTombstone(TableItem):
    """A cancelled copy of an event in one user's calendar index; DynamoDB's TTL removes it.

    Its own model (not a Record) because it carries a TTL attribute; reads go through
    `Record.by_calendar` like everything else in the calendar.
    """

    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()
    fields: MapAttribute[str, Any] = MapAttribute(default=dict, attr_name="data")
    expires_at = TTLAttribute()


class CalendarFeed(BaseModel):
    """The caller's secret feed: subscribe to `url` in Google Calendar or Outlook."""

    url: str
    path: str
    created_at: datetime


# ----------------------------------------------------------------------------- entries


def _time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def event_entry(activity: Activity) -> CalendarEntry:
    assert activity.start is not None
    return CalendarEntry(
        kind=EntryKind.event,
        id=activity.id,
        subject=activity.subject,
        description=activity.description,
        location=activity.location,
        start=activity.start,
        end=activity.end,
        all_day=activity.all_day,
        status=activity.status.value,
        sequence=activity.sequence,
        updated_at=activity.updated_at,
        user_id=activity.owner_id,
        links=CalendarLinks(activity_id=activity.id, account_id=activity.account_id, contact_id=activity.contact_id),
    )


def booking_entry(data: dict[str, Any], record_id: str) -> CalendarEntry:
    """A booking of a contact order (data as order_bookings.py stores it)."""
    number = data.get("order_number")
    note = data.get("note")
    description = "\n".join(p for p in (f"Contact order {number}" if number else None, note) if p) or None
    start = _time(data["start"])
    assert start is not None
    return CalendarEntry(
        kind=EntryKind.booking,
        id=data.get("id") or record_id,
        subject=data.get("subject") or (f"Contact order {number}" if number else "Booking"),
        description=description,
        start=start,
        end=_time(data.get("end")),
        status=data.get("status", "open"),
        cancelled=data.get("status") == "cancelled",
        sequence=int(data.get("sequence", 0)),
        updated_at=_time(data.get("updated_at") or data.get("created_at")) or start,
        user_id=data["user_id"],
        channel=data.get("channel"),
        links=CalendarLinks(
            contact_order_id=data.get("order_id"),
            order_number=number,
            account_id=data.get("account_id"),
            contact_id=data.get("contact_id"),
        ),
    )


def entry_of(record: Record, now: datetime) -> CalendarEntry | None:
    """The calendar entry an index item stands for; None for an expired tombstone or a foreign item."""
    data = record.data
    try:
        if record.kind == "activity":
            activity = Activity.model_validate({"id": record.record_id, **data, "version": record.version})
            return event_entry(activity) if activity.kind == ActivityKind.event and activity.start else None
        if record.kind == "booking":
            return booking_entry(data, record.record_id)
        if record.kind == TOMBSTONE:
            expires = _time(data.get("expires_at"))
            return CalendarEntry.model_validate(data) if expires is None or expires > now else None
    except (ValidationError, KeyError, ValueError):
        logger.warning("unreadable calendar item", extra={"pk": record.pk, "kind": record.kind})
    return None


# ----------------------------------------------------------------------------- tombstones


def stage_cancellation(uow: UnitOfWork, tenant: str, entry: CalendarEntry, sequence: int) -> None:
    """Keep an entry in its user's calendar as cancelled for a while (with this higher sequence)."""
    now = clock.now()
    expires = now + TOMBSTONE_LIFE
    changes = {"cancelled": True, "status": "cancelled", "sequence": sequence, "updated_at": now}
    cancelled = entry.model_copy(update=changes)
    data = {**cancelled.model_dump(mode="json"), "expires_at": clock.iso(expires)}
    item = CalendarTombstone(
        pk=record_key(tenant, TOMBSTONE, derived_id(entry.kind.value, entry.id, entry.user_id)),
        sk=TOMBSTONE.upper(),
        kind=TOMBSTONE,
        gsi2pk=tenant_key(tenant, "CAL", entry.user_id),
        gsi2sk=f"{stamp(entry.start)}#{entry.id}",
        fields=clean(data),
        expires_at=expires,
    )
    uow.save(item)


def _in_calendar(activity: Activity | None) -> str | None:
    """Whose calendar an activity sits in (events only)."""
    if activity is None or activity.kind != ActivityKind.event or activity.start is None:
        return None
    return activity.owner_id


@on_change
def cancel_events_that_leave_a_calendar(
    caller: Caller, uow: UnitOfWork, before: Activity | None, after: Activity | None
) -> None:
    """A deleted event, or one that became a task or changed owner, shows as cancelled in the old calendar."""
    owner = _in_calendar(before)
    if before is None or owner is None or _in_calendar(after) == owner:
        return
    sequence = max(before.sequence, after.sequence if after else 0) + 1
    stage_cancellation(uow, caller.tenant, event_entry(before), sequence)


# ----------------------------------------------------------------------------- JSON views


def index_page(
    caller: Caller,
    scope: str,
    cursor: str | None,
    limit: int,
    fetch: Callable[[str | None, int], list[Record]],
    sort_key: Callable[[Record], str],
    convert: Callable[[Record], T | None],
    model: type[T],
) -> Page[T]:
    """One page over an index; the cursor is the last item's sort key, signed for this list and tenant.

    `fetch(after, n)` returns up to n items whose sort key is greater than `after`. Items that
    `convert` drops (tombstones, foreign kinds) make a page shorter, never longer.
    """
    scope = f"{caller.tenant}:{scope}"
    after = decode_cursor(cursor, scope, caller.signing_key).get("sk") if cursor else None
    records = fetch(str(after) if after is not None else None, limit + 1)
    items = [item for r in records[:limit] if (item := convert(r)) is not None]
    next_cursor = None
    if len(records) > limit:
        next_cursor = encode_cursor({"sk": sort_key(records[limit - 1])}, scope, caller.signing_key)
    return Page[model](items=items, next_cursor=next_cursor)  # type: ignore[valid-type]


def whose(caller: Caller, user_id: str | None, what: str) -> str:
    """The user whose list is asked for: the caller's own; managers and admins may name anyone."""
    if user_id is None or user_id == caller.user_id:
        return caller.user_id
    if not caller.is_manager:
        raise Forbidden(f"Only a manager or an admin may see someone else's {what}.")
    return user_id


def _check_range(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed.on("query.to", "must be after from", "invalid_range")
    if end - start > MAX_RANGE:
        raise ValidationFailed.on("query.to", f"the range is at most {MAX_RANGE.days} days", "range_too_long")


def calendar(
    caller: Caller, start: datetime, end: datetime, user_id: str | None, cursor: str | None, limit: int
) -> Page[CalendarEntry]:
    """A user's events and bookings that start in [start, end), by start time (deleted events left out)."""
    _check_range(start, end)
    user = whose(caller, user_id, "calendar")
    key = tenant_key(caller.tenant, "CAL", user)
    now = clock.now()

    def fetch(after: str | None, n: int) -> list[Record]:
        low = after or stamp(start)
        condition = Record.gsi2sk.between(low, stamp(end))
        records = list(Record.by_calendar.query(key, range_key_condition=condition, limit=n + 1))
        return [r for r in records if r.gsi2sk != after][:n]

    def convert(record: Record) -> CalendarEntry | None:
        return None if record.kind == TOMBSTONE else entry_of(record, now)

    scope = f"calendar:{user}:{stamp(start)}:{stamp(end)}"
    return index_page(caller, scope, cursor, limit, fetch, lambda r: str(r.gsi2sk), convert, CalendarEntry)


# ----------------------------------------------------------------------------- feeds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(key: bytes, feed_id: str) -> str:
    return _b64(hmac.new(key, b"calendar-feed\0" + feed_id.encode(), hashlib.sha256).digest()[:16])


def feed_token(key: bytes, feed_id: str) -> str:
    return f"{feed_id}.{_mac(key, feed_id)}"


def feed_id_of(key: bytes, token: str) -> str | None:
    """The feed id a token names, if the token is one this service made."""
    feed_id, _, mac = token.removesuffix(".ics").partition(".")
    if not feed_id or not mac or not hmac.compare_digest(mac.encode(), _mac(key, feed_id).encode()):
        return None
    return feed_id


def _lookup(feed_id: str) -> Record:
    return Record(pk=f"{FEED_KEY}#{feed_id}", sk=FEED_KEY, kind="calendar_feed_key")


def _feed(caller: Caller, record: Record, base_url: str) -> CalendarFeed:
    path = f"/calendar/{feed_token(caller.signing_key, record.data['feed_id'])}.ics"
    created = _time(record.data["created_at"])
    assert created is not None
    return CalendarFeed(url=base_url.rstrip("/") + path, path=path, created_at=created)


def create_feed(caller: Caller, base_url: str) -> CalendarFeed:
    """The caller's feed URL, new; a URL made before stops working."""

    def run() -> CalendarFeed:
        record = caller.store.get(caller.tenant, FEED, caller.user_id)
        feed_id = secrets.token_urlsafe(18)
        data = {"user_id": caller.user_id, "feed_id": feed_id, "created_at": clock.iso(clock.now())}
        lookup = _lookup(feed_id)
        lookup.data = {"tenant_id": caller.tenant, "user_id": caller.user_id}
        uow = UnitOfWork()
        uow.save(lookup, condition=Record.pk.does_not_exist())
        if record is None:
            record = new_record(caller.tenant, FEED, caller.user_id, data)
            caller.store.add(uow, record)
        else:
            uow.delete(_lookup(record.data["feed_id"]), check_version=False)
            caller.store.replace(uow, record, data)
        uow.commit()
        return _feed(caller, record, base_url)

    return commit(run)


def get_feed(caller: Caller, base_url: str) -> CalendarFeed:
    record = caller.store.get(caller.tenant, FEED, caller.user_id)
    if record is None:
        raise NotFound("You have no calendar feed; create one with POST /calendar-feeds.")
    return _feed(caller, record, base_url)


def revoke_feed(caller: Caller) -> None:
    """Stop the caller's feed URL working (nothing to do if there is none)."""

    def run() -> None:
        record = caller.store.get(caller.tenant, FEED, caller.user_id)
        if record is None:
            return
        uow = UnitOfWork()
        uow.delete(_lookup(record.data["feed_id"]), check_version=False)
        caller.store.remove(uow, record)
        uow.commit()

    run_with_retries(run)


def feed_calendar(key: bytes, token: str) -> bytes:
    """The iCalendar text of the feed a token names; 404 for a token unknown, altered or revoked."""
    feed_id = feed_id_of(key, token)
    owner = None
    if feed_id is not None:
        try:
            owner = Record.get(f"{FEED_KEY}#{feed_id}", FEED_KEY, consistent_read=True).data
        except Record.DoesNotExist:
            owner = None
    if owner is None:
        raise NotFound("No such calendar feed.")
    now = clock.now()
    key_ = tenant_key(owner["tenant_id"], "CAL", owner["user_id"])
    window = Record.gsi2sk.between(stamp(now - FEED_PAST), stamp(now + FEED_AHEAD))
    records = Record.by_calendar.query(key_, range_key_condition=window, limit=FEED_MAX_ITEMS)
    entries = [entry for record in records if (entry := entry_of(record, now)) is not None]
    zone = tenant_zone(service_caller(owner["tenant_id"], open_tenant=False))
    return render_feed(entries, FEED_NAME, now, zone)
