"""Plots for ntm_nb: every public ``plot_*`` function takes data and returns a Figure.

The notebooks, the widgets (``ntm_nb.widgets``) and the command line all draw with these
functions, so a picture of, say, the addressing pipeline looks the same everywhere.

How this package is organised (one module a family)

1. **Helpers** (``viz.base``): turning tensors into arrays, making a figure, rendering it
   to PNG. **Axes-level drawers** (``draw_*``, also in ``viz.base``) draw into a given
   ``Axes`` and return the artists they made; ``update_*`` changes those artists in place.
   Widgets keep the artists and call ``update_*`` when a control moves, then redraw:
   nothing is re-created.
2. **Memory and addressing plots** (``viz.addressing``, notebooks 01-03): ``plot_memory``,
   ``plot_weighting``, ``plot_weightings``, ``plot_similarity``,
   ``plot_addressing_pipeline``, ``plot_shift_iteration``, ``plot_read_write``.
3. **Sequences and traces** (``viz.sequences``, notebook 04 on): ``plot_sequence``,
   ``plot_example`` (a task's input, target and output with the heads' weightings over time) and
   ``plot_learning_curve`` (a training ``History``); for trained models (``viz.trained``,
   notebooks 05-10): ``plot_learning_curves`` (NTM against LSTM), ``plot_generalization``,
   ``plot_outputs`` (targets and outputs with wrong bits marked), ``plot_memory_use``
   (the paper's Figs. 6, 9, 12, 15), ``plot_trace_step`` (a cursor at one step and the
   memory there: the ``TraceExplorer``), ``plot_ngram_predictions`` (Fig. 14) and
   ``plot_priority_sort_memory`` (Fig. 17), in ``viz.tasks``. A new family of plots is a new
   module here, in the same style, re-exported below.

Conventions: figures are made with ``pyplot`` (so Jupyter knows how to show them) and
closed at once, so a figure appears only where it is returned, never twice. Every figure
has a fixed size and dpi: its text repr (``<Figure size 800x240 with 4 Axes>``) is then
the same on every run, which nbval compares. Weightings are drawn on a fixed y-range
(0 to 1) so that pictures of different weightings can be compared by eye; as images (over
time) on ``weight_norm``'s square-root colour scale, so a diffuse focus stays visible.
Images whose values matter carry a thin colour bar (``side_colorbar``, an inset axes: it
does not count in the figure's repr).

The ``*_with_handles`` variants return ``(figure, handles)`` where ``handles`` is a small
dataclass of the artists a widget needs to update.
"""

from ntm_nb.viz import addressing, base, sequences, sweeps, tasks, trained
from ntm_nb.viz.addressing import *  # noqa: F403
from ntm_nb.viz.base import *  # noqa: F403
from ntm_nb.viz.sequences import *  # noqa: F403
from ntm_nb.viz.sweeps import *  # noqa: F403
from ntm_nb.viz.tasks import *  # noqa: F403
from ntm_nb.viz.trained import *  # noqa: F403

__all__ = [
    *base.__all__,
    *addressing.__all__,
    *sequences.__all__,
    *trained.__all__,
    *tasks.__all__,
    *sweeps.__all__,
]
