"""How long each explorer takes to redraw after a control moves.

Measures the time from setting a control's ``.value`` to the new PNG being in the
explorer's ``Image`` widget (the observer runs synchronously inside the assignment, so
the assignment's duration is the whole recompute + redraw + encode). Alternates each
control between two values so every set is a real change. Target: under 100 ms.

    python benchmarks/widget_latency.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

from ntm_nb.widgets import (
    AddressingExplorer,
    ContentAddressingExplorer,
    MemoryExplorer,
    ShiftIterationExplorer,
)

# (explorer, control, two values to alternate between)
CASES = [
    (MemoryExplorer, "focus", (2, 7)),
    (MemoryExplorer, "sharpness", (1.0, 8.0)),
    (MemoryExplorer, "erase", (0.2, 0.9)),
    (MemoryExplorer, "amplitude", (-0.5, 0.8)),
    (ContentAddressingExplorer, "beta", (2.0, 20.0)),
    (ContentAddressingExplorer, "key_row", (1, 8)),
    (ContentAddressingExplorer, "noise", (0.2, 1.0)),
    (AddressingExplorer, "beta", (2.0, 20.0)),
    (AddressingExplorer, "g", (0.2, 0.9)),
    (AddressingExplorer, "shift", (-1, 1)),
    (AddressingExplorer, "gamma", (1.0, 5.0)),
    (ShiftIterationExplorer, "steps", (10, 40)),
    (ShiftIterationExplorer, "gamma", (1.5, 4.0)),
    (ShiftIterationExplorer, "sharpening", (False, True)),
]


def measure(cls, control: str, values: tuple, repeats: int) -> tuple[float, float, float]:
    explorer = cls()
    widget = getattr(explorer, control)
    times = []
    for i in range(repeats + 2):
        before = explorer.image.value
        start = time.perf_counter()
        widget.value = values[i % 2]
        elapsed = time.perf_counter() - start
        assert explorer.image.value is not before, "the figure was not redrawn"
        if i >= 2:  # the first two sets warm up caches
            times.append(elapsed * 1e3)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed sets per control")
    args = parser.parse_args()
    print(f"{'explorer':<28}{'control':<12}{'median ms':>10}{'min ms':>9}{'max ms':>9}")
    worst = 0.0
    for cls, control, values in CASES:
        median, low, high = measure(cls, control, values, args.repeats)
        worst = max(worst, median)
        print(f"{cls.__name__:<28}{control:<12}{median:>10.1f}{low:>9.1f}{high:>9.1f}")
    print(f"worst median: {worst:.1f} ms ({'OK' if worst < 100 else 'OVER'} the 100 ms target)")


if __name__ == "__main__":
    main()
