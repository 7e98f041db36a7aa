"""Fixtures for the browser tests (`make test-browser`): Debian's chromium driven by Playwright, network
blocked.

These tests live outside `tests/` so that `make test-unit` never needs a browser; here a missing browser is an
error (with the command that installs it), never a skip.
"""
import pytest

from browser_utils import chromium_path, offline_context


@pytest.fixture(scope="session")
def browser():
    "Headless Chromium for the whole session."
    from playwright.sync_api import sync_playwright
    exe = chromium_path()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def offline(browser):
    "A fresh browser context that may only talk to localhost; `ctx.offline.blocked` lists what else it tried."
    ctx = offline_context(browser)
    yield ctx
    ctx.close()
