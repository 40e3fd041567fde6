"""A labelled set of contacts for duplicate matching: people, some entered more than once.

`people_records(n, seed)` makes about `n` contact dicts (the directory's field names) and the
person each belongs to. Every person has a first record; some (`DUPLICATE_SHARE`) have one or two
more, each written with real-world variations: typos in either name, a nickname, first and last
name swapped, accents dropped, the phone number in another format or in the other field, the
email in other case with stray spaces, missing fields, another account. Names are drawn with a
long tail (a few common ones, many rare), so different people share common names ("Matti
Korhonen" many times, each with their own email and number): the set tests precision as well as
recall. Deterministic for a seed.
"""

from __future__ import annotations

import random
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

GIVEN = (
    *("Matti", "Mikko", "Juha", "Timo", "Antti", "Jari", "Pekka", "Heikki", "Ville", "Kalle", "Olli", "Tuomas"),
    *("Petri", "Aleksi", "Lauri", "Niilo", "Jussi", "Sami", "Teemu", "Janne", "Markku", "Eero", "Joonas", "Riku"),
    *("Anna", "Maria", "Liisa", "Kati", "Sanna", "Leena", "Tiina", "Johanna", "Minna", "Päivi", "Kaisa", "Susanna"),
    *("Helena", "Kristiina", "Elisabet", "Katariina", "Jenni", "Laura", "Sari", "Hanna", "Aino", "Eeva", "Riikka"),
    *("Erik", "Lars", "Nils", "Björn", "Gustav", "Karl", "Olof", "Per", "Åsa", "Ingrid", "Sofia", "Märta", "Stina"),
    *("Robert", "William", "James", "Richard", "David", "Daniel", "Michael", "Thomas", "Elizabeth", "Katherine"),
    *("Stephen", "Nicholas", "Christopher", "Samuel", "Joseph", "Anthony", "Jennifer", "Susan", "Margaret", "Peter"),
)
NICKNAMES = {
    "Matti": ("Matias",),
    "Mikko": ("Mikael",),
    "Juha": ("Jussi", "Juhani"),
    "Jussi": ("Juha",),
    "Ville": ("Vilhelm",),
    "Kalle": ("Kaarle", "Karl"),
    "Olli": ("Olavi",),
    "Heikki": ("Henrik",),
    "Petri": ("Petteri",),
    "Aleksi": ("Aleksanteri", "Alex"),
    "Tuomas": ("Tommi",),
    "Liisa": ("Elisabet",),
    "Kati": ("Katariina",),
    "Sanna": ("Susanna",),
    "Leena": ("Helena",),
    "Tiina": ("Kristiina",),
    "Lars": ("Lasse",),
    "Nils": ("Nisse",),
    "Karl": ("Kalle",),
    "Olof": ("Olle",),
    "Robert": ("Bob", "Rob"),
    "William": ("Bill", "Will"),
    "James": ("Jim",),
    "Richard": ("Rick",),
    "David": ("Dave",),
    "Daniel": ("Dan",),
    "Michael": ("Mike",),
    "Thomas": ("Tom",),
    "Elizabeth": ("Liz", "Beth"),
    "Katherine": ("Kate",),
    "Stephen": ("Steve",),
    "Nicholas": ("Nick",),
    "Christopher": ("Chris",),
    "Samuel": ("Sam",),
    "Joseph": ("Joe",),
    "Anthony": ("Tony",),
    "Jennifer": ("Jenny",),
    "Susan": ("Sue",),
    "Peter": ("Pete",),
}
COMMON_SURNAMES = (
    *("Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen", "Koskinen"),
    *("Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen", "Heinonen", "Niemi", "Heikkilä", "Kinnunen"),
    *("Salonen", "Turunen", "Salo", "Laitinen", "Tuominen", "Rantanen", "Karjalainen", "Jokinen", "Mattila"),
    *("Savolainen", "Lahtinen", "Ahonen", "Johansson", "Andersson", "Karlsson", "Nilsson", "Eriksson", "Lindqvist"),
    *("Lindholm", "Björklund", "Holmström", "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans"),
)
# The long tail: surnames built from Finnish and Swedish parts (Koivuranta, Lindberg ...), ~10,000 of them.
_HEADS = (
    *("Koivu", "Lehto", "Mäki", "Järvi", "Ranta", "Niemi", "Salo", "Kallio", "Harju", "Laakso", "Vuori", "Kivi"),
    *("Lampi", "Suo", "Metsä", "Kangas", "Pelto", "Honka", "Kuusi", "Haapa", "Lind", "Berg", "Holm", "Sund"),
    *("Ek", "Ström", "Dahl", "Nord", "Vik", "Sjö", "Lax", "Alm", "Ros", "Åker"),
)
_TAILS = (
    *("nen", "la", "lä", "ranta", "mäki", "niemi", "järvi", "salo", "aho", "oja", "lahti", "vaara", "koski"),
    *("kangas", "pelto", "harju", "berg", "ström", "qvist", "lund", "holm", "dahl", "gren", "man", "blom"),
)
DOMAINS = tuple(
    f"{w}.{tld}"
    for w in ("acme", "nordic", "kone", "vesi", "metsa", "tieto", "data", "sahko")
    for tld in ("fi", "com", "se")
)
PUBLIC_DOMAINS = ("gmail.com", "outlook.com", "hotmail.com", "luukku.com", "yahoo.com")
DUPLICATE_SHARE = 0.3  # people entered more than once
SECOND_DUPLICATE_SHARE = 0.2  # of those, people entered three times
COMMON_SHARE = 0.6  # people with one of the common surnames


