"""The local console page [issue 17 "A local console page"]: `/dev` on the local gateway shows the
last events on the bus with their consumers' outcome, sent mail (rendered sandboxed, and its raw
source), the queues' depths and dead letters and the scheduled jobs, refreshing by itself; a panel
is one registration (infra/devpage.py). Read as the developer does: /dev/api/state, and the page
in a real headless browser.

The worker's shared runtime (it keeps a mail folder): a contact created over HTTP and a mail asked
for happen once for the module, before the tests look.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from infra import devpage
from infra.runtime import LocalRuntime
from tests.e2e.browser import chromium
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import request_mail
from tests.e2e.helpers import new_tenant

WAIT = 120  # cold starts on a busy machine


@pytest.fixture(scope="module")
def runtime(stack: LocalRuntime) -> LocalRuntime:
    """The worker's shared runtime, which keeps a mail folder (tests/e2e/conftest.py)."""
    return stack


@pytest.fixture(scope="module")
def happened(runtime: LocalRuntime) -> dict[str, str]:
    """A contact created over HTTP (contact.created on the bus), a copy of it merged into it, a scan
    of the tenant's contacts started, and a mail asked for and sent."""
    tenant = new_tenant()
    admin = Api(runtime, runtime.token(tenant, "admin-1", "admin"))
    response = admin.post("/contacts", json={"first_name": "Pia", "email": "pia@example.com"})
    assert response.status_code == 201, response.text
    survivor = response.json()["id"]
    copy = admin.post("/contacts", json={"first_name": "Pia", "email": "PIA@example.com"})
    assert copy.status_code == 201, copy.text
    merge = {"entity": "contacts", "survivor_id": survivor, "merged_ids": [copy.json()["id"]]}
    merged = admin.post("/duplicates/merge", json=merge)
    assert merged.status_code == 200, merged.text
    scan = admin.post("/duplicates/scans", json={"entity": "contacts"})
    assert scan.status_code == 202, scan.text
    subject = f"Your invoice <b>{tenant}</b>"  # markup in a subject is shown as text
    message_id = request_mail(runtime, tenant, to="Pia@Example.com", subject=subject, list_type_id="service-notices")
    return {
        "tenant": tenant,
        "contact": survivor,
        "merged": copy.json()["id"],
        "merge": merged.json()["merge_id"],
        "scan": scan.json()["id"],
        "subject": subject,
        "message_id": message_id,
    }


