"""CSV import of contacts: job, presigned upload to the emulator's S3, per-row report, upsert."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from infra.runtime import LocalRuntime
from tests.e2e.helpers import assert_problem, settle, walk

if TYPE_CHECKING:
    from conftest import Api

MAPPING = {"Etunimi": "first_name", "Sukunimi": "last_name", "Sähköposti": "email", "Alue": "region"}


def _import(
    stack: LocalRuntime, admin: Api, csv_bytes: bytes, **asked: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    created = admin.post("/imports", json={"kind": "contacts", "mapping": MAPPING, **asked})
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["status"] == "awaiting_upload"
    upload = job["upload"]
    put = requests.request(upload["method"], upload["url"], data=csv_bytes, headers=upload["headers"], timeout=30)
    assert put.status_code == 200, put.text

    def done() -> dict[str, Any] | None:
        current = admin.get(f"/imports/{job['id']}").json()
        return current if current["status"] in ("completed", "failed") else None

    finished = settle(stack, done)
    assert finished, admin.get(f"/imports/{job['id']}").text
    rows = walk(admin, f"/imports/{job['id']}/rows", limit=50)
    return finished, rows


def test_csv_import_creates_then_updates(stack: LocalRuntime, admin: Api) -> None:
    first = (
        "Etunimi,Sukunimi,Sähköposti,Alue\n"
        "Anna,Aalto,anna@example.fi,north\n"
        "Bert,Berg,not-an-email,south\n"
        "Cara,Carlsson,cara@example.fi,nowhere\n"
        "Dan,Dahl,dan@example.fi,\n"
    ).encode()
    job, rows = _import(stack, admin, first)
    assert job["status"] == "completed", job
    assert (job["created"], job["updated"], job["rejected"]) == (2, 0, 2)
    by_row = {r["row"]: r for r in rows}
    assert [by_row[n]["outcome"] for n in (1, 2, 3, 4)] == ["created", "rejected", "rejected", "created"]
    assert [e["field"] for e in by_row[2]["errors"]] == ["Sähköposti"]
    assert [e["field"] for e in by_row[3]["errors"]] == ["Alue"]
    contacts = {c["email"]: c for c in walk(admin, "/contacts", limit=50)}
    assert set(contacts) == {"anna@example.fi", "dan@example.fi"}  # nothing of the rejected rows
    assert contacts["anna@example.fi"]["region"] == "north"
    assert by_row[1]["record_id"] == contacts["anna@example.fi"]["id"]

    # The same emails again, `;`-delimited with a BOM: updates, not duplicates.
    second = (
        "\ufeffEtunimi;Sukunimi;Sähköposti;Alue\nAnna;Aalto-Virta;ANNA@example.fi;south\nEve;Ek;eve@example.fi;west\n"
    )
    job, rows = _import(stack, admin, second.encode("utf-8"))
    assert (job["status"], job["created"], job["updated"], job["rejected"]) == ("completed", 1, 1, 0)
    assert [r["outcome"] for r in sorted(rows, key=lambda r: r["row"])] == ["updated", "created"]
    contacts = {c["email"].casefold(): c for c in walk(admin, "/contacts", limit=50)}
    assert set(contacts) == {"anna@example.fi", "dan@example.fi", "eve@example.fi"}
    anna = contacts["anna@example.fi"]
    assert anna["last_name"] == "Aalto-Virta" and anna["region"] == "south"
    assert anna["number"] == "CON-1001" and anna["version"] == 2


def test_bad_mapping_is_422_naming_the_header(admin: Api) -> None:
    response = admin.post("/imports", json={"kind": "contacts", "mapping": {"Email": "email", "Salasana": "password"}})
    assert_problem(response, 422, "mapping.Salasana")
    twice = admin.post("/imports", json={"kind": "contacts", "mapping": {"A": "email", "B": "email"}})
    assert_problem(twice, 422, "mapping.B")
    assert_problem(admin.post("/imports", json={"kind": "contacts", "mapping": {}}), 422, "mapping")
    empty_header = admin.post("/imports", json={"kind": "contacts", "mapping": {"": "email"}})
    assert empty_header.status_code == 422, empty_header.text  # no column; and it stalled the local outbox
    assert empty_header.json()["errors"][0]["field"].startswith("mapping")
    assert_problem(admin.post("/imports", json={"kind": "invoices", "mapping": {"A": "email"}}), 422, "kind")


def test_a_windows_1252_file_imports_its_letters_and_says_which_encoding_it_read(
    stack: LocalRuntime, admin: Api
) -> None:
    data = "Etunimi;Sukunimi;Sähköposti;Alue\nÄnni;Mäkelä-Öhman;anni@example.fi;north\n".encode("cp1252")
    job, _ = _import(stack, admin, data)
    assert (job["status"], job["created"], job["encoding"]) == ("completed", 1, "cp1252"), job
    [contact] = walk(admin, "/contacts", limit=50)
    assert (contact["first_name"], contact["last_name"]) == ("Änni", "Mäkelä-Öhman")
    job, _ = _import(
        stack, admin, "Etunimi;Sukunimi;Sähköposti;Alue\nÅke;Åberg;;\n".encode("latin-1"), encoding="latin-1"
    )
    assert (job["status"], job["created"], job["encoding"]) == ("completed", 1, "latin-1"), job
    assert {c["first_name"] for c in walk(admin, "/contacts", limit=50)} == {"Änni", "Åke"}
    job, _ = _import(stack, admin, "Etunimi;Sukunimi;Sähköposti;Alue\nÅke;Berg;;\n".encode("latin-1"), encoding="utf-8")
    assert job["status"] == "failed" and "not utf-8" in job["error"], job


def test_control_characters_reject_their_row_naming_the_column(stack: LocalRuntime, admin: Api) -> None:
    header = "Etunimi,Sukunimi,Sähköposti,Alue\n".encode()
    data = header + b'"Ann\r\nBcc: x",Aalto,ann@example.fi,\nBea\x1b,Berg,,\nCid,Cox,,\n'
    job, rows = _import(stack, admin, data)
    assert (job["status"], job["created"], job["rejected"]) == ("completed", 1, 2), job
    by_row = {r["row"]: r for r in rows}
    assert [(e["field"], e["code"]) for e in by_row[1]["errors"]] == [("Etunimi", "control_character")]
    assert [(e["field"], e["code"]) for e in by_row[2]["errors"]] == [("Etunimi", "control_character")]
    assert [c["first_name"] for c in walk(admin, "/contacts", limit=50)] == ["Cid"]


def test_a_file_over_20_mb_fails_as_too_large(stack: LocalRuntime, admin: Api) -> None:
    header = "Etunimi;Sukunimi;Sähköposti;Alue\n".encode()
    job, rows = _import(stack, admin, header + b"Ann;Aalto;;\n" * (29 * 1024 * 1024 // 12))
    assert job["status"] == "failed" and "too large" in job["error"], job
    assert "empty" not in job["error"] and rows == []
