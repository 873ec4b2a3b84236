"""Every control of every tool set to NaN, None and out-of-range values, then to a valid
value: no exception escapes the widget machinery, a bad value is reported in the status line
(never shown as a silent NaN), and the tool works again once the value is valid."""

from __future__ import annotations

import base64
import math

import ipywidgets as widgets
import pytest
import torch
import traitlets

from ntm_nb import NTM, LSTMBaseline, LSTMConfig, NTMConfig, make_task
from ntm_nb.widgets import (
    AddressingExplorer,
    ContentAddressingExplorer,
    GeneralizationExplorer,
    MemoryExplorer,
    ShiftIterationExplorer,
    TraceExplorer,
    TrainingDashboard,
)

PNG = b"\x89PNG\r\n\x1a\n"
TASK = make_task("copy", max_len=4)


def _tiny_ntm() -> NTM:
    torch.manual_seed(0)
    return NTM(NTMConfig(TASK.input_size, TASK.output_size, controller_size=8, N=16, M=4))


def _tiny_lstm() -> LSTMBaseline:
    torch.manual_seed(0)
    return LSTMBaseline(LSTMConfig(TASK.input_size, TASK.output_size, hidden_size=8, num_layers=1))


TOOLS = {
    "MemoryExplorer": MemoryExplorer,
    "ContentAddressingExplorer": ContentAddressingExplorer,
    "AddressingExplorer": AddressingExplorer,
    "ShiftIterationExplorer": ShiftIterationExplorer,
    "TraceExplorer": lambda: TraceExplorer(TASK, _tiny_ntm(), length=3),
    "GeneralizationExplorer": lambda: GeneralizationExplorer(
        TASK, ntm=_tiny_ntm(), lstm=_tiny_lstm(), num_sequences=2, length=3
    ),
    "TrainingDashboard": lambda: TrainingDashboard(
        "copy",
        steps=1,
        size=8,
        memory_rows=8,
        eval_sequences=2,
        log_every=1,
        eval_every=1,
        compile=False,
    ),
}
SHOWS = (widgets.Image, widgets.Label, widgets.HTML, widgets.Button)


def _controls(tool) -> dict[str, widgets.ValueWidget]:
    return {
        name: value
        for name, value in vars(tool).items()
        if isinstance(value, widgets.ValueWidget) and not isinstance(value, SHOWS)
    }


def _bad_values(control) -> list:
    values = [math.nan, None, math.inf, "x"]
    if hasattr(control, "min"):
        values.append(control.min - 1)
        if control.max <= 40:  # beyond the top too, where the top is cheap to compute
            values.append(control.max + 1)
    return values


def _image(tool) -> bytes:
    return bytes(tool.curve_image.value if hasattr(tool, "curve_image") else tool.image.value)


@pytest.mark.parametrize("name", TOOLS)
def test_bad_values_are_reported_and_the_tool_recovers(name):
    tool = TOOLS[name]()
    controls = _controls(tool)
    assert controls, "the tool has controls"
    tried = refused = reported = 0
    for label, control in controls.items():
        good = control.value
        for bad in _bad_values(control):
            tried += 1
            try:
                control.value = bad  # an observer's error must not escape
            except traitlets.TraitError:
                refused += 1  # the widget itself refused the value: it never reached the tool
                continue
            status = tool.status.value
            reported += "(not applied)" in status
            assert "nan" not in status.lower() or "(not applied)" in status, (label, bad, status)
            assert _image(tool).startswith(PNG)
        control.value = good
        if control.value != good:  # clamped or refused: put the valid value back
            control.value = good
        assert "(not applied)" not in tool.status.value, (label, tool.status.value)
        assert _image(tool).startswith(PNG)
    assert tried == refused + (tried - refused)  # every case ended in one of the two ways
    assert refused + reported > 0


def test_a_dashboard_start_with_a_bad_rate_reports_it_and_can_start_again():
    dash = TOOLS["TrainingDashboard"]()
    dash.lr.value = math.nan
    dash.start_button.click()  # the button's error goes to the status line
    assert not dash.running and "learning rate" in dash.status.value
    with pytest.raises(ValueError, match="learning rate"):
        dash.start()
    assert not dash.running and not dash.start_button.disabled
    dash.save_button.click()  # needs the run's settings: reported, and nothing waits
    assert "learning rate" in dash.status.value and not dash.running
    dash.lr.value = 1e-3
    dash.start(wait=True)
    assert dash.error is None and dash.state.step == 1 and not dash.running


def test_every_explorer_carries_a_static_png_for_pages_without_a_kernel():
    for name, make in TOOLS.items():
        tool = make()
        bundle = tool._repr_mimebundle_()
        assert {"image/png", "text/plain", "application/vnd.jupyter.widget-view+json"} <= set(
            bundle
        ), name
        assert bundle["text/plain"] == repr(tool)
        assert base64.b64decode(bundle["image/png"]) == _image(tool)
