"""notebooks/00_start_here.ipynb: the tour's links, and the page as a Voila app."""

from __future__ import annotations

import json
import re

from _lab_servers import NOTEBOOKS
from _pages import WIDGET_TIMEOUT_MS, Explorer, explorer_with

START = "00_start_here.ipynb"


def linked_notebooks() -> set[str]:
    cells = json.loads((NOTEBOOKS / START).read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return set(re.findall(r"\]\(([\w.-]+\.ipynb)\)", text))


def test_start_page_links_every_notebook():
    others = {p.name for p in NOTEBOOKS.glob("*.ipynb")} - {START}
    missing = sorted(others - linked_notebooks())
    assert not missing, f"{START} does not link to {missing}"


def test_start_page_links_lead_somewhere():
    dead = sorted(name for name in linked_notebooks() if not (NOTEBOOKS / name).is_file())
    assert not dead, f"{START} links to notebooks that do not exist: {dead}"


def test_voila_app(page, voila_app, tmp_path):
    from playwright.sync_api import expect

    app = voila_app(START)
    page.goto(app.url, timeout=WIDGET_TIMEOUT_MS)  # Voila answers once every cell has run
    images = page.locator("img.widget-image")
    expect(images.first).to_be_visible(timeout=WIDGET_TIMEOUT_MS)

    # No Python error anywhere on the page (Voila runs with --show_tracebacks=True).
    stderr = page.locator('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]')
    assert stderr.count() == 0, "stderr in the app:\n" + "\n".join(stderr.all_inner_texts())
    body = page.locator("body").inner_text()
    for sign in ("Traceback", "There was an error when executing cell"):
        assert sign not in body, f"{sign!r} in the app:\n{body[-3000:]}"
    assert "from ntm_nb" not in body, "the app shows code"

    # The addressing explorer reacts to a slider.
    addressing = Explorer(page, explorer_with(page, "shift by"))
    src = addressing.expect_drawn()
    expect(addressing.status).to_contain_text("β = 20.0", timeout=WIDGET_TIMEOUT_MS)
    addressing.press("β", "Home")
    addressing.expect_redraw(src, "β = 0.0")
    addressing.root.screenshot(path=str(tmp_path / "voila_addressing_explorer.png"))

    # So does the trained model's trace explorer.
    trace = Explorer(page, explorer_with(page, "time step t"))
    src = trace.expect_drawn()
    t = trace.time_step()
    trace.press("time step t", "ArrowLeft")
    trace.expect_redraw(src, f"step t = {t - 1} ")
    trace.root.screenshot(path=str(tmp_path / "voila_trace_explorer.png"))
