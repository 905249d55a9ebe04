"""Fixtures of the console's tests: a real headless Chromium and a served simulator."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.served import ServedConsole

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL_HINT = (
    "the console's browser tests need Debian's Chromium and its driver: "
    "apt-get install -y chromium chromium-driver"
)
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".artifacts" / "console"
"""One screenshot per browser test (git-ignored; CI keeps it as an artifact)."""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Headless Chromium driven by selenium through the system chromedriver; nothing downloads."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: {INSTALL_HINT}", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path_factory.mktemp("chromium-profile")
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1400",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def served(browser: object) -> Iterator[ServedConsole]:
    console = ServedConsole().start()
    try:
        yield console
    finally:
        browser.get("about:blank")  # type: ignore[attr-defined]  # closes the event stream
        console.stop()


@pytest.fixture
def screenshot(
    browser: object, served: ServedConsole, request: pytest.FixtureRequest
) -> Iterator[None]:
    """Save what the browser shows at the end of the test (before ``served`` stops)."""
    yield
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{request.node.name}.png"))  # type: ignore[attr-defined]