def _state(runtime: LocalRuntime) -> dict[str, Any]:
    response = requests.get(f"{runtime.api_url}/dev/api/state", timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    return {panel["name"]: panel for panel in response.json()["panels"]}


def _until(found: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := found()) and time.monotonic() < deadline:
        time.sleep(0.3)
    return value


def _delivered_contact_event(runtime: LocalRuntime, tenant: str) -> dict[str, Any] | None:
    rows = _state(runtime)["events"]["data"]
    return next(
        (
            e
            for e in rows
            if e["type"] == "contact.created"
            and e["tenant"] == tenant
            and any(c["outcome"] == "delivered" for c in e["consumers"])
        ),
        None,
    )


def test_the_state_shows_events_with_their_deliveries_mail_queues_and_schedules(
    runtime: LocalRuntime, happened: dict[str, str]
) -> None:
    event = _until(lambda: _delivered_contact_event(runtime, happened["tenant"]))
    assert event, _state(runtime)["events"]
    assert event["source"] and event["id"] and event["time"].endswith("Z")
    delivery = next(c for c in event["consumers"] if c["outcome"] == "delivered")
    assert delivery["function"] in runtime.stack.functions and delivery["ms"] > 0  # type: ignore[union-attr]

    mails = _until(lambda: [m for m in _state(runtime)["mail"]["data"]["mails"] if m["subject"] == happened["subject"]])
    assert mails and mails[0]["to"] == "pia@example.com" and mails[0]["file"].endswith(".eml")

    def scanned() -> dict[str, Any] | None:
        duplicates = _state(runtime)["duplicates"]["data"]
        scans = [s for s in duplicates["scans"] if s["id"] == happened["scan"] and s["state"] == "completed"]
        return scans and {"scan": scans[0], "merges": [m for m in duplicates["merges"] if m["id"] == happened["merge"]]}

    duplicates = _until(scanned)
    assert duplicates, _state(runtime)["duplicates"]
    scan = duplicates["scan"]
    assert (scan["tenant"], scan["entity"], scan["records read"], scan["groups found"]) == (
        happened["tenant"],
        "contacts",
        1,  # the survivor: the merged copy is gone
        0,
    )
    [merge] = duplicates["merges"]
    assert (merge["tenant"], merge["entity"], merge["survivor"], merge["merged"]) == (
        happened["tenant"],
        "contacts",
        happened["contact"],
        [happened["merged"]],
    )
    assert merge["time"].startswith("20") and scan["finished"]

    state = _state(runtime)
    queues = {q["queue"]: q for q in state["queues"]["data"]}
    feedback = [q for q in queues.values() if q["consumer"] and q["dead-letter queue"]]
    assert feedback and all(isinstance(q["dead letters"], int) and q["waiting"] >= 0 for q in feedback)
    assert not any(name in queues for q in feedback for name in [q["dead-letter queue"]])  # a DLQ is no row
    schedules = state["schedules"]["data"]
    assert schedules and all(s["next"] or not s["enabled"] for s in schedules if s["kind"] != "scheduler")
    assert [p for p in state if p in ("events", "mail", "queues", "schedules")] == [
        "events",
        "mail",
        "queues",
        "schedules",
    ]


def test_a_registered_panel_is_served_and_a_failing_one_says_why(runtime: LocalRuntime) -> None:
    devpage.register_panel("test-sms", "Sent SMS", lambda rt: [{"to": "+358401234567", "text": "<b>hi</b>"}])
    devpage.register_panel("test-broken", "Broken", lambda rt: 1 / 0, render="(data, h) => h.el('p', {}, 'x')")
    try:
        state = _state(runtime)
        assert state["test-sms"] == {
            "name": "test-sms",
            "title": "Sent SMS",
            "data": [{"to": "+358401234567", "text": "<b>hi</b>"}],
        }
        assert state["test-broken"]["error"] == "ZeroDivisionError: division by zero"
        script = requests.get(f"{runtime.api_url}/dev/page.js", timeout=30).text
        assert "K.renders[\"test-broken\"] = ((data, h) => h.el('p', {}, 'x'));" in script
    finally:
        devpage.unregister_panel("test-sms")
        devpage.unregister_panel("test-broken")
    assert "test-sms" not in _state(runtime)
    with pytest.raises(ValueError):
        devpage.register_panel("Bad Name", "x", lambda rt: None)


def test_the_page_answers_this_machine_only_under_a_strict_policy(runtime: LocalRuntime) -> None:
    page = requests.get(f"{runtime.api_url}/dev", timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert '<script src="/dev/page.js"' in page.text
    elsewhere = requests.get(f"{runtime.api_url}/dev/api/state", headers={"Host": "evil.example:80"}, timeout=30)
    assert elsewhere.status_code == 403


def test_the_page_shows_the_event_and_the_mail_by_itself_in_a_browser(
    runtime: LocalRuntime, happened: dict[str, str]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    devpage.register_panel("test-sms", "Sent SMS", lambda rt: [{"to": "+358401234567", "text": "<b>hi</b>"}])
    try:
        with chromium() as browser:
            browser.get(f"{runtime.api_url}/dev")  # before the contact's event is delivered, maybe: it refreshes

            def row_of(driver: Any) -> Any:
                rows = driver.find_elements(By.CSS_SELECTOR, "#panel-events tbody tr")
                return next(
                    (
                        r
                        for r in rows
                        if "contact.created" in r.text and happened["tenant"] in r.text and "delivered" in r.text
                    ),
                    None,
                )

            row = WebDriverWait(browser, WAIT).until(row_of)
            assert row.find_elements(By.CSS_SELECTOR, ".delivery.delivered")

            def mail_of(driver: Any) -> Any:
                rows = driver.find_elements(By.CSS_SELECTOR, "#panel-mail tbody tr")
                return next((r for r in rows if happened["subject"] in r.text), None)

            mail = WebDriverWait(browser, WAIT).until(mail_of)
            mail.click()  # the newest mail shows first; this one shows once chosen
            frame = WebDriverWait(browser, 30).until(
                lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, "#panel-mail iframe.mail-html")), None)
            )
            assert frame.get_attribute("sandbox") == ""  # no scripts, no same origin
            assert frame.get_attribute("src").endswith("/html")
            source = WebDriverWait(browser, 30).until(
                lambda d: (
                    (text := d.find_element(By.CSS_SELECTOR, "#panel-mail pre.mail-source").text)
                    and f"<{happened['message_id']}@kontakt>" in text
                    and text
                )
            )
            assert "Subject:" in source
            browser.switch_to.frame(frame)
            assert WebDriverWait(browser, 30).until(lambda d: d.find_element(By.TAG_NAME, "body").text.strip())
            browser.switch_to.default_content()

            dead_letters = browser.find_elements(By.CSS_SELECTOR, "#panel-queues td[data-column='dead letters']")
            assert dead_letters and all(cell.text in ("", "0") for cell in dead_letters)
            assert browser.find_elements(By.CSS_SELECTOR, "#panel-schedules tbody tr")
            merges = WebDriverWait(browser, 30).until(
                lambda d: [
                    c for c in d.find_elements(By.CSS_SELECTOR, "#panel-duplicates td") if c.text == happened["merged"]
                ]
            )
            assert merges  # the Duplicates panel draws the merge (its render ran)
            sms = WebDriverWait(browser, 30).until(
                lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, "#panel-test-sms td[data-column=text]")), None)
            )
            assert sms.text == "<b>hi</b>" and not sms.find_elements(By.TAG_NAME, "b")  # text, never markup
            assert not browser.find_elements(By.CSS_SELECTOR, "#panel-mail td b")
            assert browser.find_element(By.ID, "status").text.startswith("updated")
    finally:
        devpage.unregister_panel("test-sms")
