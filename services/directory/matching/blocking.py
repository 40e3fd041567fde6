"""Blocking: candidate pairs come only from records that share a key, never from every pair.

A record's keys come from its identifiers and its name, whatever the tenant's rules compare, so
the directory can keep them as index items written with the record and need not rewrite them
when the rules change:

- contacts: `e:` email, `p:` each E.164 number (phone and mobile), and for a full name, in both
  orders (a swapped first and last name gives the same keys), each part read with nicknames as
  names (Bob and Robert share their keys): `n:` the surname's sound skeleton and the given name's
  initial, and `g:` the given name and the surname's first three letters. A typo breaks one name
  key, seldom both; a record with only one name part is found by its email or number.
- accounts: `b:` business id, `e:` email, `p:` phone, `w:` website host, `o:` the name's words
  (legal forms dropped) in sorted order, `f:` the sound skeleton of the name's longest word.

An oversized block (more than `max_block` records share a key: a common name, a switchboard
number, `info@` at a big customer) is not compared pair by pair. Its records are sorted by their
order key (name, then email) and each is compared with its `window` neighbours on either side:
the sorted-neighbourhood method, at most 2 x `window` comparisons per record for that key. So
no record costs more than (keys x max(max_block, 2 x window)) comparisons, whatever the tenant's
size: the cost grows with the records, not their square. Duplicates inside a large block are
still found when they sort near each other or share a smaller key (an email, a number).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .fields import Entity
from .normalise import skeleton
from .values import PersonName, Prepared, Value


@dataclass(frozen=True)
class BlockPolicy:
    max_block: int = 50  # records a key may share and still be compared pair by pair
    window: int = 8  # in a larger block, neighbours compared on each side in sorted order


@dataclass
class BlockStats:
    keys: int = 0  # distinct keys shared by two records or more
    capped_blocks: int = 0  # of them, walked as a sorted neighbourhood
    largest_block: int = 0
    pairs: int = 0  # distinct candidate pairs produced


def _name_keys(name: PersonName) -> set[str]:
    """The name keys in both orders, each part read with nicknames as names (so a nickname and a
    swap together still give the same keys)."""
    keys: set[str] = set()
    for given, surname in ((name.first_canon, name.last_canon), (name.last_canon, name.first_canon)):
        if not (given and surname):
            continue
        keys.add(f"n:{skeleton(surname[-1])}:{given[0][0]}")
        keys.add(f"g:{given[0]}:{surname[-1][:3]}")
    return keys


def _text(value: Value) -> str | None:
    return value if isinstance(value, str) else None


def blocking_keys(entity: Entity, values: Mapping[str, Value]) -> tuple[str, ...]:
    """The keys of a record from its normalised values (`prepare.prepare`), sorted (a tuple: a
    third of a frozenset's memory, and a scan holds them for every record)."""
    keys: set[str] = set()
    if email := _text(values.get("email")):
        keys.add(f"e:{email}")
    for field_name in ("phones", "phone"):
        numbers = values.get(field_name)
        if isinstance(numbers, tuple):
            keys.update(f"p:{n}" for n in numbers)
            break
    if entity == "contacts":
        name = values.get("name")
        if isinstance(name, PersonName):
            keys |= _name_keys(name)
        return tuple(sorted(keys))
    for prefix, field_name in (("b", "business_id"), ("w", "website")):
        if text := _text(values.get(field_name)):
            keys.add(f"{prefix}:{text}")
    if org := _text(values.get("name")):
        words = org.split()
        keys.add(f"o:{' '.join(sorted(words))}")
        keys.add(f"f:{skeleton(max(words, key=len))}")
    return tuple(sorted(keys))


def order_key(entity: Entity, values: Mapping[str, Value]) -> str:
    """Where a record sorts inside an oversized block: by name, then email (or business id)."""
    name = values.get("name")
    text = name.key if isinstance(name, PersonName) else (_text(name) or "")
    second = _text(values.get("email" if entity == "contacts" else "business_id")) or ""
    return f"{text}\x00{second}"


@dataclass
class Blocks:
    """The candidate pairs of a list of prepared records, by their positions in the list."""

    records: Sequence[Prepared]
    policy: BlockPolicy = field(default_factory=BlockPolicy)
    stats: BlockStats = field(default_factory=BlockStats)

    def pairs(self) -> Iterator[tuple[int, int]]:
        """Each candidate pair (i, j), i < j, once; record by record, so memory holds one
        record's candidates at a time, not every pair."""
        small, ranked = self._blocks()
        window = self.policy.window
        for i, record in enumerate(self.records):
            candidates: set[int] = set()
            for key in record.keys:
                if (members := small.get(key)) is not None:
                    candidates.update(j for j in members if j > i)
                elif (ranking := ranked.get(key)) is not None:
                    order, position = ranking
                    here = position[i]
                    candidates.update(j for j in order[max(0, here - window) : here + window + 1] if j > i)
            self.stats.pairs += len(candidates)
            for j in sorted(candidates):
                yield i, j

    def _blocks(self) -> tuple[dict[str, list[int]], dict[str, tuple[list[int], dict[int, int]]]]:
        index: defaultdict[str, list[int]] = defaultdict(list)
        for i, record in enumerate(self.records):
            for key in record.keys:
                index[key].append(i)
        small: dict[str, list[int]] = {}
        ranked: dict[str, tuple[list[int], dict[int, int]]] = {}
        for key, members in index.items():
            if len(members) < 2:
                continue  # a key no other record has: no pair
            self.stats.keys += 1
            self.stats.largest_block = max(self.stats.largest_block, len(members))
            if len(members) <= self.policy.max_block:
                small[key] = members
            else:
                self.stats.capped_blocks += 1
                order = sorted(members, key=lambda m: self.records[m].order)
                ranked[key] = (order, {m: p for p, m in enumerate(order)})
        return small, ranked


def nearest(new: Prepared, members: Sequence[Prepared], policy: BlockPolicy) -> list[Prepared]:
    """The records of one key's block that a new record is compared with (check on create): all
    of them, or in an oversized block the `window` on either side of where it would sort."""
    if len(members) <= policy.max_block:
        return list(members)
    order = sorted(members, key=lambda m: m.order)
    here = next((p for p, m in enumerate(order) if m.order >= new.order), len(order))
    return order[max(0, here - policy.window) : here + policy.window]
