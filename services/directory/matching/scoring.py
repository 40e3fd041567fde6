"""Scoring a candidate pair by the rules: per-field similarity, weighted into one 0-1 score.

Similarities come from rapidfuzz: Jaro-Winkler (`JaroWinkler.normalized_similarity`: typos, with
a bonus for a shared beginning) and token-set (`fuzz.token_set_ratio` / 100: word order and extra
words do not count; a name whose words are all in the other scores 1). `exact` is 1 when the
normal forms are equal (for phone numbers: any number in common), else 0.

A person's name is compared first name to first name and last to last, or swapped, whichever is
closer; a given name whose nickname reads as the other's name ("Bob", "Robert") is equal. With
only one part on either side the whole names are compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from .fields import FIELDS
from .prepare import Prepared
from .rules import FieldRule, MatchingRules, Similarity
from .values import PersonName, Value

SimilarityFn = Callable[[str, str], float]


def _token_set(a: str, b: str) -> float:
    return float(fuzz.token_set_ratio(a, b)) / 100


SIMILARITIES: dict[Similarity, SimilarityFn] = {
    "jaro_winkler": JaroWinkler.normalized_similarity,
    "token_set": _token_set,
}


@dataclass(frozen=True)
class PairScore:
    left: str  # record ids
    right: str
    score: float
    matched: tuple[str, ...]  # the fields that matched, in the rules' order


def _given(
    a: tuple[str, ...], a_canon: tuple[str, ...], b: tuple[str, ...], b_canon: tuple[str, ...], sim: SimilarityFn
) -> float:
    if a_canon == b_canon:
        return 1.0
    return max(sim(" ".join(a), " ".join(b)), sim(" ".join(a_canon), " ".join(b_canon)))


def name_similarity(a: PersonName, b: PersonName, sim: SimilarityFn) -> float:
    """The closer of the straight and the swapped reading (each the mean of given and surname)."""
    if not (a.first and a.last and b.first and b.last):
        return max(sim(a.full, b.full), sim(a.key, b.key))
    straight = (
        _given(a.first, a.first_canon, b.first, b.first_canon, sim) + sim(" ".join(a.last), " ".join(b.last))
    ) / 2
    swapped = (_given(a.first, a.first_canon, b.last, b.last_canon, sim) + sim(" ".join(a.last), " ".join(b.first))) / 2
    return max(straight, swapped)


def exact(a: Value, b: Value) -> float:
    if isinstance(a, frozenset) and isinstance(b, frozenset):
        return 1.0 if a & b else 0.0
    if isinstance(a, PersonName) and isinstance(b, PersonName):
        return 1.0 if a.key == b.key else 0.0
    return 1.0 if a == b else 0.0


def fuzzy(a: Value, b: Value, sim: SimilarityFn) -> float:
    if isinstance(a, PersonName) and isinstance(b, PersonName):
        return name_similarity(a, b, sim)
    if isinstance(a, str) and isinstance(b, str):
        return 1.0 if a == b else sim(a, b)
    return exact(a, b)


@dataclass(frozen=True)
class _Compiled:
    field: str
    weight: float
    matched_from: float  # similarity at or above which the field is listed as matched
    compare: Callable[[Value, Value], float]


def _compile(rule: FieldRule) -> _Compiled:
    if rule.method == "exact":
        return _Compiled(rule.field, rule.weight, 1.0, exact)
    sim = SIMILARITIES[rule.similarity]
    return _Compiled(rule.field, rule.weight, rule.min_similarity, lambda a, b: fuzzy(a, b, sim))


class Scorer:
    """A tenant's rules made ready to score many pairs."""

    def __init__(self, rules: MatchingRules) -> None:
        unknown = [r.field for r in rules.fields if r.field not in FIELDS[rules.entity]]
        if unknown:
            raise ValueError(f"not comparable for {rules.entity}: {', '.join(unknown)}")
        self.rules = rules
        self.threshold = rules.threshold
        self.match_empty = rules.match_empty_fields
        self.fields = [_compile(r) for r in rules.fields]

    def score(self, a: Prepared, b: Prepared) -> PairScore:
        """The weighted mean over the fields compared (see rules.py for empty fields); 0 when
        no field could be compared."""
        total = weight = 0.0
        matched: list[str] = []
        for f in self.fields:
            va, vb = a.values[f.field], b.values[f.field]
            if va is None or vb is None:
                if not (va is None and vb is None and self.match_empty):
                    continue
                similarity = 1.0
            else:
                similarity = f.compare(va, vb)
            total += f.weight * similarity
            weight += f.weight
            if similarity >= f.matched_from:
                matched.append(f.field)
        return PairScore(a.id, b.id, total / weight if weight else 0.0, tuple(matched))

    def is_match(self, pair: PairScore) -> bool:
        return pair.score >= self.threshold and bool(pair.matched)
