"""SMS through `kontakt dev`: the tenant's settings and activation, credits and their ledger, and
what a text costs (issue 19 items 1 and 2)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from infra import devpage
from infra.runtime import LocalRuntime
from tests.e2e.conftest import Api
from tests.e2e.helpers import assert_problem, walk


def test_sms_is_off_until_an_admin_activates_it(admin: Api, tenant: str) -> None:
    settings = admin.get("/sms/settings").json()
    assert settings["active"] is False and settings["max_parts"] == 6 and settings["smart_encoding"] is False

    user = admin.as_(tenant, "user-1", "user")
    assert user.get("/sms/settings").json() == settings
    assert_problem(user.patch("/sms/settings", json={"active": True}), 403)

    changed = admin.patch(
        "/sms/settings",
        json={"active": True, "sender_id": "Kontakt Oy", "window": {"start": "09:00", "end": "20:00"}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["active"] is True and changed.json()["window"]["time_zone"] == "Europe/Helsinki"
    assert admin.get("/sms/settings").json()["sender_id"] == "Kontakt Oy"
    removed = admin.patch("/sms/settings", json={"window": None}).json()
    assert removed["window"] is None and removed["sender_id"] == "Kontakt Oy"


def test_bad_settings_name_the_field_and_change_nothing(admin: Api) -> None:
    before = admin.get("/sms/settings").json()
    assert_problem(admin.patch("/sms/settings", json={"sender_id": "A much too long sender"}), 422, "sender_id")
    assert_problem(admin.patch("/sms/settings", json={"default_country": "XX"}), 422, "default_country")
    assert_problem(admin.patch("/sms/settings", json={"max_parts": 11}), 422, "max_parts")
    assert_problem(admin.patch("/sms/settings", json={"active": None}), 422, "active")
    empty = {"start": "09:00", "end": "09:00"}  # (an end before the start crosses midnight: allowed)
    assert_problem(admin.patch("/sms/settings", json={"window": empty}), 422, "window")
    # STOP always opts out: it cannot also be a help word.
    assert_problem(admin.patch("/sms/settings", json={"help_keywords": ["stop"]}), 422, "help_keywords")
    assert admin.get("/sms/settings").json() == before


def test_top_ups_add_to_the_balance_and_the_ledger_lists_them(admin: Api, tenant: str) -> None:
    assert admin.get("/sms/balance").json() == {"available": 0, "reserved": 0, "charged": 0}
    first = admin.post("/sms/credits", json={"credits": 100, "note": "Order 1"})
    assert first.status_code == 201, first.text
    assert first.headers["Location"].endswith(f"/sms/ledger/{first.json()['id']}")
    admin.post("/sms/credits", json={"credits": 50})
    assert admin.get("/sms/balance").json() == {"available": 150, "reserved": 0, "charged": 0}

    entries = walk(admin, "/sms/ledger")
    assert [(e["type"], e["credits"], e["note"]) for e in entries] == [("top_up", 100, "Order 1"), ("top_up", 50, "")]
    assert admin.get(f"/sms/ledger/{entries[0]['id']}").json() == entries[0]

    user = admin.as_(tenant, "user-1", "user")
    assert user.get("/sms/balance").json()["available"] == 150  # anyone sees what is left
    assert_problem(user.post("/sms/credits", json={"credits": 1000}), 403)
    assert_problem(user.get("/sms/ledger"), 403)
    assert_problem(admin.post("/sms/credits", json={"credits": 0}), 422, "credits")
    assert_problem(admin.post("/sms/credits", json={"credits": 1_000_001}), 422, "credits")
    assert admin.get("/sms/balance").json()["available"] == 150


def test_concurrent_top_ups_are_all_counted(admin: Api) -> None:
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda n: admin.post("/sms/credits", json={"credits": n}).status_code, range(1, 21)))
    assert answers == [201] * 20
    assert admin.get("/sms/balance").json()["available"] == sum(range(1, 21))
    assert len(walk(admin, "/sms/ledger", limit=200)) == 20


def test_another_tenant_sees_neither_the_balance_nor_the_ledger(api: Api, admin: Api) -> None:
    entry = admin.post("/sms/credits", json={"credits": 10}).json()
    stranger = api.as_("other-" + entry["id"].lower()[:12], "admin-1", "admin")
    assert stranger.get("/sms/balance").json()["available"] == 0
    assert_problem(stranger.get(f"/sms/ledger/{entry['id']}"), 404)
    assert stranger.get("/sms/ledger").json()["items"] == []


def test_a_preview_counts_encoding_parts_and_credits(admin: Api) -> None:
    gsm = admin.post("/sms/preview", json={"text": "a" * 152 + "€" + "b" * 10}).json()
    assert (gsm["encoding"], gsm["units"], gsm["parts"], gsm["credits"]) == ("GSM-7", 164, 2, 2)
    assert gsm["part_texts"] == ["a" * 152, "€" + "b" * 10] and gsm["over_limit"] is False

    typographic = "\u201cTervetuloa\u201d \u2013 n\u00e4hd\u00e4\u00e4n"
    ucs2 = admin.post("/sms/preview", json={"text": typographic}).json()
    assert (ucs2["encoding"], ucs2["replaced"]) == ("UCS-2", False)
    admin.patch("/sms/settings", json={"smart_encoding": True, "max_parts": 1})
    smart = admin.post("/sms/preview", json={"text": typographic}).json()
    assert (smart["encoding"], smart["text"], smart["replaced"]) == ("GSM-7", '"Tervetuloa" - nähdään', True)
    long = admin.post("/sms/preview", json={"text": "x" * 161}).json()
    assert (long["parts"], long["max_parts"], long["over_limit"]) == (2, 1, True)

    assert_problem(admin.post("/sms/preview", json={"text": "   "}), 422, "text")
    assert_problem(admin.post("/sms/preview", json={"text": "x" * 1601}), 422, "text")


def test_the_local_console_lists_the_sms_the_emulator_accepted(stack: LocalRuntime) -> None:
    sms = stack.cached_client("pinpoint-sms-voice-v2")
    names = [s["ConfigurationSetName"] for s in sms.describe_configuration_sets()["ConfigurationSets"]]
    assert names == ["kontakt-dev-sms"]  # template.yaml's SmsConfigurationSet, provisioned
    sent = sms.send_text_message(
        DestinationPhoneNumber="+358401112223", OriginationIdentity="Kontakt", MessageBody="<b>Hei</b>"
    )
    listed = requests.get(stack.api_url + "/dev/sms", params={"limit": 5}, timeout=10).json()
    assert (listed[0]["message_id"], listed[0]["to"], listed[0]["text"]) == (
        sent["MessageId"],
        "+358401112223",
        "<b>Hei</b>",
    )
    [panel] = [p for p in devpage.state(stack)["panels"] if p["name"] == "sms"]
    assert panel["title"] == "Sent SMS" and panel["data"][0]["message_id"] == sent["MessageId"]
