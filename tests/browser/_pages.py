"""Page helpers for the browser tests and the screenshot script: open and run a notebook in
JupyterLab, find an explorer's output, and drive its sliders with the keyboard."""

from __future__ import annotations

import json
import re
from pathlib import Path

KERNEL_IDLE_TIMEOUT_MS = 60_000  # a kernel can take a while to start on a busy machine
WIDGET_TIMEOUT_MS = 120_000  # run-all of a notebook, then the widget appears
CELL_TIMEOUT_MS = 120_000  # one cell (the imports load torch) on a busy machine
RETRY_AFTER_MS = 45_000  # a cell still pending after this is run once more


def open_and_run_all(page, lab, notebook: str) -> None:
    """Open ``notebook`` in Lab, wait for its kernel, then Run > Run All Cells."""
    open_notebook(page, lab, notebook)
    first = page.locator(".jp-Notebook .jp-CodeCell").first.element_handle()
    for attempt in range(2):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
        if _wait_executed(page, first, RETRY_AFTER_MS if attempt == 0 else CELL_TIMEOUT_MS):
            break
    else:
        raise AssertionError(
            f"{notebook}: its first code cell never ran (prompt {_prompt(first)!r})"
        )
    _fail_on_error(page, first, f"{notebook}, first code cell")


def open_notebook(page, lab, notebook: str) -> None:
    """Open ``notebook`` in Lab and wait until its kernel is idle."""
    page.goto(f"{lab.url}lab/tree/{notebook}?reset&token={lab.token}")
    page.wait_for_selector(
        ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=KERNEL_IDLE_TIMEOUT_MS
    )
    # Clear the committed outputs, so that a prompt with a number ("[1]:") and every widget
    # on the page come from this session's kernel.
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Edit$")).click()
    page.locator(".lm-Menu-item[data-command='editmenu:clear-all']").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
        ".every(p => !/\\d/.test(p.textContent))",
        timeout=KERNEL_IDLE_TIMEOUT_MS,
    )


def cells_to_show(path: Path, widget: str) -> list[int]:
    """The cells that show ``widget`` in the notebook at ``path``: its first code cell (the
    imports) and the first cell that starts with ``widget(``; [] when there is none."""
    cells = json.loads(path.read_text())["cells"]
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    shows = [i for i in code if "".join(cells[i]["source"]).lstrip().startswith(f"{widget}(")]
    return [code[0], shows[0]] if shows else []


def run_cells(page, indexes: list[int]) -> None:
    """Run the cells at ``indexes`` (positions in the notebook, markdown included), as a
    keyboard user would: move the selection with the arrow keys, press Shift+Enter.

    Lab renders only the cells near the view, so cells are not found by position in the
    page: the selection is moved and checked against the status bar's "Cell i/n"."""
    from playwright.sync_api import expect

    position = page.get_by_text(re.compile(r"^Cell \d+/\d+$"))

    def current() -> int:
        expect(position).to_be_visible(timeout=KERNEL_IDLE_TIMEOUT_MS)
        return int(re.match(r"Cell (\d+)/", position.inner_text()).group(1)) - 1

    # Command mode on the first cell, so that the arrow keys move the selection.
    page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    for i in indexes:
        for _ in range(3):  # a key pressed while the page settles can be lost: check, redo
            steps = i - current()
            for _ in range(abs(steps)):
                page.keyboard.press("ArrowDown" if steps > 0 else "ArrowUp")
            try:
                expect(position).to_have_text(re.compile(f"^Cell {i + 1}/"), timeout=5_000)
                break
            except AssertionError:
                continue
        expect(position).to_have_text(re.compile(f"^Cell {i + 1}/"))
        cell = page.locator(".jp-Notebook .jp-Cell.jp-mod-active").element_handle()
        page.keyboard.press("Shift+Enter")  # runs the cell and selects the next one
        expect(position).to_have_text(re.compile(f"^Cell {i + 2}/"))
        if not _wait_executed(page, cell, RETRY_AFTER_MS):
            # An execute request sent just after the kernel started can be lost: the
            # prompt then stays [*] while the kernel is idle. Run the cell once more.
            page.keyboard.press("ArrowUp")
            expect(position).to_have_text(re.compile(f"^Cell {i + 1}/"))
            page.keyboard.press("Shift+Enter")
            expect(position).to_have_text(re.compile(f"^Cell {i + 2}/"))
            if not _wait_executed(page, cell, CELL_TIMEOUT_MS):
                raise AssertionError(f"cell {i + 1} never finished (prompt {_prompt(cell)!r})")
        _fail_on_error(page, cell, f"cell {i + 1}")


