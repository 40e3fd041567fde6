"""Grouping: the pairs at or above the threshold joined into groups of duplicates (union-find).

A and B match, B and C match: A, B and C are one group, even if A and C scored lower (a record
found twice under two spellings). A group lists its records (sorted ids), the fields that
matched in any of its pairs (in the rules' order) and its score: the lowest of its pairs', the
weakest link that holds it together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .scoring import PairScore


@dataclass(frozen=True)
class Group:
    records: tuple[str, ...]
    matched: tuple[str, ...]
    score: float


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        root = self.parent.setdefault(item, item)
        while root != self.parent[root]:
            root = self.parent[root]
        while item != root:  # path compression: later finds are one step
            item, self.parent[item] = self.parent[item], root
        return root

    def union(self, a: str, b: str) -> str:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            ra, rb = sorted((ra, rb))
            self.parent[rb] = ra
        return ra


def group_pairs(pairs: Iterable[PairScore], field_order: Sequence[str]) -> list[Group]:
    """The groups the matching pairs form, largest first, then by their first record's id."""
    sets = UnionFind()
    matching = list(pairs)
    for pair in matching:
        sets.union(pair.left, pair.right)
    members: dict[str, set[str]] = {}
    fields: dict[str, set[str]] = {}
    scores: dict[str, float] = {}
    for pair in matching:
        root = sets.find(pair.left)
        members.setdefault(root, set()).update((pair.left, pair.right))
        fields.setdefault(root, set()).update(pair.matched)
        scores[root] = min(scores.get(root, 1.0), pair.score)
    groups = [
        Group(tuple(sorted(ids)), tuple(f for f in field_order if f in fields[root]), round(scores[root], 4))
        for root, ids in members.items()
    ]
    return sorted(groups, key=lambda g: (-len(g.records), g.records[0]))
