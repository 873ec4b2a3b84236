"""Fixtures for the real-browser tests: headless Chromium (Playwright) against JupyterLab and
Voila servers that serve a temporary copy of ``notebooks/``.

* ``browser``: one Chromium for the session. Without Chromium or Playwright the tests skip
  with an install hint, except in CI (``CI=true``), where that is a failure.
* ``lab``: a fresh JupyterLab per test; ``voila_app(name)``: a fresh Voila app per call
  (``voila_app(".")``: the whole folder).
  Every server is stopped with its whole process group (kernels included); one that does
  not come up fails the test with its log.
* ``page``: a browser page; its screenshot is saved in the test's tmp folder at the end,
  pass or fail, and the server logs are printed when the test failed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _lab_servers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    INSTALL_HINT,
    Server,
    ServerError,
    browser_problem,
    copy_notebooks,
    start_lab,
    start_voila,
)
from _pages import KERNEL_IDLE_TIMEOUT_MS


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the item, so fixtures can see whether the test failed."""
    report = yield
    setattr(item, f"_browser_report_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(getattr(request.node, f"_browser_report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    problem = browser_problem()
    if problem:
        if in_ci():
            pytest.fail(f"{problem}; CI=true, so the browser tests must run: {INSTALL_HINT}")
        pytest.skip(f"{problem}: {INSTALL_HINT}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def servers(request: pytest.FixtureRequest) -> Iterator[list[Server]]:
    """The servers a test started; all stopped at the end, their logs printed on failure."""
    started: list[Server] = []
    yield started
    failed = _failed(request)
    for server in started:
        server.stop()
        if failed:
            print(f"--- {server.name} log ({server.log}) ---\n{server.log_text()}")


def _start_or_fail(start: Callable[[], Server], servers: list[Server]) -> Server:
    try:
        server = start()
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    servers.append(server)
    return server


@pytest.fixture
def lab(tmp_path: Path, servers: list[Server]) -> Server:
    """A JupyterLab serving a fresh copy of the notebooks (Lab autosaves into it)."""
    root = copy_notebooks(tmp_path / "notebooks")
    return _start_or_fail(lambda: start_lab(root, tmp_path), servers)


@pytest.fixture
def voila_app(tmp_path: Path, servers: list[Server]) -> Callable[[str], Server]:
    """``voila_app("00_start_here.ipynb")`` serves that notebook (from a fresh copy) as an
    app; ``voila_app(".")`` serves the whole folder, as ``voila notebooks/`` does."""

    def start(name: str) -> Server:
        root = copy_notebooks(tmp_path / "notebooks")
        target = root if name == "." else root / name
        return _start_or_fail(lambda: start_voila(target, tmp_path), servers)

    return start


@pytest.fixture
def page(
    browser, servers: list[Server], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[object]:
    """A fresh page; ``page.console_errors`` collects console errors and uncaught exceptions.

    Its screenshot goes to ``<tmp_path>/<test name>.png`` when the test ends, before the
    servers stop (``servers`` is set up first, so it is torn down last).
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(KERNEL_IDLE_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.console_errors = errors
    yield page
    shot = tmp_path / (re.sub(r"[^\w.-]+", "_", request.node.name) + ".png")
    try:
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
    except Exception as exc:  # a crashed page must not hide the test's own failure
        print(f"no screenshot ({exc})")
    if _failed(request) and errors:
        print("--- browser console errors ---\n" + "\n".join(errors))
    context.close()
