"""Duplicate groups as stored and as one caller sees them (services/directory/domain/duplicates.py)."""

from __future__ import annotations

import pytest

from services.directory.domain.duplicates import StoredGroup, all_pairs, groups_of, pair_of, view
from services.directory.matching.scoring import PairScore

pytestmark = pytest.mark.disable_socket

ORDER = ["name", "email", "phones"]


def pair(a: str, b: str, score: float = 0.9, matched: tuple[str, ...] = ("name", "email")) -> PairScore:
    return PairScore(a, b, score, matched)


def test_groups_join_pairs_largest_first_and_keep_their_pairs() -> None:
    groups = groups_of([pair("b", "c"), pair("x", "y"), pair("a", "b")])
    assert [g.records for g in groups] == [("a", "b", "c"), ("x", "y")]
    assert [(p.left, p.right) for p in groups[0].pairs] == [("a", "b"), ("b", "c")]
    again = StoredGroup.from_data(groups[0].to_data())
    assert again == groups[0]


def test_dismissed_pairs_are_dropped_before_grouping_so_a_changed_group_stays_apart() -> None:
    # a-b was dismissed; a new record c matches a only: the group is {a, c}, never a with b again
    groups = groups_of([pair("a", "b"), pair("a", "c")], dismissed={pair_of("b", "a")})
    assert [g.records for g in groups] == [("a", "c")]
    assert groups_of([pair("a", "b")], dismissed={("a", "b")}) == []


def test_a_caller_sees_only_pairs_of_two_readable_records() -> None:
    group = groups_of(
        [
            pair("a", "b", 0.95, ("name", "email")),
            pair("b", "h", 0.8, ("phones",)),  # h is hidden from the caller
            pair("h", "c", 0.8, ("phones",)),
        ]
    )[0]
    seen = view(group, {"a", "b", "c"}, (), ORDER)
    assert seen is not None
    # c is linked to a and b only through the hidden h: not shown; h lends no field and no score
    assert (seen.records, seen.fields, seen.score) == (("a", "b"), ("name", "email"), 0.95)
    assert view(group, {"a", "c"}, (), ORDER) is None  # no pair of two readable records
    full = view(group, {"a", "b", "c", "h"}, (), ORDER)
    assert full is not None and full.records == ("a", "b", "c", "h") and full.score == 0.8
    assert full.fields == ("name", "email", "phones")


def test_dismissed_pairs_are_not_shown() -> None:
    group = groups_of([pair("a", "b"), pair("b", "c")])[0]
    seen = view(group, {"a", "b", "c"}, {("a", "b")}, ORDER)
    assert seen is not None and seen.records == ("b", "c")
    assert view(group, {"a", "b", "c"}, set(all_pairs("abc")), ORDER) is None


def test_all_pairs_of_records() -> None:
    assert all_pairs(["c", "a", "b", "a"]) == [("a", "b"), ("a", "c"), ("b", "c")]
