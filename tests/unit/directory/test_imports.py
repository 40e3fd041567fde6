from datetime import date

import pytest

from services.directory.domain.imports import (
    ImportFileError,
    ImportKind,
    decode_csv,
    parse_bool,
    parse_csv,
    parse_date,
    sniff_delimiter,
    validate_mapping,
)
from services.directory.domain.models import AccountCreate, ContactCreate, default_picklists

CONTACT_MAPPING = {
    "Etunimi": "first_name",
    "Sukunimi": "last_name",
    "Sähköposti": "email",
    "Ryhmät": "groups",
    "Aktiivinen": "active",
    "Suostumus": "consent_date",
}


def test_semicolon_file_with_bom_and_quoted_list() -> None:
    text = (
        "\ufeffEtunimi;Sukunimi;Sähköposti;Ryhmät;Aktiivinen;Suostumus;Ignored\r\n"
        'Matti;Meikäläinen;Matti@Example.FI;"newsletter; vip";kyllä;31.3.2024;x\r\n'
    )
    [row] = parse_csv(text, CONTACT_MAPPING, ImportKind.contacts)
    assert row.row == 1
    assert row.errors == []
    assert isinstance(row.record, ContactCreate)
    assert row.record.first_name == "Matti"
    assert row.record.groups == ["newsletter", "vip"]
    assert row.record.active is True
    assert row.record.consent_date == date(2024, 3, 31)
    assert row.match_key == "matti@example.fi"


def test_comma_file_with_quoted_comma() -> None:
    text = 'Name,City,Y-tunnus\n"Acme, Inc",Helsinki,1234567-1\nBeta Oy,,\n'
    mapping = {"Name": "name", "City": "city", "Y-tunnus": "business_id"}
    rows = parse_csv(text, mapping, ImportKind.accounts)
    assert [r.row for r in rows] == [1, 2]
    first, second = rows
    assert isinstance(first.record, AccountCreate)
    assert (first.record.name, first.record.city, first.match_key) == ("Acme, Inc", "Helsinki", "1234567-1")
    assert isinstance(second.record, AccountCreate)
    assert (second.record.city, second.record.business_id, second.match_key) == (None, None, None)


def test_bad_rows_carry_reasons_named_by_header_and_keep_row_numbers() -> None:
    text = (
        "Etunimi;Sukunimi;Sähköposti;Ryhmät;Aktiivinen;Suostumus\n"
        "Liisa;;liisa@example.fi;;;\n"
        "\n"
        ";;bad-email;;maybe;32.1.2024\n"
        ";;;;;\n"
        "Pekka;;;;ei;2024-02-29\n"
    )
    rows = parse_csv(text, CONTACT_MAPPING, ImportKind.contacts)
    assert [r.row for r in rows] == [1, 3, 5]
    assert rows[0].ok and rows[2].ok
    assert isinstance(rows[2].record, ContactCreate)
    assert rows[2].record.active is False
    bad = rows[1]
    assert bad.record is None
    assert bad.match_key is None
    assert {(e.field, e.code) for e in bad.errors} == {
        ("Aktiivinen", "invalid_value"),
        ("Suostumus", "invalid_value"),
        ("Sähköposti", "invalid_email"),
    }


def test_row_without_any_name_is_reported_on_the_name_column() -> None:
    text = "Etunimi;Sukunimi;Sähköposti\n;;a@b.fi\n"
    mapping = {"Etunimi": "first_name", "Sukunimi": "last_name", "Sähköposti": "email"}
    [row] = parse_csv(text, mapping, ImportKind.contacts)
    assert [(e.field, e.code) for e in row.errors] == [("Etunimi", "name_required")]


def test_picklist_codes_are_checked_when_lists_are_given() -> None:
    text = 'Etunimi;Ryhmät\nA;newsletter;nope\nB;"vip;nope"\n'
    mapping = {"Etunimi": "first_name", "Ryhmät": "groups"}
    rows = parse_csv(text, mapping, ImportKind.contacts, default_picklists())
    assert rows[0].errors[0].code == "too_many_cells"
    assert [(e.field, e.code) for e in rows[1].errors] == [("Ryhmät.1", "unknown_code")]
    assert parse_csv(text.replace("nope", "events"), mapping, ImportKind.contacts)[1].ok


def test_duplicate_natural_key_rejects_the_later_row() -> None:
    text = "email,first\nA@x.fi,A\na@X.fi,B\n"
    rows = parse_csv(text, {"email": "email", "first": "first_name"}, ImportKind.contacts)
    assert rows[0].ok
    assert [(e.field, e.code) for e in rows[1].errors] == [("row", "duplicate_key")]
    assert "row 1" in rows[1].errors[0].message


def test_mapping_with_unknown_or_repeated_field() -> None:
    errors = validate_mapping({"Nimi": "name", "Kenkä": "shoe_size", "Toinen": "name"}, ImportKind.accounts)
    assert [(e.field, e.code) for e in errors] == [
        ("mapping.Kenkä", "unknown_field"),
        ("mapping.Toinen", "duplicate_field"),
    ]
    assert validate_mapping({"Owner": "owner"}, ImportKind.contacts)[0].code == "unknown_field"
    assert validate_mapping({"Tila": "status"}, ImportKind.contacts)[0].field == "mapping.Tila"
    with pytest.raises(ImportFileError) as info:
        parse_csv("Nimi\nAcme\n", {"Nimi": "shoe_size"}, ImportKind.accounts)
    assert [e.field for e in info.value.errors] == ["mapping.Nimi"]


