"""The unsubscribe landing page in a real headless browser (Debian's chromium through selenium):
a recipient opens the link of a mail, unsubscribes, sees it confirmed, subscribes again.

CI installs chromium (.ci/run); a machine without it fails here unless KONTAKT_NO_BROWSER is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra.runtime import LocalRuntime
from tests.e2e.browser import chromium
from tests.e2e.conftest import Api
from tests.e2e.email.helpers import opted_out, unsubscribe_link_token
from tests.e2e.helpers import new_tenant


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


def _text(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    found = WebDriverWait(driver, 60).until(expected_conditions.presence_of_element_located((By.ID, element_id)))
    return str(found.text)


def _click(driver: Any, element_id: str) -> None:
    """Click and wait for the form's answer to replace the page. A marker on the old window object
    tells the documents apart; chromedriver's staleness check raises its own inspector error when
    the old node goes away mid-check, so no element of the old page is touched after the click."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.kontaktOldPage = true;")
    WebDriverWait(driver, 60).until(expected_conditions.element_to_be_clickable((By.ID, element_id))).click()
    # a script run while the page is swapped may fail with the old context gone: try again
    WebDriverWait(driver, 120, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return !window.kontaktOldPage && document.readyState === 'complete';")
    )


def test_a_recipient_unsubscribes_and_subscribes_again_in_the_browser(
    browser: Any, stack: LocalRuntime, api: Api
) -> None:
    tenant = new_tenant()
    admin = api.as_(tenant, "admin-1", "admin")
    assert admin.get("/email/list-types").status_code == 200  # the tenant's list types exist
    token = unsubscribe_link_token(stack, tenant, "Ann.Reader@Example.com", "marketing", contact_id="c-ann")

    browser.get(f"{stack.api_url}/u/{token}")
    assert _text(browser, "address") == "an***@example.com"
    assert browser.find_element("tag name", "h1").text == "Marketing"
    assert _text(browser, "state") == "You receive these emails."

    _click(browser, "unsubscribe")
    assert _text(browser, "note") == "You have been unsubscribed."
    assert _text(browser, "state") == "You do not receive these emails."
    assert "ann.reader@example.com" in opted_out(admin, "marketing")
    assert "ann.reader@example.com" not in opted_out(admin, "service-notices")  # the other list still goes

    _click(browser, "subscribe")
    assert _text(browser, "note") == "You have subscribed again."
    assert _text(browser, "state") == "You receive these emails."
    assert "ann.reader@example.com" not in opted_out(admin, "marketing")

    browser.get(f"{stack.api_url}/u/{token[:-2]}xx")  # an altered link shows no page of anyone's
    assert "not valid" in browser.page_source
    assert not browser.find_elements("id", "unsubscribe")


def test_the_docs_page_renders_under_its_content_security_policy(browser: Any, stack: LocalRuntime) -> None:
    """Swagger UI is one page of inline script and style: its CSP (shared/api.py) must let it run."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{stack.api_url}/email/docs")
    title = WebDriverWait(browser, 60).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".swagger-ui .info .title"))
    )
    assert "Kontakt email" in title.text
    assert browser.find_elements(By.CSS_SELECTOR, ".opblock")  # the operations, drawn by the script
