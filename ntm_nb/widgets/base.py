"""What every tool shares: aligned sliders, the explorers' inputs (a seeded memory, a
focused weighting, a shift distribution) and the display base, ``Tool`` (a widget, a status
line and a figure rendered into an ``Image``), which every explorer and the dashboard build on.

Every tool fits the window it is shown in, down to a 1366 x 768 laptop's JupyterLab
(``tests/browser/test_fit.py``): rows of controls wrap, the controls sit beside the figure
where there is room and above it where not, a figure is shown at its natural size or scaled
down to the width there is (never up), and the status line wraps instead of being cut off."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import torch
from torch import Tensor

from ntm_nb import viz

__all__ = [
    "Tool",
    "guarded",
    "control_name",
    "default_memory",
    "focused_weighting",
    "shift_distribution",
]

_STYLE = {"description_width": "110px"}  # aligned columns of controls
_WIDTH = "360px"
_WRAP = {"flex_flow": "row wrap", "max_width": "100%"}  # a row that wraps where it is narrow


def _row(children: list[widgets.Widget]) -> widgets.HBox:
    """A row of controls that wraps onto more lines where the window is narrow."""
    return widgets.HBox(children, layout=widgets.Layout(**_WRAP))


def _int_slider(description: str, value: int, low: int, high: int) -> widgets.IntSlider:
    return widgets.IntSlider(
        value=value,
        min=low,
        max=high,
        description=description,
        style=_STYLE,
        layout=widgets.Layout(width=_WIDTH),
    )


def _float_slider(
    description: str, value: float, low: float, high: float, step: float
) -> widgets.FloatSlider:
    return widgets.FloatSlider(
        value=value,
        min=low,
        max=high,
        step=step,
        description=description,
        style=_STYLE,
        layout=widgets.Layout(width=_WIDTH),
    )


# ----------------------------------------------------------------------------------------
# Inputs the explorers share
# ----------------------------------------------------------------------------------------
def default_memory(N: int = 16, M: int = 8, seed: int = 0) -> Tensor:
    """A seeded random memory (N, M) with entries of order 1, for the explorers."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, M, generator=g).clamp(-2.0, 2.0)


def _as_memory(memory: Tensor | None, N: int, M: int, seed: int) -> Tensor:
    """Accept (N, M) or (1, N, M); return a detached float copy (N, M)."""
    if memory is None:
        return default_memory(N, M, seed)
    if not isinstance(memory, Tensor):
        raise TypeError(
            f"memory: expected a torch.Tensor (N, M) or (1, N, M), got {type(memory).__name__}"
        )
    if memory.dim() == 3 and memory.shape[0] == 1:
        memory = memory[0]
    if memory.dim() != 2 or memory.shape[0] < 3 or memory.shape[1] < 1:
        raise ValueError(
            "memory: expected shape (N, M) or (1, N, M) with N >= 3 rows, "
            f"got {tuple(memory.shape)}"
        )
    memory = memory.detach().to("cpu")
    return (memory if memory.is_floating_point() else memory.float()).clone()


def focused_weighting(N: int, focus: int, sharpness: float) -> Tensor:
    """A weighting (N,) peaked at row ``focus``: w(i) proportional to exp(-sharpness d(i)^2),
    d the circular distance from ``focus``. Sharpness 0 gives the uniform weighting; 20 is
    one-hot to float precision. A teaching device for notebook 01, not a paper equation."""
    i = torch.arange(N)
    d = torch.minimum((i - focus) % N, (focus - i) % N).float()
    return torch.softmax(-float(sharpness) * d * d, dim=0)


def shift_distribution(offset: int, spread: float, shift_range: int = 1) -> Tensor:
    """A shift weighting s (2R+1,) over offsets -R..R: 1 - spread on ``offset``, the rest
    shared equally by the other offsets. Spread 0 is an exact shift by ``offset``."""
    n = 2 * shift_range + 1
    if not -shift_range <= offset <= shift_range:
        raise ValueError(f"offset: must lie in -{shift_range}..{shift_range}, got {offset}")
    s = torch.full((n,), float(spread) / (n - 1))
    s[shift_range + offset] = 1.0 - float(spread)
    return s


def _one_hot(N: int, row: int) -> Tensor:
    w = torch.zeros(N)
    w[row] = 1.0
    return w


def _fmt(v: Tensor) -> str:
    return "[" + ", ".join(f"{float(x):+.2f}" for x in v) + "]"


