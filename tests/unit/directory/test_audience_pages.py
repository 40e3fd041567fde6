"""Audience pages: at most 500 members and 64 KB each, the last one marked, never an empty trailing page.

The byte bound is what keeps an `audience.page` event far under EventBridge's 256 KB per entry:
the worst case is computed from the contact model's longest accepted values (every field the
requester may ask for, each at its maximum length, in characters JSON writes longest).
"""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.directory.domain.models import MAX_CLASSES, Contact, ContactCreate
from services.directory.handlers.consumer import CONTACT_FIELDS, _pages
from shared import outbox
from shared.contracts.audience import PAGE_BYTES, AudiencePage, AudienceRequested, json_bytes
from shared.events import Actor, new_event

pytestmark = pytest.mark.disable_socket

REQUEST = AudienceRequested(request_id="r", requester="email", target_group_id="g", fields=["email"])
BARE = AudienceRequested(request_id="r", requester="email", target_group_id="g", fields=[])
EVERYTHING = AudienceRequested(
    request_id="0" * 64, requester="activities", target_group_id="1" * 64, fields=sorted(CONTACT_FIELDS)
)
SETTINGS = outbox.PublisherSettings(
    event_source="kontakt.directory", event_bus_name="kontakt-prod-eu-west-1", failed_events_queue_url="q"
)
ESCAPED = "\x01"  # a character JSON writes as \u0001: six bytes for one character of a length limit
WIDE = "\U0001f600"  # where control characters are refused (names, email): four bytes for one character


def _contacts(count: int) -> list[dict[str, object]]:
    return [{"id": f"c{n}", "email": f"c{n}@example.com", "owner": {"type": "user", "id": "u1"}} for n in range(count)]


def _longest_contact(n: int) -> dict[str, Any]:
    """A contact whose every field is as long as ContactCreate accepts, as the store reads it back."""
    code = lambda i: f"{i:03d}".ljust(64, "x")  # noqa: E731  (codes and ids: 64 of [a-z0-9_-])
    accepted = ContactCreate(
        first_name=WIDE * 100,
        last_name=WIDE * 100,
        email=WIDE * 242 + "@" + WIDE * 8 + "." + WIDE * 2,  # 254, the longest address
        phone="+" + "0" * 40,
        mobile="+" + "0" * 40,
        account_id="a" * 64,
        consent_date=date(2026, 12, 4),
        department=ESCAPED * 100,
        job_title=code(1),
        category=code(2),
        region=code(3),
        groups=[code(i) for i in range(100)],
        benefit_status=code(4),
        account_manager_id="m" * 64,
        sales_status=code(5),
        owner={"type": "group", "id": "o" * 64},  # type: ignore[arg-type]
        classes=[code(i) for i in range(MAX_CLASSES)],
    )
    assert len(accepted.email or "") == 254
    now = datetime(2026, 12, 4, 12, 0, 0, 123456, tzinfo=UTC)
    contact = Contact(
        id=f"{n:064d}", number=f"CON-{n:09d}", erased=True, created_at=now, updated_at=now, **accepted.model_dump()
    )
    return contact.model_dump(mode="json")


def _entry_size(page: AudiencePage) -> int:
    """The page as the publisher puts it: an envelope in a PutEvents entry, sized as EventBridge counts."""
    envelope = new_event(
        "audience.page",
        "t" * 64,
        page,
        actor=Actor(type="service", id="directory"),
        correlation_id="c" * 64,
        event_id="e" * 26,
    )
    return outbox.entry_size(outbox.entry(envelope, SETTINGS))


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(0, [0]), (1, [1]), (500, [500]), (501, [500, 1]), (1000, [500, 500]), (1203, [500, 500, 203])],
)
def test_at_most_500_members_a_page(count: int, sizes: list[int]) -> None:
    contacts = [{"id": str(n), "owner": {"type": "user", "id": "u"}} for n in range(count)]  # ~100 B each
    pages = list(_pages(BARE, iter(contacts)))
    assert [len(p.members) for p in pages] == sizes
    assert [p.page for p in pages] == list(range(1, len(sizes) + 1))
    assert [p.last for p in pages] == [False] * (len(sizes) - 1) + [True]
    assert pages[-1].total_members == count
    assert all(p.total_members is None for p in pages[:-1])