@dataclass(frozen=True)
class Labelled:
    records: list[dict[str, Any]]
    person: dict[str, int]  # record id -> person

    def true_pairs(self) -> set[tuple[str, str]]:
        by_person: dict[int, list[str]] = {}
        for record_id, person in self.person.items():
            by_person.setdefault(person, []).append(record_id)
        return {pair for ids in by_person.values() for pair in combinations(sorted(ids), 2)}

    def common_names(self) -> Counter[tuple[str, str]]:
        """(first, last) of the people (first records) -> how many different people have that name."""
        firsts = [r for r in self.records if r["id"].endswith("-0")]
        return Counter((r["first_name"], r["last_name"]) for r in firsts)


def _zipf_weights(count: int, exponent: float) -> list[float]:
    return [1 / (rank**exponent) for rank in range(1, count + 1)]


class _People:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.given_weights = _zipf_weights(len(GIVEN), 0.8)
        self.surname_weights = _zipf_weights(len(COMMON_SURNAMES), 0.6)
        self.emails: set[str] = set()
        self.numbers: set[str] = set()

    def surname(self) -> str:
        if self.rng.random() < COMMON_SHARE:
            return self.rng.choices(COMMON_SURNAMES, self.surname_weights)[0]
        head, tail = self.rng.choice(_HEADS), self.rng.choice(_TAILS)
        middle = self.rng.choice(("", "", "n", "s", "vaara", "kivi", "berg"))
        return f"{head}{middle}{tail}"

    def number(self) -> str:
        while True:
            digits = f"{self.rng.choice(('40', '41', '44', '45', '50'))}{self.rng.randrange(10**7):07d}"
            if digits not in self.numbers:
                self.numbers.add(digits)
                return digits

    def email(self, first: str, last: str) -> str:
        local = ascii_name(f"{first}.{last}").lower()
        domain = self.rng.choice(DOMAINS if self.rng.random() < 0.7 else PUBLIC_DOMAINS)
        address, n = f"{local}@{domain}", 1
        while address in self.emails:
            n += 1
            address = f"{local}{n}@{domain}"
        self.emails.add(address)
        return address

    def person(self, accounts: int) -> tuple[dict[str, Any], str | None]:
        """A person's first record and their number's national digits (401234567), if any."""
        first = self.rng.choices(GIVEN, self.given_weights)[0]
        last = self.surname()
        has_email, has_number = self.rng.random() < 0.85, self.rng.random() < 0.8
        if not (has_email or has_number):
            has_email = True
        number = self.number() if has_number else None
        in_phone = number is not None and self.rng.random() < 0.3
        record = {
            "first_name": first,
            "last_name": last,
            "email": self.email(first, last) if has_email else None,
            "phone": f"0{number[:2]} {number[2:]}" if number and in_phone else None,
            "mobile": f"+358{number}" if number and not in_phone else None,
            "account_id": f"account-{self.rng.randrange(accounts)}" if self.rng.random() < 0.6 else None,
        }
        return record, number


