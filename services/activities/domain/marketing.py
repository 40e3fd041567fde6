"""Marketing activities [004] and the counts behind their statistics: models and pure rules.

A marketing activity is a customer contact with a person (the contact): its type says how the
contact went (incoming/outgoing call, visit, letter in/out, email, SMS). The person card lists
them newest first; statistics count them per person, per user and per type over a date range
("statistik både per person och typ och allt").

Statistics come from counter items, one per (local day, group key, type), written in the same
transaction as the activity. Three families, each a partition of its own per tenant and shard:

- `T#<t>#MKSTAT#TYPE#<shard>`    / `<day>#<type>`
- `T#<t>#MKSTAT#USER#<shard>`    / `<day>#<user or ->#<type>`
- `T#<t>#MKSTAT#CONTACT#<shard>` / `<day>#<contact>#<type>`

A date range is one Query per shard (`sk BETWEEN '<from>' AND '<to>~'`), whose cost follows the
number of (day, key, type) cells in the range, not the number of activities or the table's size.
The shard (from the activity id) spreads a campaign's thousands of `email.sent` over several
items, so that concurrent transactions do not all fight over one counter.

Days are local: a range's `from`/`to` are dates in the tenant's time zone (its `time_zone`
setting), so a call at 23:30 in Helsinki on the 31st counts on the 31st. Why the cells are keyed
by the local day at write time rather than by UTC time: a day cell cannot be split at another
zone's midnight, and cells fine enough to be cut at any zone's midnight (quarter hours, for the
+05:45 zones) would make a range's Query read ~100 times as many cells. So the day is fixed when
the activity is counted and saved on the activity (`stat_day`), and its deletion or erasure takes
from that very cell even if the zone changed in between.

A change of zone therefore applies to activities counted after it. Cells written before keep the
days of the zone they were written in (activities counted before this setting existed are on
their UTC day, which is also where their deletion looks), so a range reaching back over the
change can be off by the zones' offset difference at its ends. A person's own statistics
(`contact_id` given) are read from the activities' UTC times and are always in the current zone.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from ulid import ULID

from shared.clock import iso
from shared.errors import ValidationFailed
from shared.types import INPUT, NOT_BLANK, OUTPUT, Id, OptId, OptText200, blank_to_none

COUNTER_SHARDS = 4
MAX_RANGE_DAYS = 366
NO_USER = "-"

NoteText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000), NOT_BLANK]
Note = Annotated[NoteText | None, BeforeValidator(blank_to_none)]


class MarketingType(StrEnum):
    incoming_call = "incoming_call"
    outgoing_call = "outgoing_call"
    visit = "visit"
    letter_in = "letter_in"
    letter_out = "letter_out"
    email = "email"
    sms = "sms"


class MarketingSource(StrEnum):
    manual = "manual"
    email = "email"
    sms = "sms"


class GroupBy(StrEnum):
    contact = "contact"
    user = "user"
    type = "type"


class MarketingActivityCreate(BaseModel):
    model_config = INPUT

    contact_id: Id = Field(description="The person the contact was with")
    account_id: OptId = Field(None, description="The person's organisation, if any")
    type: MarketingType
    at: AwareDatetime | None = Field(None, description="When the contact happened; now when left out")
    user_id: OptId = Field(None, description="The user who made the contact; the caller when left out")
    subject: OptText200 = None
    note: Note = None


class MarketingActivitySummary(BaseModel):
    """A marketing activity in a list: without its note (`GET /marketing-activities/{id}`)."""

    model_config = OUTPUT

    id: str
    contact_id: str
    account_id: str | None = None
    type: MarketingType
    at: datetime
    user_id: str | None = Field(None, description="Who made the contact (none for an automatic campaign send)")
    subject: str | None = None
    source: MarketingSource = MarketingSource.manual
    source_id: str | None = Field(None, description="The email/SMS message id for automatic ones")
    campaign_id: str | None = None
    created_by: str
    created_at: datetime
    version: int = 1


class MarketingActivity(MarketingActivitySummary):
    note: str | None = None


class StatRow(BaseModel):
    key: str | None = Field(description="The contact id, user id or type the row counts (null: no user)")
    counts: dict[str, int] = Field(description="Count per marketing activity type")
    total: int


class MarketingStats(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    group_by: GroupBy
    contact_id: str | None = None
    rows: list[StatRow] = Field(description="Largest total first, at most `limit`")
    rows_total: int = Field(description="How many rows there are in all")
    counts: dict[str, int] = Field(description="Count per type over everything in the range")
    total: int


# ----------------------------------------------------------------------------- rules


def day_of(moment: datetime, zone: tzinfo) -> str:
    """The local day of a moment, as a counter cell's day."""
    return moment.astimezone(zone).date().isoformat()


