"""The pipeline: a scan of many records into groups, or one record against its candidates.

A scan prepares every record once, takes the candidate pairs from the blocks, scores each and
groups the matches. Check on create prepares the new record and scores it against the records
that share one of its keys (which the directory reads through its key index), nearest first in
an oversized block, as a scan would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .blocking import BlockPolicy, Blocks, BlockStats, nearest
from .grouping import Group, group_pairs
from .prepare import Prepared, Record, needed_fields, prepare
from .rules import MatchingRules
from .scoring import PairScore, Scorer


@dataclass
class ScanResult:
    groups: list[Group]
    records: int
    compared: int  # candidate pairs scored
    matches: list[PairScore] = field(default_factory=list)  # the pairs at or above the threshold
    blocks: BlockStats = field(default_factory=BlockStats)


def prepare_all(records: Iterable[Record], rules: MatchingRules) -> list[Prepared]:
    fields = needed_fields(rules.entity, (r.field for r in rules.fields))
    return [prepare(r, rules.entity, rules.default_country, fields) for r in records]


def scan(records: Iterable[Record], rules: MatchingRules, policy: BlockPolicy | None = None) -> ScanResult:
    """The duplicate groups among `records` (models or dicts of `rules.entity`)."""
    prepared = prepare_all(records, rules)
    return scan_prepared(prepared, rules, policy)


def scan_prepared(prepared: Sequence[Prepared], rules: MatchingRules, policy: BlockPolicy | None = None) -> ScanResult:
    scorer = Scorer(rules)
    blocks = Blocks(prepared, policy or BlockPolicy())
    matches = []
    compared = 0
    for i, j in blocks.pairs():
        compared += 1
        if pair := scorer.match(prepared[i], prepared[j]):
            matches.append(pair)
    groups = group_pairs(matches, [r.field for r in rules.fields])
    return ScanResult(groups, len(prepared), compared, matches, blocks.stats)


def check(
    record: Record,
    blocks: Mapping[str, Sequence[Record]],
    rules: MatchingRules,
    policy: BlockPolicy | None = None,
) -> list[PairScore]:
    """The possible duplicates of `record` (best first) among the records of its keys' blocks
    (`blocks`: key -> the records that have it, as the directory's key index answers); the
    record's own id, if it has one already, is not its own duplicate."""
    policy = policy or BlockPolicy()
    new, *_ = prepare_all([record], rules)
    scorer = Scorer(rules)
    seen: dict[str, Prepared] = {}
    for key in new.keys:
        members = prepare_all(blocks.get(key, ()), rules)
        for candidate in nearest(new, members, policy):
            if candidate.id != new.id:
                seen.setdefault(candidate.id, candidate)
    pairs = [p for candidate in seen.values() if (p := scorer.match(new, candidate))]
    return sorted(pairs, key=lambda p: (-p.score, p.right))