# ----------------------------------------------------------------------------------------
# The shared shell: controls, a status label and a figure rendered into an Image
# ----------------------------------------------------------------------------------------
class Tool:
    """The display base of every tool: ``.widget`` (the container a cell shows) and
    ``.status`` (the status line: an ``HTML`` widget holding the escaped text, which wraps
    where a ``Label`` would cut it off). A tool shows itself when it is the last value of a
    cell; its text form is its short ``repr``, the same on every run (nbval compares it)."""

    widget: widgets.Box
    status: widgets.HTML

    @staticmethod
    def _status_line() -> widgets.HTML:
        """The status line (``div.ntm-status`` in the page), empty until ``_set_status``."""
        line = widgets.HTML(layout=widgets.Layout(max_width="100%"))
        line.add_class("ntm-status")
        return line

    def _set_status(self, text: str) -> None:
        self.status.value = html.escape(text, quote=False)

    @staticmethod
    def _image(width: int) -> widgets.Image:
        """An ``Image`` at the PNG's natural ``width`` in pixels where there is room, scaled
        down (never up, which blurs) where not. No side margins: at 100% of a narrow
        window they would stick out of it."""
        return widgets.Image(
            format="png",
            layout=widgets.Layout(width=f"{width}px", max_width="100%", margin="2px 0"),
        )

    @staticmethod
    def _show_png(image: widgets.Image, png: bytes) -> None:
        """Show ``png`` in ``image`` at its natural width (read from the PNG header)."""
        width = int.from_bytes(png[16:20], "big")  # IHDR: the first chunk, width first
        if width and image.layout.width != f"{width}px":
            image.layout.width = f"{width}px"
        image.value = png

    def _static_png(self) -> bytes:
        """The picture shown where no kernel runs the widget (GitHub, nbviewer, HTML)."""
        return bytes(self.image.value)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        """The live widget, plus a static PNG of its figure and a short text form.

        A front end with the widget manager (JupyterLab, Voila) shows the widget; one
        without a kernel (GitHub, nbviewer, ``jupyter nbconvert --to html``) shows the PNG.
        """
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)  # short and stable (the container's repr holds PNG bytes)
        png = self._static_png()
        if png:
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
        return bundle

    def _report(self, what: str, err: BaseException) -> None:
        """Show a bad value's error in the status line; the tool stays usable."""
        message = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
        self._set_status(f"{what}: {message} (not applied)")


def guarded(tool: Tool, what: Callable[[dict], str], handler: Callable[[dict], None]):
    """An observer that runs ``handler(change)`` and shows any error in ``tool``'s status
    line instead of raising inside the widget machinery (where it would be lost)."""

    def callback(change: dict) -> None:
        try:
            handler(change)
        except Exception as err:  # shown to the user; the next valid value recomputes all
            tool._report(what(change), err)

    return callback


def control_name(change: dict) -> str:
    """The control behind a change, for messages: its description, else its class."""
    owner = change.get("owner")
    return getattr(owner, "description", "") or type(owner).__name__


class _Explorer(Tool):
    """Owns ``.widget`` (the top-level container), ``.image`` and ``.status``.

    Subclasses build their controls and figure, then call ``_finish_setup``; a control
    change calls the handler registered for it, then ``_refresh`` re-renders.
    """

    widget: widgets.Box
    image: widgets.Image
    status: widgets.HTML

    def _finish_setup(
        self,
        rows: list[list[widgets.Widget]],
        renderer: viz.BlitRenderer,
        handlers: dict[widgets.Widget, Callable[[], None]],
    ) -> None:
        self._renderer = renderer
        self.status = self._status_line()
        self.image = self._image(int(round(renderer.fig.bbox.width)))
        controls = widgets.VBox([_row(row) for row in rows])
        #: the controls and the status line; the figure beside it where there is room
        self.panel = widgets.VBox(
            [controls, self.status],
            layout=widgets.Layout(max_width="100%", margin="0 12px 0 0"),
        )
        self.widget = widgets.Box(
            [self.panel, self.image],
            layout=widgets.Layout(align_items="flex-start", **_WRAP),
        )
        for control, handler in handlers.items():
            control.observe(self._make_callback(handler), names="value")
        self._refresh()

    def _make_callback(self, handler: Callable[[], None]) -> Callable[[dict], None]:
        def run(change: dict) -> None:
            handler()
            self._refresh()

        return guarded(self, control_name, run)

    def _refresh(self) -> None:
        self._draw()
        self.image.value = self._renderer.render()
        self._set_status(self._describe())

    # Subclasses: move the artists to the current data / describe it in one line.
    def _draw(self) -> None:
        raise NotImplementedError

    def _describe(self) -> str:
        raise NotImplementedError

    @property
    def figure(self):
        """The matplotlib Figure behind ``.image`` (its changing artists are animated, so
        render it with ``.image`` or ``_renderer.render()``, not ``savefig``)."""
        return self._renderer.fig

    def __repr__(self) -> str:
        N, M = self.memory.shape
        return f"{type(self).__name__}(N={N}, M={M})"
