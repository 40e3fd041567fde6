"""Scoring a candidate pair by the rules: per-field similarity, weighted into one 0-1 score.

Similarities come from rapidfuzz: Jaro-Winkler (`JaroWinkler.normalized_similarity`: typos, with
a bonus for a shared beginning) and token-set (`fuzz.token_set_ratio` / 100: word order and extra
words do not count; a name whose words are all in the other scores 1). `exact` is 1 when the
normal forms are equal (for phone numbers: any number in common), else 0.

A person's name is compared first name to first name and last to last, or swapped, whichever is
closer; a given name whose nickname reads as the other's name ("Bob", "Robert") is equal. A name
of one part is compared with the closest part of the other ("Salo" and "Petri Salo").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from .fields import FIELDS
from .rules import FieldRule, MatchingRules, Similarity
from .values import PersonName, Prepared, Value

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


def _both_parts(given: float, surname: float) -> float:
    """The lower of the two counts three times as much as the higher: a wrong given name with the
    same surname (Maria and Matti Eriksson) is another person, a typo in one of them is not."""
    return 0.75 * min(given, surname) + 0.25 * max(given, surname)


def name_similarity(a: PersonName, b: PersonName, sim: SimilarityFn) -> float:
    """The closer of the straight and the swapped reading (first to first and last to last, or
    first to last and last to first)."""
    if not (a.first and a.last and b.first and b.last):
        return _partial(a, b, sim)
    a_last = " ".join(a.last)
    straight = _both_parts(_given(a.first, a.first_canon, b.first, b.first_canon, sim), sim(a_last, " ".join(b.last)))
    swapped = _both_parts(_given(a.first, a.first_canon, b.last, b.last_canon, sim), sim(a_last, " ".join(b.first)))
    return max(straight, swapped)


def _partial(a: PersonName, b: PersonName, sim: SimilarityFn) -> float:
    """A name of one part against another name: the part against the closest part of the other
    ("Salo" and "Petri Salo" are the same surname), or whole name against whole name."""
    whole = max(sim(a.full, b.full), sim(a.key, b.key))
    a_parts = [p for p in (a.first, a.last) if p]
    b_parts = [p for p in (b.first, b.last) if p]
    if len(a_parts) == 1 or len(b_parts) == 1:
        single, other = (a_parts, b_parts) if len(a_parts) == 1 else (b_parts, a_parts)
        return max(whole, *(sim(" ".join(single[0]), " ".join(part)) for part in other))
    return whole


def exact(a: Value, b: Value) -> float:
    if isinstance(a, tuple) and isinstance(b, tuple):  # phone numbers: any in common
        return 1.0 if any(n in b for n in a) else 0.0
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
    position: int  # in the rules: the order matched fields are listed in
    weight: float
    matched_from: float  # similarity at or above which the field is listed as matched
    compare: Callable[[Value, Value], float]
    cheap: bool  # exact: compared first, so that most pairs are settled before a fuzzy one


def _compile(position: int, rule: FieldRule) -> _Compiled:
    if rule.method == "exact":
        return _Compiled(rule.field, position, rule.weight, 1.0, exact, True)
    sim = SIMILARITIES[rule.similarity]
    return _Compiled(rule.field, position, rule.weight, rule.min_similarity, lambda a, b: fuzzy(a, b, sim), False)


class Scorer:
    """A tenant's rules made ready to score many pairs."""

    def __init__(self, rules: MatchingRules) -> None:
        unknown = [r.field for r in rules.fields if r.field not in FIELDS[rules.entity]]
        if unknown:
            raise ValueError(f"not comparable for {rules.entity}: {', '.join(unknown)}")
        self.rules = rules
        self.threshold = rules.threshold
        self.match_empty = rules.match_empty_fields
        self.min_matched = rules.min_matched_fields
        self.fields = [_compile(p, r) for p, r in enumerate(rules.fields)]
        self.cheap_first = sorted(self.fields, key=lambda f: not f.cheap)

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
        return pair.score >= self.threshold and len(pair.matched) >= self.min_matched

    def match(self, a: Prepared, b: Prepared) -> PairScore | None:
        """The pair's score when it is a possible duplicate, else None: `score` and `is_match`,
        stopping once the fields left could not lift the pair to the threshold or to the number
        of matched fields (the score's denominator, the weight of the fields both records have,
        is known before any comparison)."""
        compared: list[tuple[_Compiled, Value, Value]] = []
        for f in self.cheap_first:
            va, vb = a.values[f.field], b.values[f.field]
            if va is not None and vb is not None:
                compared.append((f, va, vb))
            elif va is None and vb is None and self.match_empty:
                compared.append((f, None, None))
        denominator = sum(f.weight for f, _, _ in compared)
        if not denominator or len(compared) < self.min_matched:
            return None
        total, rest = 0.0, denominator
        matched: list[_Compiled] = []
        for left, (f, va, vb) in enumerate(compared, start=1):
            similarity = 1.0 if va is None else f.compare(va, vb)
            total += f.weight * similarity
            rest -= f.weight
            if similarity >= f.matched_from:
                matched.append(f)
            if (total + rest) / denominator < self.threshold or len(matched) + len(compared) - left < self.min_matched:
                return None
        fields = tuple(f.field for f in sorted(matched, key=lambda f: f.position))
        return PairScore(a.id, b.id, total / denominator, fields)