def shard_of(activity_id: str) -> str:
    return str(zlib.crc32(activity_id.encode()) % COUNTER_SHARDS)


def message_activity_id(source: MarketingSource, message_id: str, sent_at: datetime) -> str:
    """The id of the activity a sent message makes: the same message always makes the same id.

    A ULID whose time part is the send time (ids sort by time like any other) and whose random
    part comes from the message id.
    """
    millis = int(sent_at.timestamp() * 1000)
    digest = hashlib.sha256(f"{source}:{message_id}".encode()).digest()[:10]
    return str(ULID.from_bytes(millis.to_bytes(6, "big") + digest))


@dataclass(frozen=True)
class CountKey:
    family: str  # TYPE, USER or CONTACT
    shard: str
    sk: str


def count_keys(activity: MarketingActivity, day: str) -> list[CountKey]:
    """The counter cells one activity adds to on its (local) `day`, one per family."""
    shard, kind = shard_of(activity.id), activity.type.value
    return [
        CountKey("TYPE", shard, f"{day}#{kind}"),
        CountKey("USER", shard, f"{day}#{activity.user_id or NO_USER}#{kind}"),
        CountKey("CONTACT", shard, f"{day}#{activity.contact_id}#{kind}"),
    ]


def contact_count_key(activity: MarketingActivity, day: str) -> CountKey:
    return next(k for k in count_keys(activity, day) if k.family == "CONTACT")


def counted_day(stored: str | None, activity: MarketingActivity) -> str:
    """The day an activity was counted on: the one saved with it, else (counted before days were
    local) its UTC day."""
    return stored or day_of(activity.at, UTC)


FAMILY = {GroupBy.type: "TYPE", GroupBy.user: "USER", GroupBy.contact: "CONTACT"}


def cell_of(family: str, sk: str) -> tuple[str | None, str]:
    """(group key, type) of a counter's sort key; the key sits between the day and the type."""
    kind = sk.rsplit("#", 1)[1]
    if family == "TYPE":
        return kind, kind
    key = sk.split("#", 1)[1].rsplit("#", 1)[0]
    return (None if key == NO_USER and family == "USER" else key), kind


def day_bounds(start: date, end: date) -> tuple[str, str]:
    """Sort-key bounds that take in every counter cell of the (local) days start..end."""
    return start.isoformat(), end.isoformat() + "~"


def time_bounds(start: date, end: date, zone: tzinfo) -> tuple[str, str]:
    """Sort-key bounds of the `<utc time>#<id>` keys from local midnight of `start` to before that after `end`."""

    def midnight(day: date) -> str:
        return iso(datetime.combine(day, time.min, tzinfo=zone))

    return midnight(start), midnight(end + timedelta(days=1))


def check_range(start: date, end: date) -> None:
    if end < start:
        raise ValidationFailed.on("query.to", "the range ends before it starts", "invalid_range")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationFailed.on("query.to", f"a range is at most {MAX_RANGE_DAYS} days", "range_too_long")


def group_key(activity: MarketingActivity, group_by: GroupBy) -> str | None:
    if group_by == GroupBy.contact:
        return activity.contact_id
    if group_by == GroupBy.user:
        return activity.user_id
    return activity.type.value


def aggregate(
    cells: Iterable[tuple[str | None, str, int]],
    *,
    start: date,
    end: date,
    group_by: GroupBy,
    contact_id: str | None,
    limit: int,
) -> MarketingStats:
    """Statistics from (group key, type, count) cells; zero cells (all deleted) are left out."""
    rows: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counts: dict[str, int] = defaultdict(int)
    for key, kind, n in cells:
        if n:
            rows[key][kind] += n
            counts[kind] += n
    built = [StatRow(key=key, counts=_nonzero(c), total=sum(c.values())) for key, c in rows.items()]
    built = [r for r in built if r.total]
    built.sort(key=lambda r: (-r.total, r.key is None, r.key or ""))
    return MarketingStats(
        from_=start,
        to=end,
        group_by=group_by,
        contact_id=contact_id,
        rows=built[:limit],
        rows_total=len(built),
        counts=_nonzero(counts),
        total=sum(counts.values()),
    )


def _nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in sorted(counts.items()) if v}
