"""Duplicate groups as a scan stores them and as one caller sees them (pure).

A scan keeps each group with its matching pairs, so that what a caller sees can be worked out from
the pairs between records they may read: a group is shown with the readable records that match
another readable record, its fields and score from those pairs only (a hidden record is never
named, and never lends its matched fields or score to the group). A dismissal is of pairs, never
of a group id: dismissing a group dismisses every pair of its visible records, and the next scan
drops those pairs before grouping, so the same records are not offered again even when the
group's membership changes (a record added, removed or edited); a new record that matches them
forms a new pair, which is offered.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from services.directory.matching.grouping import UnionFind
from services.directory.matching.scoring import PairScore

Pair = tuple[str, str]


def pair_of(a: str, b: str) -> Pair:
    """A pair of record ids in one order, whichever order they come in."""
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True)
class StoredGroup:
    """A group as a scan writes it: its records and the pairs that hold it together."""

    records: tuple[str, ...]
    pairs: tuple[PairScore, ...]

    def to_data(self) -> dict[str, Any]:
        return {
            "records": list(self.records),
            "pairs": [{"records": [p.left, p.right], "score": p.score, "matched": list(p.matched)} for p in self.pairs],
        }

    @staticmethod
    def from_data(data: dict[str, Any]) -> StoredGroup:
        pairs = tuple(
            PairScore(p["records"][0], p["records"][1], float(p["score"]), tuple(p["matched"])) for p in data["pairs"]
        )
        return StoredGroup(tuple(data["records"]), pairs)


def groups_of(matches: Iterable[PairScore], dismissed: Collection[Pair] = ()) -> list[StoredGroup]:
    """The groups the matching pairs form once the dismissed pairs are dropped, each with its pairs;
    largest first, then by first record id (as `matching.grouping.group_pairs` orders them)."""
    kept = [m for m in matches if pair_of(m.left, m.right) not in dismissed]
    sets = UnionFind()
    for pair in kept:
        sets.union(pair.left, pair.right)
    members: dict[str, set[str]] = {}
    pairs: dict[str, list[PairScore]] = {}
    for pair in kept:
        root = sets.find(pair.left)
        members.setdefault(root, set()).update((pair.left, pair.right))
        pairs.setdefault(root, []).append(pair)
    groups = [
        StoredGroup(tuple(sorted(ids)), tuple(sorted(pairs[root], key=lambda p: (p.left, p.right))))
        for root, ids in members.items()
    ]
    return sorted(groups, key=lambda g: (-len(g.records), g.records[0]))


@dataclass(frozen=True)
class GroupView:
    """What one caller sees of a group."""

    records: tuple[str, ...]
    fields: tuple[str, ...]
    score: float
    pairs: tuple[Pair, ...]


def view(
    group: StoredGroup, readable: Collection[str], dismissed: Collection[Pair], field_order: Sequence[str]
) -> GroupView | None:
    """The group as seen by a caller who may read `readable` records: the pairs of two readable
    records not dismissed, their records, fields and weakest score; None when no such pair is left
    (fewer than two records to show)."""
    shown = [
        p
        for p in group.pairs
        if p.left in readable and p.right in readable and pair_of(p.left, p.right) not in dismissed
    ]
    if not shown:
        return None
    matched = {f for p in shown for f in p.matched}
    return GroupView(
        records=tuple(sorted({r for p in shown for r in (p.left, p.right)})),
        fields=tuple(f for f in field_order if f in matched) + tuple(sorted(matched - set(field_order))),
        score=round(min(p.score for p in shown), 4),
        pairs=tuple(pair_of(p.left, p.right) for p in shown),
    )


def all_pairs(records: Iterable[str]) -> list[Pair]:
    """Every pair of these records: what dismissing them as "not duplicates" dismisses."""
    return [pair_of(a, b) for a, b in combinations(sorted(set(records)), 2)]