def _prompt(cell) -> str:
    return cell.eval_on_selector(".jp-InputPrompt", "p => p.textContent.trim()")


def _wait_executed(page, cell, timeout_ms: int) -> bool:
    """True once ``cell`` (an element handle) shows an execution count, as in ``[3]:``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            "c => /\\[\\d+\\]/.test(c.querySelector('.jp-InputPrompt').textContent)",
            arg=cell,
            timeout=timeout_ms,
        )
        return True
    except PlaywrightTimeout:
        return False


def _fail_on_error(page, cell, what: str) -> None:
    """Fail with the traceback's last line when ``cell`` shows an error output.

    Waits for the kernel to go idle first: the prompt's number comes with the shell reply,
    the error output on the iopub channel, which reports idle only after it."""
    page.wait_for_selector(
        ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=CELL_TIMEOUT_MS
    )
    errors = cell.query_selector_all(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    )
    # text_content, not inner_text: a cell out of view renders no text
    texts = [(e.text_content() or "").strip() for e in errors]
    tracebacks = [t for t in texts if "Error" in t or "Traceback" in t]
    if tracebacks:
        raise AssertionError(f"{what} raised: {tracebacks[-1].splitlines()[-1]}")


def _label(page, text: str):
    return page.locator("label.widget-label", has_text=re.compile(f"^{re.escape(text)}$"))


def explorer_with(page, control: str):
    """The cell output (Lab or Voila) holding a widget with a control labelled ``control``."""
    return page.locator(".jp-OutputArea-output").filter(has=_label(page, control))


class Explorer:
    """One explorer's output: its sliders, its status line (``div.ntm-status``) and its
    plot (``img.widget-image``, whose ``src`` is a new blob: URL after every redraw)."""

    def __init__(self, page, root) -> None:
        self.page, self.root = page, root
        self.image = root.locator("img.widget-image")
        self.status = root.locator("div.jupyter-widgets.ntm-status")

    def slider(self, name: str):
        return self.root.locator(".widget-slider").filter(has=_label(self.page, name))

    def press(self, name: str, *keys: str) -> None:
        """Focus the slider's handle and press ``keys``, as a keyboard user would."""
        self.slider(name).locator(".noUi-handle").focus()
        for key in keys:
            self.page.keyboard.press(key)

    def expect_drawn(self) -> str:
        """Wait until the plot shows a decoded image; return its ``src``."""
        self.image.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
        self.page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0",
            arg=self.image.element_handle(),
            timeout=WIDGET_TIMEOUT_MS,
        )
        return self.image.get_attribute("src")

    def expect_redraw(self, previous_src: str, status_part: str) -> str:
        """Wait until the plot changed and the status label shows ``status_part``."""
        from playwright.sync_api import expect

        expect(self.status).to_contain_text(status_part, timeout=WIDGET_TIMEOUT_MS)
        expect(self.image).not_to_have_attribute("src", previous_src, timeout=WIDGET_TIMEOUT_MS)
        return self.expect_drawn()

    def time_step(self) -> int:
        """The step a TraceExplorer shows, read from its status ("... step t = 11 of ...")."""
        from playwright.sync_api import expect

        expect(self.status).to_contain_text("step t = ", timeout=WIDGET_TIMEOUT_MS)
        return int(re.search(r"step t = (\d+)", self.status.inner_text()).group(1))
