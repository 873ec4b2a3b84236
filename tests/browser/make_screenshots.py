"""Screenshots of the explorers for the README, taken in JupyterLab in headless Chromium.

    python tests/browser/make_screenshots.py            # writes docs/*.png

Starts JupyterLab exactly as the browser tests do (a temporary copy of the notebooks, every
Jupyter folder in a temporary directory), runs a notebook, and saves the explorer's output:

* ``docs/addressing_explorer.png``: ``AddressingExplorer`` in 03_location_addressing;
* ``docs/trace_explorer.png``: ``TraceExplorer`` in 05_copy (or in 00_start_here, where
  05_copy shows none), a few steps into the answer phase; only the notebook's imports and
  the explorer's cell are run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _lab_servers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    NOTEBOOKS,
    REPO,
    browser_problem,
    copy_notebooks,
    start_lab,
)
from _pages import (
    Explorer,
    cells_to_show,
    explorer_with,
    open_and_run_all,
    open_notebook,
    run_cells,
)


def _save(ex: Explorer, page, path: Path) -> None:
    page.mouse.move(0, 0)  # no hover highlight on a control
    page.evaluate("document.activeElement && document.activeElement.blur()")
    ex.root.scroll_into_view_if_needed()
    time.sleep(0.5)
    ex.root.screenshot(path=str(path))
    print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="folder for the PNGs")
    parser.add_argument(
        "--steps-into-answer",
        type=int,
        default=4,
        help="trace explorer: steps after the first answer step",
    )
    args = parser.parse_args(argv)
    problem = browser_problem()
    if problem:
        print(f"cannot take screenshots: {problem}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    trace_notebook = "05_copy.ipynb"
    if not (NOTEBOOKS / trace_notebook).is_file() or not cells_to_show(
        NOTEBOOKS / trace_notebook, "TraceExplorer"
    ):
        trace_notebook = "00_start_here.ipynb"
    with tempfile.TemporaryDirectory(prefix="ntm_nb_screens_") as tmp:
        base = Path(tmp)
        lab = start_lab(copy_notebooks(base / "notebooks"), base)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )

                def new_page():  # one notebook a page: Lab then has one toolbar, one kernel
                    return browser.new_page(
                        viewport={"width": 1400, "height": 1100}, device_scale_factor=1
                    )

                page = new_page()
                open_and_run_all(page, lab, "03_location_addressing.ipynb")
                ex = Explorer(page, explorer_with(page, "shift by"))
                ex.expect_drawn()
                _save(ex, page, args.out / "addressing_explorer.png")
                page.close()

                page = new_page()
                open_notebook(page, lab, trace_notebook)  # only the imports and the explorer
                run_cells(page, cells_to_show(NOTEBOOKS / trace_notebook, "TraceExplorer"))
                ex = Explorer(page, explorer_with(page, "time step t").first)
                src = ex.expect_drawn()
                t = ex.time_step()
                if args.steps_into_answer:
                    ex.press("time step t", *["ArrowRight"] * args.steps_into_answer)
                    ex.expect_redraw(src, f"step t = {t + args.steps_into_answer} ")
                _save(ex, page, args.out / "trace_explorer.png")
                browser.close()
        except Exception:
            print(f"--- JupyterLab log ---\n{lab.log_text()}", file=sys.stderr)
            raise
        finally:
            lab.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
