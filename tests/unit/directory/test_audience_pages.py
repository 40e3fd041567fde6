"""Audience pages: at most 500 members each, the last one marked, never an empty trailing page."""

import pytest

from services.directory.handlers.consumer import _pages
from shared.contracts.audience import AudienceRequested

pytestmark = pytest.mark.disable_socket

REQUEST = AudienceRequested(request_id="r", requester="email", target_group_id="g", fields=["email"])


def _contacts(count: int) -> list[dict[str, object]]:
    return [{"id": f"c{n}", "email": f"c{n}@example.com", "owner": {"type": "user", "id": "u1"}} for n in range(count)]


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(0, [0]), (1, [1]), (500, [500]), (501, [500, 1]), (1000, [500, 500]), (1203, [500, 500, 203])],
)
def test_page_sizes(count: int, sizes: list[int]) -> None:
    pages = list(_pages(REQUEST, iter(_contacts(count))))
    assert [len(p.members) for p in pages] == sizes
    assert [p.page for p in pages] == list(range(1, len(sizes) + 1))
    assert [p.last for p in pages] == [False] * (len(sizes) - 1) + [True]
    assert pages[-1].total_members == count
    assert all(p.total_members is None for p in pages[:-1])


def test_members_carry_only_the_requested_fields() -> None:
    page = next(_pages(REQUEST, iter(_contacts(1))))
    assert page.members[0].fields == {"email": "c0@example.com"}
    assert (page.members[0].owner_id, page.members[0].owner_type) == ("u1", "user")
