"""The documentation website in headless Chromium, served from 127.0.0.1: every notebook page
shows its figures, its math is typeset by the bundled MathJax, and no request leaves the
local server (anything else is aborted and reported).

The site is the one ``tests/test_docs.py`` builds (once per session, ``build_docs``). The
file is not named test_docs.py: two test modules of one name in tests/ and tests/browser/
cannot both be imported by pytest.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_docs import NOTEBOOKS, DocsBuild, build_docs, docs_folder, png_outputs

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PAGE_TIMEOUT_MS = 60_000


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> DocsBuild:
    build = build_docs(docs_folder(tmp_path_factory))
    if build.returncode != 0:
        pytest.fail(f"bash docs/build.sh failed:\n{build.output[-6000:]}", pytrace=False)
    return build


@pytest.fixture(scope="module")
def site_url(site: DocsBuild) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1 (a free port), for this module's tests."""
    handler = functools.partial(_QuietHandler, directory=str(site.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class Visit:
    """A page in its own context; every request that is not for the local server is aborted
    and kept in ``remote``, and every failed or 4xx/5xx local request in ``failed``."""

    def __init__(self, browser, tmp_path: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(PAGE_TIMEOUT_MS)
        self.remote: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("response", self._response)
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.tmp_path = tmp_path

    def _route(self, route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.remote.append(url)
            route.abort()

    def _response(self, response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.url} (HTTP {response.status})")

    def open(self, url: str) -> None:
        self.page.goto(url, wait_until="load")

    def close(self, name: str) -> None:
        try:
            self.page.screenshot(path=str(self.tmp_path / f"{name}.png"))
        finally:
            self.context.close()

    def assert_stayed_local(self) -> None:
        assert not self.remote, f"requests that left localhost: {self.remote}"
        assert not self.failed, f"failed requests: {self.failed}"
        assert not self.errors, f"console errors: {self.errors}"


@pytest.fixture
def visit(browser, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Visit]:
    v = Visit(browser, tmp_path)
    yield v
    v.close(request.node.name.replace("/", "_").replace("[", "_").replace("]", ""))


IMAGES_JS = """() => Array.from(document.querySelectorAll('img')).map(img => ({
    src: img.getAttribute('src'), complete: img.complete, width: img.naturalWidth,
    output: img.closest('.cell_output') !== null}))"""
# Every math element holds a MathJax container once typesetting is done, and none shows a
# TeX error (merror).
MATH_DONE_JS = """() => {
    const maths = document.querySelectorAll('.math');
    if (maths.length === 0) return {maths: 0};
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return null;
    return MathJax.startup.promise.then(() => ({
        maths: maths.length,
        typeset: Array.from(maths).filter(m => m.querySelector('mjx-container')).length,
        errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
    }));
}"""


def has_markdown_math(path: Path) -> bool:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return any(c["cell_type"] == "markdown" and "$" in "".join(c["source"]) for c in cells)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_page_shows_its_figures_and_math(
    notebook: Path, site_url: str, visit: Visit
) -> None:
    visit.open(f"{site_url}/notebooks/{notebook.stem}.html")
    page = visit.page
    page.wait_for_function(
        "() => Array.from(document.images).every(img => img.complete)", timeout=PAGE_TIMEOUT_MS
    )
    images = page.evaluate(IMAGES_JS)
    broken = [img["src"] for img in images if img["width"] == 0]
    assert not broken, f"images that did not load: {broken}"
    outputs = [img for img in images if img["output"]]
    assert len(outputs) >= png_outputs(notebook), (
        f"{len(outputs)} figures on the page, {png_outputs(notebook)} PNG outputs stored"
    )
    math = page.wait_for_function(MATH_DONE_JS, timeout=PAGE_TIMEOUT_MS).json_value()
    if has_markdown_math(notebook):
        assert math["maths"] > 0, "the notebook has $math$, the page none"
    if math["maths"]:
        assert math["typeset"] == math["maths"], f"math not typeset by MathJax: {math}"
        assert math["errors"] == 0, f"MathJax shows TeX errors: {math}"
        assert page.locator("mjx-container").count() >= math["maths"]
    visit.assert_stayed_local()


def test_index_and_api_pages_load_locally(site_url: str, visit: Visit) -> None:
    visit.open(f"{site_url}/index.html")
    hrefs = visit.page.eval_on_selector_all("a", "els => els.map(a => a.getAttribute('href'))")
    for notebook in NOTEBOOKS:
        assert f"notebooks/{notebook.stem}.html" in hrefs, f"index lacks {notebook.name}"
    assert "api/index.html" in hrefs
    visit.open(f"{site_url}/api/addressing.html")
    assert visit.page.locator("dl.py.function").count() > 0, "no functions documented"
    visit.open(f"{site_url}/search.html?q=sharpen")
    visit.page.wait_for_selector("#search-results li", timeout=PAGE_TIMEOUT_MS)
    visit.assert_stayed_local()
