"""Fields that reach a mail's headers hold one line: a From name, a template's subject and a
contact's names with a line break (or another control character) are refused with a 422 naming
the field, and nothing is stored. Stored before this was refused, such a mail fails alone in the
sender (tests/integration/test_email_sender.py)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem

BREAKS = ["Shop\r\nBcc: all@evil.example", "Shop\nX", "Shop\rX", "Shop\x00X", "Shop\u2028X", "Shop\x85X"]


@pytest.mark.parametrize("name", BREAKS)
def test_a_from_name_holds_one_line(admin: Api, name: str) -> None:
    assert_problem(admin.put("/email/settings", json={"from_name": name}), 422, "from_name")
    assert admin.get("/email/settings").json().get("from_name") is None
    assert_problem(admin.put("/email/settings", json={"reply_to": ["a\x00b@example.com"]}), 422)
    accepted = admin.put("/email/settings", json={"from_name": "  Shop & Co  "})
    assert accepted.status_code == 200, accepted.text
    assert admin.get("/email/settings").json()["from_name"] == "Shop & Co"


def test_a_template_subject_holds_one_line(admin: Api) -> None:
    body = {"name": "News", "subject": "News\r\nBcc: all@evil.example", "html": "<p>Hi</p>"}
    assert_problem(admin.post("/email/templates", json=body), 422, "subject")
    assert admin.get("/email/templates").json()["items"] == []
    created = admin.post("/email/templates", json={**body, "subject": "News for {{ contact.first_name }}"})
    assert created.status_code == 201, created.text
    template = created.json()
    changed = admin.patch(f"/email/templates/{template['id']}", json={"subject": "A\nB"})
    assert_problem(changed, 422, "subject")
    assert admin.get(f"/email/templates/{template['id']}").json()["subject"] == "News for {{ contact.first_name }}"


def test_a_contact_s_names_hold_one_line(admin: Api) -> None:
    for field in ("first_name", "last_name"):
        body = {"first_name": "Ann", "last_name": "Reader", "email": "ann@example.com", field: "Ann\r\nBcc: x@y.fi"}
        assert_problem(admin.post("/contacts", json=body), 422, field)
    assert admin.get("/contacts").json()["items"] == []
    created = admin.post("/contacts", json={"first_name": "Ann", "last_name": "Reader"})
    assert created.status_code == 201, created.text
    contact = created.json()
    for field in ("first_name", "last_name"):
        assert_problem(admin.patch(f"/contacts/{contact['id']}", json={field: "Ann\tX"}), 422, field)
    assert_problem(admin.post("/contacts", json={"first_name": "Ann", "email": "ann\x00x@example.com"}), 422, "email")
    stored = admin.get(f"/contacts/{contact['id']}").json()
    assert (stored["first_name"], stored["last_name"]) == ("Ann", "Reader")
