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


# What the README tells a reader to run: the folder, so that the tour's links open too
# (Voila started on one notebook serves that one only: its links answer 403).
VOILA_COMMAND = "voila notebooks/"
FOLLOWED = ("01_memory.ipynb", "02_content_addressing.ipynb")


def test_readme_serves_the_folder_in_voila():
    readme = (NOTEBOOKS.parent / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"`(voila [^`]*)`", readme)
    assert commands, "the README should say how to serve the notebooks with Voila"
    assert commands[0] == VOILA_COMMAND, (
        f"the README's Voila command is `{commands[0]}`, not `{VOILA_COMMAND}`: a single "
        "notebook is served alone, and the tour's links answer 403"
    )


def _expect_rendered(page, response, what: str) -> None:
    from playwright.sync_api import expect

    assert response is not None and response.status == 200, (
        f"{what}: HTTP {response.status if response else 'no response'} at {page.url}"
    )
    expect(page.locator("img.widget-image").first).to_be_visible(timeout=WIDGET_TIMEOUT_MS)
    body = page.locator("body").inner_text()
    for sign in ("Traceback", "There was an error when executing cell"):
        assert sign not in body, f"{what}: {sign!r} on the page:\n{body[-3000:]}"


def test_voila_tour_links_open(page, voila_app):
    """``voila notebooks/``: the tour, then two of its links, each a rendered app."""
    app = voila_app(".")
    tour = f"{app.url}voila/render/{START}"
    _expect_rendered(page, page.goto(tour, timeout=WIDGET_TIMEOUT_MS), START)
    links = {name: page.locator(f"a[href='{name}']").first for name in FOLLOWED}
    # Where the browser goes on a click: each link's href, resolved against the tour's URL.
    targets = {name: link.evaluate("a => a.href") for name, link in links.items()}
    for name in FOLLOWED:
        assert targets[name] == f"{app.url}voila/render/{name}", targets[name]

    with page.expect_navigation(timeout=WIDGET_TIMEOUT_MS) as nav:
        links[FOLLOWED[0]].click()  # a click, as a reader follows it
    _expect_rendered(page, nav.value, FOLLOWED[0])
    for name in FOLLOWED[1:]:  # not back to the tour (that runs it again): to the href
        _expect_rendered(page, page.goto(targets[name], timeout=WIDGET_TIMEOUT_MS), name)