def test_members_carry_only_the_requested_fields() -> None:
    page = next(_pages(REQUEST, iter(_contacts(1))))
    assert page.members[0].fields == {"email": "c0@example.com"}
    assert (page.members[0].owner_id, page.members[0].owner_type) == ("u1", "user")


def test_the_longest_members_fill_pages_of_at_most_64_kb() -> None:
    contacts = [_longest_contact(n) for n in range(25)]
    pages = list(_pages(EVERYTHING, iter(contacts)))
    member = pages[0].members[0]
    assert set(member.fields) == CONTACT_FIELDS  # every field was asked for and carried
    assert member.fields["first_name"] == WIDE * 100
    assert 10_000 < json_bytes(member) < PAGE_BYTES // 4  # ~12 KB: four or more fit on a page

    assert all(json_bytes(p) <= PAGE_BYTES for p in pages)
    assert [m.contact_id for p in pages for m in p.members] == [c["id"] for c in contacts]
    assert [p.last for p in pages] == [False] * (len(pages) - 1) + [True]
    assert pages[-1].total_members == 25
    assert len(pages) >= 25 // 5  # more, smaller pages than the 500-member count alone would make

    largest = max(_entry_size(p) for p in pages)
    assert largest <= PAGE_BYTES + 1024  # the envelope around the page adds well under 1 KB
    assert largest < outbox.PUT_EVENTS_MAX_BYTES // 3  # three such pages fit in one PutEvents call


def test_a_page_is_cut_at_the_byte_budget_not_the_count() -> None:
    contacts = [_longest_contact(n) for n in range(12)]
    sizes = [len(p.members) for p in _pages(EVERYTHING, iter(contacts))]
    assert sizes == [5, 5, 2]  # 500 would be allowed by count


def test_ordinary_members_fill_a_page_up_to_the_budget() -> None:
    contacts = [
        {"id": f"{n:026d}", "email": f"{'x' * 60}{n}@example.com", "first_name": "F" * 40, "last_name": "L" * 40}
        for n in range(2000)
    ]
    request = AudienceRequested(
        request_id="r", requester="email", target_group_id="g", fields=["email", "first_name", "last_name"]
    )
    pages = list(_pages(request, iter(contacts)))
    full = [json_bytes(p) for p in pages[:-1]]
    assert all(PAGE_BYTES - 300 < size <= PAGE_BYTES for size in full)  # cut within one member of the budget
    assert sum(len(p.members) for p in pages) == 2000
    assert max(_entry_size(p) for p in pages) <= PAGE_BYTES + 1024


def test_the_requesters_know_the_audience_complete_only_when_every_smaller_page_arrived() -> None:
    """Email campaigns and mass activities count pages by number and the `last` flag, in any order."""
    import random

    from services.activities.domain.mass import summarize
    from shared.contracts.audience import audience_with

    contacts = [_longest_contact(n) for n in range(21)]
    pages = list(_pages(EVERYTHING, iter(contacts)))
    assert len(pages) == 5  # 5 + 5 + 5 + 5 + 1: many more pages than 500 members a page would make
    arrival = pages[:]
    random.Random(12).shuffle(arrival)
    arrival.remove(pages[-1])
    arrival.insert(0, pages[-1])  # the last page first, the hardest case
    run = {"id": "R", "mass_activity_id": "M", "target_group_id": "g", "run_at": "2030-01-01T08:00:00Z"}
    audience: dict[str, Any] | None = None
    seen: list[dict[str, Any]] = []
    for n, page in enumerate(arrival, start=1):
        audience = audience_with(audience, page.page, page.last, page.total_members)
        seen.append({"page": page.page, "activities": len(page.members), "last": page.last, **page.model_dump()})
        summary = summarize({**run, "requested_at": "2030-01-01T08:00:01Z"}, seen)
        assert audience["complete"] == summary.done == (n == len(pages)), n
    assert audience is not None and audience["total"] == 21
    assert summary.activities == summary.total_members == 21
