"""Every tool fits a 1366 x 768 laptop window in JupyterLab, and its sliders redraw at once.

One temporary notebook (written into the served copy) shows every tool with its default
arguments, the trained-model tools on the shipped models, as notebooks 05-10 build them.

* ``test_tools_fit_a_laptop_window``: for each tool's output area, no horizontal
  scrollbar (``scrollWidth <= clientWidth + 1`` on the output area and on each widget
  box) and no clipped text (the same on each ``.widget-label`` and ``.widget-html``);
  a screenshot of the window with the tool in view is saved as ``fit_<tool>.png``.
* ``test_slider_latency``: a slider of each explorer moved 10 times with the keyboard;
  prints the median and max time from key press to changed image. It asserts only that
  every move redrew, once, and that the last image is the last value's (speed targets
  live in benchmarks, not in tests).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import statistics
import time
from pathlib import Path

from _pages import WIDGET_TIMEOUT_MS, open_and_run_all

VIEWPORT = {"width": 1366, "height": 768}
NOTEBOOK = "fit_tools.ipynb"
#: (name, the expression that builds it), in the order they are shown.
TOOLS = [
    ("MemoryExplorer", "MemoryExplorer()"),
    ("ContentAddressingExplorer", "ContentAddressingExplorer()"),
    ("AddressingExplorer", "AddressingExplorer()"),
    ("ShiftIterationExplorer", "ShiftIterationExplorer()"),
    ("TraceExplorer", "TraceExplorer()"),
    ("TraceExplorer_priority_sort", 'TraceExplorer("priority_sort")'),  # 5 + 5 heads
    ("GeneralizationExplorer", "GeneralizationExplorer()"),
    ("TrainingDashboard", "TrainingDashboard()"),
]
#: (tool, the slider's attribute, its label, the key): the slider moved 10 steps, over a
#: range where every step changes the picture (an unchanged PNG is not sent again).
LATENCY = [
    ("MemoryExplorer", "erase", "erase e", "ArrowLeft"),  # 1.0 -> 0.5
    ("ContentAddressingExplorer", "beta", "β (key strength)", "ArrowRight"),  # 5 -> 10
    ("AddressingExplorer", "g", "g", "ArrowLeft"),  # 0.8 -> 0.3
    ("ShiftIterationExplorer", "steps", "steps", "ArrowRight"),  # 24 -> 34
    ("TraceExplorer", "time", "time step t", "ArrowLeft"),  # 11 -> 1
]
MOVES = 10
MOVE_TIMEOUT_S = 30.0  # a redraw takes well under a second; a lost one never comes
BUILD_TIMEOUT_MS = 300_000  # every tool, the trained ones evaluated, on a busy machine


def _write_notebook(root: Path, tools: list[tuple[str, str]]) -> None:
    names = sorted({expr.split("(")[0] for _, expr in tools})
    cells = [
        f"from ntm_nb.widgets import {', '.join(names)}",
        "tools = [\n" + "".join(f"    {expr},\n" for _, expr in tools) + "]\n"
        "for tool in tools:\n    display(tool)",
    ]
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{i}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / NOTEBOOK).write_text(json.dumps(nb, indent=1))


def _show_tools(page, lab, tools: list[tuple[str, str]]) -> list:
    """Open the notebook showing ``tools`` at 1366 x 768, run it; each tool's output area."""
    from playwright.sync_api import expect

    _write_notebook(lab.root, tools)
    page.set_viewport_size(VIEWPORT)
    open_and_run_all(page, lab, NOTEBOOK)
    outputs = page.locator(".jp-OutputArea-output").filter(has=page.locator(".jupyter-widgets"))
    expect(outputs).to_have_count(len(tools), timeout=BUILD_TIMEOUT_MS)
    areas = [outputs.nth(i) for i in range(len(tools))]
    for area in areas:
        area.locator("img.widget-image").first.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
    stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert stderr.count() == 0, "\n".join(stderr.all_inner_texts())
    return areas


# What overflows in one output area: the area, its boxes, its labels and HTML texts whose
# content is wider than they are (a scrollbar, or text cut off), as readable lines.
_OVERFLOWS = """
area => {
  const describe = el => {
    const cls = [...el.classList].filter(c => c.startsWith('widget-')).join('.');
    const text = (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
    return `${el.tagName.toLowerCase()}.${cls} "${text}"`;
  };
  const found = [];
  const check = (el, what) => {
    if (el.scrollWidth > el.clientWidth + 1)
      found.push(`${what} ${describe(el)}: scrollWidth ${el.scrollWidth} > `
                 + `clientWidth ${el.clientWidth}`);
  };
  check(area, 'output area');
  area.querySelectorAll('.widget-box').forEach(el => check(el, 'box'));
  area.querySelectorAll('.widget-label, .widget-html, .widget-html-content')
    .forEach(el => check(el, 'text'));
  const right = area.getBoundingClientRect().right;
  area.querySelectorAll('.jupyter-widgets').forEach(el => {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > right + 1)
      found.push(`past the right edge ${describe(el)}: `
                 + `right ${Math.round(r.right)} > ${Math.round(right)}`);
  });
  const status = area.querySelector('.ntm-status .widget-html-content, div.widget-label');
  const box = area.querySelector('.widget-box');
  const sizes = el => el ? `${el.scrollWidth}/${el.clientWidth}` : 'none';
  return {found, width: area.clientWidth, status: sizes(status), box: sizes(box),
          area: sizes(area)};
}
"""


