"""A real headless browser for e2e tests: Debian's chromium through selenium (.ci/run installs
both); a machine without them fails the test unless KONTAKT_NO_BROWSER is set (then it skips)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = ("chromium", "chromium-browser")
DRIVER = "chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)


@contextmanager
def chromium() -> Iterator[Any]:
    """A selenium driver of headless chromium with a profile of its own, quit afterwards."""
    if os.environ.get("KONTAKT_NO_BROWSER"):
        pytest.skip("KONTAKT_NO_BROWSER is set")
    binary = next((path for path in map(shutil.which, CHROMIUM) if path), None)
    driver_path = shutil.which(DRIVER)
    if not binary or not driver_path:
        pytest.fail("chromium and chromedriver are needed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="kontakt-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
        driver.set_page_load_timeout(120)  # a cold start of the API function on a busy machine
        try:
            yield driver
        finally:
            driver.quit()
