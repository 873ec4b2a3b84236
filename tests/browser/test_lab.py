"""The notebooks as a user sees them in JupyterLab: open, run all, play with a widget."""

from __future__ import annotations

import json
import re

import pytest

from conftest import KERNEL_IDLE_TIMEOUT_MS, WIDGET_TIMEOUT_MS
from _lab_servers import NOTEBOOKS


def open_and_run_all(page, lab, notebook: str) -> None:
    """Open ``notebook`` in Lab, wait for its kernel, then Run > Run All Cells."""
    page.goto(f"{lab.url}lab/tree/{notebook}?reset&token={lab.token}")
    page.wait_for_selector(
        ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=KERNEL_IDLE_TIMEOUT_MS
    )
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()


def explorer_with(page, control: str):
    """The cell output that holds a widget with a control labelled exactly ``control``."""
    label = page.locator("label.widget-label", has_text=re.compile(f"^{re.escape(control)}$"))
    return page.locator(".jp-OutputArea-output").filter(has=label)


class Explorer:
    """Locators inside one explorer's output: its sliders, status label and plot."""

    def __init__(self, page, root) -> None:
        self.page, self.root = page, root
        self.image = root.locator("img.widget-image")
        self.status = root.locator("div.jupyter-widgets.widget-label")

    def slider(self, name: str):
        label = self.page.locator("label.widget-label", has_text=re.compile(f"^{re.escape(name)}$"))
        return self.root.locator(".widget-slider").filter(has=label)

    def press(self, name: str, *keys: str) -> None:
        """Focus the slider's handle and press ``keys``, as a keyboard user would."""
        handle = self.slider(name).locator(".noUi-handle")
        handle.focus()
        for key in keys:
            self.page.keyboard.press(key)

    def expect_drawn(self) -> str:
        """Wait until the plot shows a decoded image; return its ``src`` (a blob: URL)."""
        self.image.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
        self.page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0",
            arg=self.image.element_handle(), timeout=WIDGET_TIMEOUT_MS,
        )
        return self.image.get_attribute("src")

    def expect_redraw(self, previous_src: str, status_part: str) -> str:
        """Wait until the plot's PNG changed and the status label shows ``status_part``."""
        from playwright.sync_api import expect

        expect(self.status).to_contain_text(status_part, timeout=WIDGET_TIMEOUT_MS)
        expect(self.image).not_to_have_attribute("src", previous_src, timeout=WIDGET_TIMEOUT_MS)
        return self.expect_drawn()


def test_addressing_explorer_in_lab(page, lab):
    from playwright.sync_api import expect

    open_and_run_all(page, lab, "03_location_addressing.ipynb")
    root = explorer_with(page, "shift by")
    expect(root.locator("img.widget-image")).to_be_visible(timeout=WIDGET_TIMEOUT_MS)
    ex = Explorer(page, root)
    expect(ex.status).to_contain_text("β = 20.0", timeout=WIDGET_TIMEOUT_MS)
    src = ex.expect_drawn()

    ex.press("β", "Home")  # β -> 0: the content weighting becomes uniform
    src = ex.expect_redraw(src, "β = 0.0")
    expect(ex.slider("β").locator(".widget-readout")).to_have_text("0.00")

    ex.press("γ", "ArrowRight", "ArrowRight")  # γ 2.0 -> 3.0 in steps of 0.5
    src = ex.expect_redraw(src, "γ = 3.0")

    ex.press("shift by", "ArrowLeft")  # shift +1 -> 0: s puts 0.8 on offset 0
    ex.expect_redraw(src, "s = (0.10, 0.80, 0.10)")
    expect(ex.slider("shift by").locator(".widget-readout")).to_have_text("0")
    assert not [e for e in page.console_errors if "Traceback" in e], page.console_errors


COPY_NOTEBOOK = "05_copy.ipynb"


def test_trace_explorer_in_lab(page, lab):
    """The copy notebook's TraceExplorer runs in Lab and redraws when a slider moves.

    This test must not pass silently while the notebook lacks the explorer: it fails
    until notebooks/05_copy.ipynb shows a ``TraceExplorer``.
    """
    from playwright.sync_api import expect

    path = NOTEBOOKS / COPY_NOTEBOOK
    assert path.is_file(), f"{path} is missing: it should show the copy task's TraceExplorer"
    sources = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]]
    assert any("TraceExplorer" in s for s in sources), f"{path} does not use TraceExplorer"

    open_and_run_all(page, lab, COPY_NOTEBOOK)
    # The trace explorer's output: the cell output with a plot and at least one slider,
    # in the cell that shows a TraceExplorer (the first widget output with a slider).
    root = page.locator(".jp-OutputArea-output").filter(
        has=page.locator("img.widget-image")
    ).filter(has=page.locator(".widget-slider")).first
    expect(root).to_be_visible(timeout=WIDGET_TIMEOUT_MS)
    ex = Explorer(page, root)
    src = ex.expect_drawn()
    status = ex.status.first.inner_text() if ex.status.count() else ""
    handle = root.locator(".widget-slider .noUi-handle").first
    before = handle.get_attribute("aria-valuenow")
    handle.focus()
    page.keyboard.press("ArrowRight")
    if handle.get_attribute("aria-valuenow") == before:  # already at its maximum
        page.keyboard.press("ArrowLeft")
    expect(ex.image).not_to_have_attribute("src", src, timeout=WIDGET_TIMEOUT_MS)
    if status:
        expect(ex.status.first).not_to_have_text(status, timeout=WIDGET_TIMEOUT_MS)
