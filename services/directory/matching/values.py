"""The normal forms a comparable field takes (text, a set of phone numbers, or a person's name),
and a record read into them (`prepare.prepare`)."""

from __future__ import annotations

from dataclasses import dataclass

from . import normalise


@dataclass(frozen=True, slots=True)
class PersonName:
    """A person's name, folded; `*_canon` with each given-name nickname read as its name."""

    first: tuple[str, ...]
    last: tuple[str, ...]
    first_canon: tuple[str, ...]
    last_canon: tuple[str, ...]

    @property
    def full(self) -> str:
        return " ".join((*self.first, *self.last))

    @property
    def key(self) -> str:
        """Equal for the same name in either order and by nickname: the `exact` comparison."""
        return " ".join(sorted((*self.first_canon, *self.last_canon)))


Value = str | tuple[str, ...] | PersonName | None  # a tuple: phone numbers, sorted


@dataclass(frozen=True, slots=True)
class Prepared:
    id: str
    values: dict[str, Value]  # comparable field -> its normal form; None when empty
    keys: tuple[str, ...]  # blocking keys, sorted
    order: str  # sort key inside an oversized block


def person_name(first: str | None, last: str | None) -> PersonName | None:
    first_tokens, last_tokens = normalise.tokens(first), normalise.tokens(last)
    if not (first_tokens or last_tokens):
        return None
    return PersonName(first_tokens, last_tokens, normalise.given_names(first), normalise.given_names(last))