def ascii_name(text: str) -> str:
    return text.translate(str.maketrans("äöåÄÖÅé", "aoaAOAe")).replace(" ", "")


def typo(rng: random.Random, word: str) -> str:
    """One slip of the keyboard after the first letter: a letter changed, dropped, doubled or two swapped."""
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("change", "drop", "double", "swap"))
    if kind == "change":
        return word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def phone_format(rng: random.Random, e164_digits: str) -> str:
    """The national number (e.g. 401234567) written one of the ways people type it."""
    a, b = e164_digits[:2], e164_digits[2:]
    return rng.choice(
        (f"+358 {a} {b[:3]} {b[3:]}", f"0{a} {b}", f"0{a}-{b[:3]} {b[3:]}", f"+358{a}{b}", f"(0{a}) {b}", f"0{a}{b}")
    )


def vary(rng: random.Random, base: dict[str, Any], number: str | None, accounts: int) -> dict[str, Any]:
    """Another entry of the same person, with the variations a CRM sees."""
    record = dict(base)
    first, last = record["first_name"], record["last_name"]
    if first in NICKNAMES and rng.random() < 0.25:
        first = rng.choice(NICKNAMES[first])
    if rng.random() < 0.25:
        first = typo(rng, first)
    if rng.random() < 0.3:
        last = typo(rng, last)
    if rng.random() < 0.2:
        first, last = ascii_name(first), ascii_name(last)
    if rng.random() < 0.1:
        first, last = last, first
    if rng.random() < 0.05:
        first = None
    record["first_name"], record["last_name"] = first, last
    record["phone"] = record["mobile"] = None
    if number and rng.random() > 0.15:
        record["mobile" if rng.random() < 0.6 else "phone"] = phone_format(rng, number)
    if record["email"] and rng.random() < 0.15:
        record["email"] = None
    elif record["email"] and rng.random() < 0.5:
        local, _, domain = record["email"].partition("@")
        record["email"] = f"  {local.title()}@{domain.upper()} " if rng.random() < 0.5 else record["email"].upper()
    if rng.random() < 0.3:
        record["account_id"] = f"account-{rng.randrange(accounts)}" if rng.random() < 0.3 else None
    return record


def people_records(n: int, seed: int = 24) -> Labelled:
    """About `n` contact records of fewer people, labelled by person (ids `p<person>-<entry>`)."""
    rng = random.Random(seed)
    people = _People(rng)
    accounts = max(10, n // 20)
    records: list[dict[str, Any]] = []
    person_of: dict[str, int] = {}
    person = 0
    while len(records) < n:
        base, number = people.person(accounts)
        entries = [base]
        if rng.random() < DUPLICATE_SHARE:
            entries.append(vary(rng, base, number, accounts))
            if rng.random() < SECOND_DUPLICATE_SHARE:
                entries.append(vary(rng, base, number, accounts))
        for index, entry in enumerate(entries):
            record_id = f"p{person}-{index}"
            records.append({"id": record_id, **entry})
            person_of[record_id] = person
        person += 1
    rng.shuffle(records)
    return Labelled(records, person_of)


@dataclass(frozen=True)
class Quality:
    true_pairs: int
    found_pairs: int
    right_pairs: int

    @property
    def precision(self) -> float:
        return self.right_pairs / self.found_pairs if self.found_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.right_pairs / self.true_pairs if self.true_pairs else 1.0


def quality(groups: Iterable[Sequence[str]], truth: set[tuple[str, str]]) -> Quality:
    """Pairwise precision and recall of groups: every two records in one group are a found pair."""
    found = {pair for records in groups for pair in combinations(sorted(records), 2)}
    return Quality(len(truth), len(found), len(found & truth))