def test_tools_fit_a_laptop_window(page, lab, tmp_path):
    areas = _show_tools(page, lab, TOOLS)
    problems = []
    for (name, _), area in zip(TOOLS, areas):
        area.scroll_into_view_if_needed()
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.mouse.move(0, 0)
        time.sleep(0.3)
        page.screenshot(path=str(tmp_path / f"fit_{name}.png"))
        result = area.evaluate(_OVERFLOWS)
        print(
            f"fit {name}: scrollWidth/clientWidth of the output area {result['area']}, "
            f"its widget {result['box']}, its status line {result['status']}; "
            f"{len(result['found'])} problems"
        )
        for line in result["found"]:
            print(f"    {line}")
        problems += [f"{name}: {line}" for line in result["found"]]
    panel = page.locator(".jp-NotebookPanel .jp-WindowedPanel-outer").first
    sw, cw = panel.evaluate("el => [el.scrollWidth, el.clientWidth]")
    if sw > cw + 1:
        problems.append(f"the notebook scrolls sideways: scrollWidth {sw} > clientWidth {cw}")
    assert not problems, f"{len(problems)} fit problems at 1366 x 768:\n" + "\n".join(problems)


def _expected(name: str, attr: str, key: str) -> tuple[float, bytes]:
    """The slider's value and the image, in the tool built here, ``MOVES`` steps on."""
    from ntm_nb import widgets

    tool = getattr(widgets, name)()
    slider = getattr(tool, attr)
    sign = 1 if key == "ArrowRight" else -1
    slider.value = round(slider.value + sign * MOVES * slider.step, 9)
    return float(slider.value), bytes(tool.image.value)


def _pixels(png: bytes) -> str:
    from PIL import Image

    return hashlib.sha256(Image.open(io.BytesIO(png)).convert("RGBA").tobytes()).hexdigest()


# Record the time of every change of an image's src (a redraw), in the page's clock.
_WATCH = """
img => {
  img.__redraws = [];
  new MutationObserver(() => img.__redraws.push(performance.now()))
    .observe(img, {attributes: true, attributeFilter: ['src']});
}
"""


def test_slider_latency(page, lab):
    tools = [t for t in TOOLS if t[0] in {name for name, *_ in LATENCY}]
    areas = dict(zip([name for name, _ in tools], _show_tools(page, lab, tools)))
    lost = []
    for name, attr, label, key in LATENCY:
        area = areas[name]
        area.scroll_into_view_if_needed()
        image = area.locator("img.widget-image").first
        image.evaluate(_WATCH)
        slider = area.locator(".widget-slider").filter(
            has=page.locator("label.widget-label", has_text=re.compile(f"^{re.escape(label)}$"))
        )
        handle = slider.locator(".noUi-handle").first
        handle.focus()
        times = []
        for move in range(MOVES):
            t0 = page.evaluate("performance.now()")
            page.keyboard.press(key)
            deadline = time.monotonic() + MOVE_TIMEOUT_S
            # The observer stamps the change; polling only notices it (its delay is not timed).
            while image.evaluate("img => img.__redraws.length") <= move:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005)
            else:
                times.append(image.evaluate(f"img => img.__redraws[{move}]") - t0)
                continue
            lost.append(f"{name}: move {move + 1} never redrew")
        if times:
            print(
                f"latency {name}: median {statistics.median(times):.0f} ms, "
                f"max {max(times):.0f} ms ({len(times)} moves)"
            )
        time.sleep(1.0)  # a backlogged redraw would arrive now
        redraws = image.evaluate("img => img.__redraws.length")
        if redraws != MOVES:
            lost.append(f"{name}: {redraws} redraws for {MOVES} moves")
        value, png = _expected(name, attr, key)
        now = float(handle.get_attribute("aria-valuenow"))
        if now != value:
            lost.append(f"{name}: the slider shows {now}, not {value}")
        shown = image.evaluate(
            "async img => Array.from(new Uint8Array(await (await fetch(img.src)).arrayBuffer()))"
        )
        if _pixels(bytes(shown)) != _pixels(png):
            lost.append(f"{name}: the image shown is not the one for {label} = {value}")
    assert not lost, "\n".join(lost)
