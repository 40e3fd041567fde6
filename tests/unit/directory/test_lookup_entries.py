"""The index entries a record writes (services/directory/lookup.py): which filter partitions and
sort keys it is listed under, normalised as the filters read them."""

from __future__ import annotations

import pytest

from services.directory.lookup import SEP, _entries, query_words, search_terms

pytestmark = pytest.mark.disable_socket

CONTACT = {
    "first_name": "Anna-Liisa",
    "last_name": "Virtanen",
    "email": "Anna@Acme.Example",
    "phone": "+358 40 111",
    "mobile": "040 222",
    "number": "CON-1001",
    "classes": ["K1", "K2"],
    "owner": {"type": "group", "id": "G1"},
}


def test_a_contact_is_listed_under_each_filter_value_and_its_name() -> None:
    listed = {
        (e.gsi4pk, e.gsi4sk) for e in _entries("t1", "contact", "C1", CONTACT, 3, "FI") if "#dup#" not in e.gsi4pk
    }
    assert listed == {
        ("T#t1#CONTACT#email#anna@acme.example", "C1"),
        ("T#t1#CONTACT#phone#35840111", "C1"),
        ("T#t1#CONTACT#phone#040222", "C1"),
        ("T#t1#CONTACT#class_id#K1", "C1"),
        ("T#t1#CONTACT#class_id#K2", "C1"),
        ("T#t1#CONTACT#name", f"virtanen anna-liisa{SEP}C1"),
        ("T#t1#CONTACT#owner#G1#name", f"virtanen anna-liisa{SEP}C1"),
        ("T#t1#SEARCH#0", f"anna-liisa{SEP}contact{SEP}C1"),
        ("T#t1#SEARCH#0", f"virtanen{SEP}contact{SEP}C1"),
        ("T#t1#SEARCH#0", f"con-1001{SEP}contact{SEP}C1"),
        ("T#t1#SEARCH#1", f"anna@acme.example{SEP}contact{SEP}C1"),
        ("T#t1#SEARCH#1", f"35840111{SEP}contact{SEP}C1"),
        ("T#t1#SEARCH#1", f"040222{SEP}contact{SEP}C1"),
    }


def test_entries_carry_the_record_and_live_in_its_partition() -> None:
    entries = _entries("t1", "contact", "C1", CONTACT, 3, "FI")
    assert {e.pk for e in entries} == {"T#t1#CONTACT#C1"} and all(e.sk.startswith("IX#") for e in entries)
    assert len({e.sk for e in entries}) == len(entries)
    email = next(e for e in entries if e.gsi4pk.endswith("#email#anna@acme.example"))
    assert (email.version, email.fields["id"], email.fields["last_name"]) == (3, "C1", "Virtanen")


def test_an_erased_contact_leaves_no_personal_value_in_any_entry() -> None:
    erased = {"number": "CON-1001", "owner": {"type": "user", "id": "U1"}, "erased": True}
    entries = _entries("t1", "contact", "C1", erased, 4, "FI")
    assert [(e.gsi4pk, e.gsi4sk) for e in entries] == [("T#t1#SEARCH#0", f"con-1001{SEP}contact{SEP}C1")]


def test_a_contact_is_listed_under_its_duplicate_keys_carrying_nothing() -> None:
    """One entry per blocking key, sort key the id, no copy (so an update rewrites only the keys
    that change); national numbers read as the tenant's default country's."""
    entries = [e for e in _entries("t1", "contact", "C1", CONTACT, 3, "FI") if "#dup#" in e.gsi4pk]
    keys = {e.gsi4pk.removeprefix("T#t1#CONTACT#dup#") for e in entries}
    assert {"e:anna@acme.example", "p:+35840111"} <= keys
    assert {k[:2] for k in keys} == {"e:", "p:", "n:", "g:"}
    assert {(e.gsi4sk, e.version, len(e.fields.as_dict())) for e in entries} == {("C1", 0, 0)}
    national = CONTACT | {"mobile": "040 1234567"}
    finnish, swedish = (
        {e.gsi4pk for e in _entries("t1", "contact", "C1", national, 3, country) if "#dup#p:" in e.gsi4pk}
        for country in ("FI", "SE")
    )
    assert finnish == {"T#t1#CONTACT#dup#p:+35840111", "T#t1#CONTACT#dup#p:+358401234567"}
    assert swedish == {"T#t1#CONTACT#dup#p:+35840111", "T#t1#CONTACT#dup#p:+46401234567"}


def test_an_account_is_listed_under_its_business_id_and_name_keys() -> None:
    account = {"name": "Acme Oy", "business_id": "1234567-1", "owner": {"type": "user", "id": "U1"}}
    keys = {e.gsi4pk for e in _entries("t1", "account", "A1", account, 1, "FI") if "#dup#" in e.gsi4pk}
    assert {"T#t1#ACCOUNT#dup#b:1234567-1", "T#t1#ACCOUNT#dup#o:acme"} < keys
    assert {k.split("#dup#")[1][:2] for k in keys} == {"b:", "o:", "f:"}


def test_the_keys_of_an_account_or_contact_need_the_tenant_country() -> None:
    with pytest.raises(ValueError):
        _entries("t1", "contact", "C1", CONTACT, 3, None)
    assert _entries("t1", "user", "U1", {"email": "a@b.fi", "name": "A"}, 1, None)


def test_search_terms_rank_names_before_contact_details_and_query_words() -> None:
    assert search_terms("account", {"name": "Acme  Oy", "number": "ACC-7", "email": "x@y.fi"}) == {
        "acme": 0,
        "oy": 0,
        "acc-7": 0,
        "x@y.fi": 1,
    }
    assert query_words("+358 (40) 111") == ["35840111"]
    assert query_words("  Anna  VIR ") == ["anna", "vir"]
