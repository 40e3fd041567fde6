"""CSV import of contacts: job, presigned upload to the emulator's S3, per-row report, upsert."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from infra.runtime import LocalRuntime
from tests.e2e.helpers import assert_problem, settle, walk

if TYPE_CHECKING:
    from conftest import Api

MAPPING = {"Etunimi": "first_name", "Sukunimi": "last_name", "Sähköposti": "email", "Alue": "region"}


def _import(stack: LocalRuntime, admin: Api, csv_bytes: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    created = admin.post("/imports", json={"kind": "contacts", "mapping": MAPPING})
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
    assert_problem(admin.post("/imports", json={"kind": "invoices", "mapping": {"A": "email"}}), 422, "kind")
