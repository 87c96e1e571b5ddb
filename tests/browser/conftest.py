"""One headless Chromium for the browser tests (Debian's ``chromium``, installed by
``make test`` when missing; Playwright drives it, it never downloads a browser of its own).

The browser lives for this module only: Playwright's sync API keeps an event loop running on
the test thread while it is open, and the rest of the suite needs that thread's loop free."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.support.console_env import ConsoleWorld, console_world
from tests.support.orders_env import OrderSandbox, order_sandbox

CHROMIUM = os.environ.get("ISTHMUS_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = os.environ.get("ISTHMUS_SCREENSHOTS")
"""A directory to save the main pages' screenshots in (``docs/console`` refreshes the README's)."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[OrderSandbox]:
    with order_sandbox() as running:
        yield running


@pytest.fixture(scope="module")
def world(
    sandbox: OrderSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsoleWorld]:
    with console_world(sandbox, tmp_path_factory.mktemp("console")) as running:
        yield running


@pytest.fixture
def context(browser: Browser, world: ConsoleWorld) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=world.base_url, viewport={"width": 1440, "height": 900})
    ctx.set_default_timeout(20_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
