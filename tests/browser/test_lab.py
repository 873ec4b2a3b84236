"""The notebooks as a user sees them in JupyterLab: open, run all, play with a widget."""

from __future__ import annotations

from _lab_servers import NOTEBOOKS
from _pages import (
    WIDGET_TIMEOUT_MS,
    Explorer,
    cells_to_show,
    explorer_with,
    open_and_run_all,
    open_notebook,
    run_cells,
)

COPY_NOTEBOOK = "05_copy.ipynb"


def test_addressing_explorer_in_lab(page, lab, tmp_path):
    from playwright.sync_api import expect

    open_and_run_all(page, lab, "03_location_addressing.ipynb")
    ex = Explorer(page, explorer_with(page, "shift by"))
    src = ex.expect_drawn()
    expect(ex.status).to_contain_text("β = 20.0", timeout=WIDGET_TIMEOUT_MS)

    ex.press("β", "Home")  # β -> 0: the content weighting becomes uniform
    src = ex.expect_redraw(src, "β = 0.0")
    expect(ex.slider("β").locator(".widget-readout")).to_have_text("0.00")

    ex.press("γ", "ArrowRight", "ArrowRight")  # γ 2.0 -> 3.0 in steps of 0.5
    src = ex.expect_redraw(src, "γ = 3.0")
    expect(ex.slider("γ").locator(".widget-readout")).to_have_text("3.00")

    ex.press("shift by", "ArrowLeft")  # shift +1 -> 0: s puts 0.8 on offset 0
    ex.expect_redraw(src, "s = (0.10, 0.80, 0.10)")
    expect(ex.slider("shift by").locator(".widget-readout")).to_have_text("0")
    ex.root.screenshot(path=str(tmp_path / "addressing_explorer.png"))


def test_trace_explorer_in_lab(page, lab, tmp_path):
    """The copy notebook's TraceExplorer runs in Lab and follows its time slider.

    Never skipped: it fails while notebooks/05_copy.ipynb is missing or shows no
    ``TraceExplorer``. Only the imports and the explorer's cell are run (the notebook's
    evaluations take a minute; nbval runs them all).
    """
    from playwright.sync_api import expect

    path = NOTEBOOKS / COPY_NOTEBOOK
    assert path.is_file(), f"{path} is missing: it should show the copy task's TraceExplorer"
    cells = cells_to_show(path, "TraceExplorer")
    assert cells, f"{path} has no cell that shows a TraceExplorer(...)"

    open_notebook(page, lab, COPY_NOTEBOOK)
    run_cells(page, cells)  # the imports, then the explorer
    ex = Explorer(page, explorer_with(page, "time step t").first)
    src = ex.expect_drawn()
    t = ex.time_step()
    ex.press("time step t", "ArrowLeft" if t > 0 else "ArrowRight")
    t_new = t - 1 if t > 0 else 1
    ex.expect_redraw(src, f"step t = {t_new} ")
    handle = ex.slider("time step t").locator(".noUi-handle")
    expect(handle).to_have_attribute("aria-valuenow", f"{t_new:.1f}")
    ex.root.screenshot(path=str(tmp_path / "trace_explorer.png"))