def test_header_missing_a_mapped_column() -> None:
    with pytest.raises(ImportFileError) as info:
        parse_csv("Name;City\nAcme;Oulu\n", {"Name": "name", "Country": "country"}, ImportKind.accounts)
    assert "Country" in info.value.detail
    assert [e.field for e in info.value.errors] == ["mapping.Country"]


@pytest.mark.parametrize("text", ["", "\ufeff", "Name;City\n", "Name;City\n;\n\n"])
def test_file_without_data_rows(text: str) -> None:
    with pytest.raises(ImportFileError):
        parse_csv(text, {"Name": "name"}, ImportKind.accounts)


def test_sniff_delimiter() -> None:
    assert sniff_delimiter("a;b;c") == ";"
    assert sniff_delimiter("a,b,c") == ","
    assert sniff_delimiter('"Last, first";b;c') == ";"
    assert sniff_delimiter("a\tb") == "\t"
    assert sniff_delimiter("single") == ","


@pytest.mark.parametrize(
    ("text", "expected"), [("yes", True), ("TRUE", True), ("1", True), ("no", False), ("false", False), ("0", False)]
)
def test_parse_bool(text: str, expected: bool) -> None:
    assert parse_bool(text) is expected


def test_parse_bool_rejects_other_text() -> None:
    with pytest.raises(ValueError):
        parse_bool("perhaps")


def test_parse_date() -> None:
    assert parse_date("2024-03-31") == date(2024, 3, 31)
    assert parse_date("1.2.2024") == date(2024, 2, 1)
    assert parse_date("01.02.2024") == date(2024, 2, 1)
    with pytest.raises(ValueError):
        parse_date("31.2.2024")
    with pytest.raises(ValueError):
        parse_date("3/31/2024")


def test_account_rows_with_classes_and_status() -> None:
    text = "Nimi;Tila;Luokat;Maa\nAcme;ceased;k1; k2 ;fi\nBeta;Lopettanut;;\n"
    mapping = {"Nimi": "name", "Tila": "status", "Luokat": "classes", "Maa": "country"}
    rows = parse_csv(text, mapping, ImportKind.accounts)
    assert [(e.field, e.code) for e in rows[0].errors] == [("row", "too_many_cells")]  # unquoted ";" in a list
    quoted = 'Nimi;Tila;Luokat;Maa\nAcme;ceased;"k1; k2 ";fi\nBeta;Lopettanut;;\n'
    good, bad = parse_csv(quoted, mapping, ImportKind.accounts)
    assert isinstance(good.record, AccountCreate)
    assert (good.record.status, good.record.classes, good.record.country) == ("ceased", ["k1", "k2"], "FI")
    assert [(e.field, e.code) for e in bad.errors] == [("Tila", "invalid_code")]


@pytest.mark.parametrize(
    ("data", "asked", "text", "used"),
    [
        ("Etunimi\nMäkelä\n".encode(), None, "Etunimi\nMäkelä\n", "utf-8"),
        ("\ufeffEtunimi\nMäkelä\n".encode(), None, "Etunimi\nMäkelä\n", "utf-8"),
        ("Etunimi\nMäkelä \u2013 Åke €\n".encode("cp1252"), None, "Etunimi\nMäkelä \u2013 Åke €\n", "cp1252"),
        (b"Etunimi\nM\xe4kel\xe4 \x81\n", None, "Etunimi\nMäkelä \x81\n", "latin-1"),  # 0x81: not in cp1252
        ("Etunimi\nMäkelä\n".encode("latin-1"), "latin-1", "Etunimi\nMäkelä\n", "latin-1"),
    ],
)
def test_the_encoding_is_detected_or_taken_and_nothing_becomes_a_replacement_character(
    data: bytes, asked: str | None, text: str, used: str
) -> None:
    assert decode_csv(data, asked) == (text, used)  # type: ignore[arg-type]


def test_bytes_not_in_the_encoding_asked_for_fail_the_file() -> None:
    with pytest.raises(ImportFileError, match="not utf-8"):
        decode_csv("Mäkelä".encode("latin-1"), "utf-8")


def test_a_latin_1_file_imports_its_names_as_written() -> None:
    text, _ = decode_csv("Etunimi;Sukunimi\nÄnni;Mäkelä\n".encode("latin-1"))
    [row] = parse_csv(text, {"Etunimi": "first_name", "Sukunimi": "last_name"}, ImportKind.contacts)
    assert isinstance(row.record, ContactCreate)
    assert (row.record.first_name, row.record.last_name) == ("Änni", "Mäkelä")


@pytest.mark.parametrize("bad", ["Ann\x00", "Ann\x1b[31m", '"Ann\nSet"', "Ann\x85", "\x07"])
def test_control_characters_are_refused_per_field(bad: str) -> None:
    text = f"Etunimi,Sukunimi\n{bad},Aalto\nBea,Berg\n"
    first, second = parse_csv(text, {"Etunimi": "first_name", "Sukunimi": "last_name"}, ImportKind.contacts)
    assert first.record is None
    assert [(e.field, e.code) for e in first.errors] == [("Etunimi", "control_character")]
    assert "U+" in first.errors[0].message
    assert second.ok
