"""Duplicate matching's pure core (services/directory/matching): normalisation, rules, blocking
keys and the block cap, scoring with empty fields, grouping, check on create, and the precision
and recall on a small labelled set (tests/duplicates_data.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import combinations
from typing import Any

import pytest
from pydantic import ValidationError

from services.directory.domain.errors import field_errors_from_validation
from services.directory.domain.models import Contact, Owner
from services.directory.matching import normalise
from services.directory.matching.blocking import BlockPolicy, Blocks
from services.directory.matching.engine import check, prepare_all, scan
from services.directory.matching.grouping import group_pairs
from services.directory.matching.prepare import prepare
from services.directory.matching.rules import default_rules, parse_rules
from services.directory.matching.scoring import PairScore, Scorer
from shared.business_ids import business_id
from tests.duplicates_data import people_records, quality

pytestmark = pytest.mark.disable_socket


def contact(record_id: str, first: str | None, last: str | None, **fields: Any) -> dict[str, Any]:
    return {"id": record_id, "first_name": first, "last_name": last, **fields}


def errors_of(entity: str, body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as raised:
        parse_rules(entity, body)  # type: ignore[arg-type]
    return {e.field: e.code for e in field_errors_from_validation(raised.value)}


# ----------------------------------------------------------------------------- normalisation


def test_email_is_trimmed_and_lower_cased_and_nothing_else() -> None:
    assert normalise.email("  Matti.Virtanen@Example.FI ") == "matti.virtanen@example.fi"
    # Provider rules are not applied: dots and +tags may be separate mailboxes.
    assert normalise.email("matti.virtanen@gmail.com") != normalise.email("mattivirtanen@gmail.com")
    assert normalise.email("sales+fi@acme.fi") == "sales+fi@acme.fi"
    assert normalise.email("   ") is None


@pytest.mark.parametrize(
    "written", ["040 123 4567", "+358 40 123 4567", "0401234567", "(040) 123-4567", "+358401234567"]
)
def test_phone_numbers_written_any_way_are_one_e164(written: str) -> None:
    assert normalise.phone(written, "FI") == "+358401234567"


def test_phone_without_country_code_is_read_as_the_default_country() -> None:
    assert normalise.phone("070 123 45 67", "SE") == "+46701234567"
    assert normalise.phone("+46 70 123 45 67", "FI") == "+46701234567"
    assert normalise.phone("12", "FI") is None
    assert normalise.phone("not a number", "FI") is None


def test_business_id_in_any_common_form_and_only_with_its_check_digit() -> None:
    printed = business_id("1234567")
    digits = printed.replace("-", "")
    for written in (printed, digits, f"FI{digits}", f" {digits[:7]} - {digits[7]} "):
        assert normalise.business_id(written) == printed, written
    wrong = f"{printed[:-1]}{(int(printed[-1]) + 1) % 10}"
    assert normalise.business_id(wrong) is None


def test_names_fold_case_accents_hyphens_and_apostrophes() -> None:
    assert normalise.fold("  Anna-Liisa   Hämäläinen ") == "anna liisa hamalainen"
    assert normalise.fold("O\u2019Brien") == normalise.fold("OBrien") == "obrien"
    assert normalise.fold("Björk Ståhlberg") == "bjork stahlberg"
    assert normalise.fold("Groß Ødegård") == "gross odegard"


def test_nicknames_read_as_their_name_and_unknown_names_stay() -> None:
    assert normalise.given_names("Mikko") == normalise.given_names("Mikael") == ("mikael",)
    assert normalise.given_names("Bob") == normalise.given_names("robert")
    assert normalise.given_names("Lasse") == normalise.given_names("Lars")
    assert normalise.given_names("Aino") == ("aino",)


def test_company_names_drop_legal_forms_and_websites_keep_the_host() -> None:
    assert normalise.org_name("Oy Acme Ab") == normalise.org_name("ACME OY") == "acme"
    assert normalise.org_name("Oy Ab") == "oy ab"  # nothing but legal forms: the name itself
    assert normalise.website("https://www.Acme.fi/contact?x=1") == normalise.website("acme.fi") == "acme.fi"


def test_the_skeleton_keeps_vowel_slips_and_doubled_letters() -> None:
    assert normalise.skeleton("virtanen") == normalise.skeleton("wirtannen") == normalise.skeleton("virtenen")
    assert normalise.skeleton("virtanen") != normalise.skeleton("virtamen")


# ----------------------------------------------------------------------------- rules


def test_default_rules_are_valid_for_both_entities() -> None:
    for entity in ("contacts", "accounts"):
        rules = default_rules(entity)  # type: ignore[arg-type]
        assert rules.entity == entity and 0 < rules.threshold <= 1
        assert parse_rules(entity, rules.model_dump()) == rules  # type: ignore[arg-type]
    assert default_rules("contacts") is not default_rules("contacts")


def test_rules_errors_name_their_field() -> None:
    errors = errors_of(
        "contacts",
        {
            "fields": [{"field": "nmae"}, {"field": "phones", "method": "fuzzy"}, {"field": "email", "weight": 0}],
            "threshold": 1.5,
            "default_country": "XX",
        },
    )
    assert errors == {
        "fields.0.field": "literal_error",
        "fields.1": "method_not_allowed",
        "fields.2.weight": "greater_than",
        "threshold": "less_than_equal",
        "default_country": "unknown_country",
    }
    assert errors_of("accounts", {"fields": [{"field": "first_name"}]}) == {"fields.0.field": "literal_error"}
    assert errors_of("contacts", {"fields": [{"field": "email"}, {"field": "email"}]}) == {"fields": "duplicate"}
    assert errors_of("contacts", {"fields": [{"field": "email"}], "min_matched_fields": 2}) == {
        "min_matched_fields": "above_fields_compared"
    }
    assert errors_of("contacts", {"entity": "accounts", "fields": [{"field": "email"}]}) == {"entity": "literal_error"}
    assert errors_of("contacts", {"fields": [{"field": "email"}], "extra": 1}) == {"extra": "extra_forbidden"}


# ----------------------------------------------------------------------------- blocking keys


def keys(record: dict[str, Any], entity: str = "contacts") -> frozenset[str]:
    return frozenset(prepare(record, entity).keys)  # type: ignore[arg-type]


def test_contact_keys_are_email_numbers_and_name_keys() -> None:
    found = keys(contact("a", "Matti", "Virtanen", email=" M.V@Acme.fi", phone="040 123 4567", mobile="+46701234567"))
    assert {"e:m.v@acme.fi", "p:+358401234567", "p:+46701234567"} <= found
    assert {k for k in found if k[0] in "ng"} == {"n:vrtnn:m", "g:matias:vir", "n:mts:v", "g:virtanen:mat"}


def test_swapped_names_nicknames_and_vowel_slips_share_a_name_key() -> None:
    base = keys(contact("a", "Mikko", "Virtanen"))
    assert keys(contact("b", "Virtanen", "Mikko")) == base
    assert keys(contact("c", "Mikael", "Virtanen")) == base
    assert base & keys(contact("d", "Mikko", "Wirtannen"))  # n: the surname's skeleton
    assert base & keys(contact("e", "Mikko", "Virtamen"))  # g: the given name and "vir"
    assert not base & keys(contact("f", "Anna", "Korhonen"))
    assert not keys(contact("g", None, "Virtanen"))  # one name part and no identifier: no key


def test_account_keys() -> None:
    account = {"id": "x", "name": "Oy Acme Finland Ab", "business_id": business_id("1234567").replace("-", "")}
    found = keys({**account, "website": "https://www.acme.fi/", "phone": "09 123 4567"}, "accounts")
    assert found == {
        f"b:{business_id('1234567')}",
        "w:acme.fi",
        "p:+35891234567",
        "o:acme finland",
        "f:fnlnd",
    }


def test_records_share_no_key_no_pair_is_compared() -> None:
    prepared = prepare_all(
        [contact("a", "Matti", "Virtanen", email="a@x.fi"), contact("b", "Anna", "Korhonen", email="b@x.fi")],
        default_rules("contacts"),
    )
    assert list(Blocks(prepared).pairs()) == []


def test_an_oversized_block_is_walked_as_a_sorted_neighbourhood() -> None:
    # 1,000 different people called Matti Korhonen, one of them entered twice (same email).
    people = [contact(f"p{n:04d}", "Matti", "Korhonen", email=f"mk{n:04d}@x.fi") for n in range(1000)]
    people.append(contact("twice", "Matti", "Korhonen", email="mk0500@x.fi", phone="040 123 4567"))
    policy = BlockPolicy(max_block=50, window=4)
    prepared = prepare_all(people, default_rules("contacts"))
    blocks = Blocks(prepared, policy)
    pairs = list(blocks.pairs())
    assert len(pairs) == len(set(pairs))
    assert blocks.stats.capped_blocks == 4 and blocks.stats.largest_block == 1001  # the four name keys
    # about 2 x window per record, not the 500,500 pairs of comparing every two
    assert len(pairs) <= 2 * policy.window * len(people)
    result = scan(people, default_rules("contacts"), policy)
    assert [g.records for g in result.groups] == [("p0500", "twice")]
    assert result.compared == len(pairs)


# ----------------------------------------------------------------------------- scoring


def score(a: dict[str, Any], b: dict[str, Any], **rules: Any) -> PairScore:
    chosen = default_rules("contacts").model_copy(update=rules)
    return Scorer(chosen).score(prepare(a, "contacts"), prepare(b, "contacts"))


def test_the_same_person_written_differently_scores_high() -> None:
    original = contact("a", "Mikko", "Hämäläinen", email="mikko.h@acme.fi", mobile="+358401234567")
    for variant in (
        contact("b", "Mikael", "Hamalainen", email=" Mikko.H@ACME.fi", phone="040 123 4567"),  # nickname, accents
        contact("b", "Hämäläinen", "Mikko", email="mikko.h@acme.fi"),  # swapped
        contact("b", "Mikko", "Hämälänen", mobile="0401234567"),  # a typo
    ):
        pair = score(original, variant)
        assert pair.score >= 0.9 and "name" in pair.matched, (variant, pair)


def test_different_people_with_one_name_do_not_match() -> None:
    a = contact("a", "Matti", "Korhonen", email="matti@a.fi", mobile="040 111 1111")
    b = contact("b", "Matti", "Korhonen", email="matti@b.fi", mobile="040 222 2222")
    pair = score(a, b)
    assert pair.matched == ("name",) and pair.score == pytest.approx(0.4)
    # another given name with the same surname is another person, even at one account
    pair = score(contact("a", "Maria", "Eriksson", account_id="x"), contact("b", "Matti", "Eriksson", account_id="x"))
    assert pair.matched == ("account_id",)


def test_a_field_empty_on_one_side_is_left_out() -> None:
    pair = score(
        contact("a", "Anna", "Laine", email="anna@x.fi"),
        contact("b", "Anna", "Laine", email="anna@x.fi", mobile="040 1"),
    )
    assert pair.score == 1.0 and pair.matched == ("name", "email")


def test_match_empty_fields_decides_whether_both_empty_is_a_match() -> None:
    a, b = contact("a", "Anna", "Laine"), contact("b", "Anna", "Laine")
    off = score(a, b)
    assert off.matched == ("name",)
    on = score(a, b, match_empty_fields=True)
    assert on.matched == ("name", "email", "phones", "account_id") and on.score == 1.0
    scorer_off, scorer_on = (
        Scorer(default_rules("contacts")),
        Scorer(default_rules("contacts").model_copy(update={"match_empty_fields": True})),
    )
    assert not scorer_off.is_match(off)  # a name alone is not a duplicate
    assert scorer_on.is_match(on)


def test_a_name_with_one_part_is_compared_with_the_closest_part() -> None:
    pair = score(contact("a", None, "Salo", email="p.salo@x.fi"), contact("b", "Petri", "Salo", email="p.salo@x.fi"))
    assert pair.matched == ("name", "email")


def test_match_agrees_with_score_and_is_match_on_every_candidate_pair() -> None:
    data = people_records(1500, seed=7)
    for rules in (default_rules("contacts"), default_rules("contacts").model_copy(update={"match_empty_fields": True})):
        scorer = Scorer(rules)
        prepared = prepare_all(data.records, rules)
        for i, j in Blocks(prepared).pairs():
            full = scorer.score(prepared[i], prepared[j])
            quick = scorer.match(prepared[i], prepared[j])
            if scorer.is_match(full):
                assert quick is not None and quick.matched == full.matched
                assert quick.score == pytest.approx(full.score)
            else:
                assert quick is None


# ----------------------------------------------------------------------------- grouping


def test_pairs_join_into_groups_with_their_weakest_link() -> None:
    pairs = [
        PairScore("b", "c", 0.8, ("email",)),
        PairScore("a", "b", 0.95, ("name", "phones")),
        PairScore("x", "y", 0.9, ("name", "email")),
    ]
    groups = group_pairs(pairs, ["name", "email", "phones"])
    assert [(g.records, g.matched, g.score) for g in groups] == [
        (("a", "b", "c"), ("name", "email", "phones"), 0.8),
        (("x", "y"), ("name", "email"), 0.9),
    ]
    assert group_pairs([], ["name"]) == []


def test_scan_takes_directory_models_and_accounts() -> None:
    now = datetime.now(UTC)
    owner = Owner(type="user", id="u1")
    models = [
        Contact(
            id="c1",
            number="CON-1",
            first_name="Kalle",
            last_name="Laine",
            email="k@x.fi",
            owner=owner,
            created_at=now,
            updated_at=now,
        ),
        Contact(
            id="c2",
            number="CON-2",
            first_name="Karl",
            last_name="Laine",
            email="K@X.FI",
            owner=owner,
            created_at=now,
            updated_at=now,
        ),
    ]
    assert [g.records for g in scan(models, default_rules("contacts")).groups] == [("c1", "c2")]
    printed = business_id("7654321")
    accounts = [
        {"id": "a1", "name": "Oy Acme Ab", "business_id": printed, "city": "Helsinki"},
        {"id": "a2", "name": "ACME OY", "business_id": f"FI{printed.replace('-', '')}", "city": "Helsingfors"},
        {"id": "a3", "name": "Acme Oy", "business_id": business_id("1234567"), "city": "Helsinki"},
    ]
    result = scan(accounts, default_rules("accounts"))
    assert [(g.records, g.matched) for g in result.groups] == [(("a1", "a2"), ("name", "business_id"))]


# ----------------------------------------------------------------------------- check on create


def test_check_scores_a_new_record_against_its_keys_blocks() -> None:
    existing = contact("c1", "Liisa", "Niemi", email="liisa@x.fi", mobile="040 765 4321")
    other = contact("c2", "Liisa", "Niemi", email="other@x.fi")
    blocks = {"e:liisa@x.fi": [existing], "n:nm:e": [existing, other], "p:+358407654321": [existing]}
    new = contact(None, "Elisabet", "Niemi", email="LIISA@x.fi")  # type: ignore[arg-type]
    found = check(new, blocks, default_rules("contacts"))
    assert [(p.right, p.matched) for p in found] == [("c1", ("name", "email"))]
    # the record itself (an update checked again) is not its own duplicate
    assert check(existing, blocks, default_rules("contacts")) == []


# ----------------------------------------------------------------------------- a labelled set


def test_precision_and_recall_on_a_labelled_set() -> None:
    data = people_records(3000, seed=24)
    result = scan(data.records, default_rules("contacts"))
    measured = quality([g.records for g in result.groups], data.true_pairs())
    # the misses are mostly duplicates that share a name and nothing else (not enough, by the rules)
    assert measured.precision >= 0.98 and measured.recall >= 0.9, measured
    assert result.compared < 30 * len(data.records)
    assert any(count > 5 for count in data.common_names().values())  # different people sharing a name


def test_the_generator_is_deterministic_and_labels_every_record() -> None:
    one, two = people_records(500, seed=3), people_records(500, seed=3)
    assert one == two and len(one.records) >= 500
    assert set(one.person) == {r["id"] for r in one.records}
    assert all(a < b for a, b in one.true_pairs()) and not any(a == b for a, b in combinations(one.person, 2))
