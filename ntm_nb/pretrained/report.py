"""Score every shipped model beside the paper's numbers; prints markdown tables.

    python -m ntm_nb.pretrained.report            # all tasks, ~1-3 minutes on a CPU
    python -m ntm_nb.pretrained.report copy ngrams

Numbers are bits per sequence (wrongly thresholded output bits; for N-grams the
cross-entropy in bits per sequence) on fresh sequences drawn from seed 2026.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch
from torch import nn

from ntm_nb.checkpoint import task_from_record
from ntm_nb.pretrained import available, load
from ntm_nb.train import evaluate

SEED = 2026

# (label, task overrides, number of sequences, the paper's NTM, the paper's LSTM)
SETTINGS: dict[str, list[tuple[str, dict[str, Any], int, str, str]]] = {
    "copy": [
        ("lengths 1-20 (training)", {}, 1000, "≈ 0", "≈ 0"),
        ("length 10", {"min_len": 10, "max_len": 10}, 200, "≈ 0 (Fig. 4)", "≈ 0 (Fig. 5)"),
        ("length 20", {"min_len": 20, "max_len": 20}, 200, "≈ 0", "few errors"),
        ("length 30", {"min_len": 30, "max_len": 30}, 200, "≈ 0", "many errors"),
        ("length 50", {"min_len": 50, "max_len": 50}, 1000, "≈ 0", "fails"),
        ("length 120", {"min_len": 120, "max_len": 120}, 1000, "a few local errors", "fails"),
    ],
    "repeat_copy": [
        ("length 1-10, repeats 1-10 (training)", {}, 10000, "≈ 0", "≈ 0"),
        (
            "length 20, repeats 10",
            {"min_len": 20, "max_len": 20, "min_repeats": 10, "max_repeats": 10},
            100,
            "copies, end marker off (Fig. 8)",
            "fails",
        ),
        (
            "length 10, repeats 20",
            {"min_len": 10, "max_len": 10, "min_repeats": 20, "max_repeats": 20},
            100,
            "copies, end marker off",
            "fails",
        ),
    ],
    "associative_recall": [
        ("2-6 items (training)", {}, 1000, "≈ 0", "≈ 2 (not converged at 1M)"),
        ("6 items", {"min_items": 6, "max_items": 6}, 500, "0 (FF)", "≈ 2"),
        ("10 items", {"min_items": 10, "max_items": 10}, 500, "0 (FF)", "≈ 36"),
        ("15 items", {"min_items": 15, "max_items": 15}, 500, "1.5 (FF)", "≈ 40"),
        ("20 items", {"min_items": 20, "max_items": 20}, 500, "8 (FF)", "≈ 38"),
    ],
    "ngrams": [
        ("200 bits (cost in bits; optimum ≈ 133)", {}, 1000, "≈ 133.5-134", "≈ 136"),
    ],
    "priority_sort": [
        ("20 inputs, 16 sorted outputs", {}, 1000, "≈ 18 (LSTM ctrl), 20 (FF)", "≈ 58"),
    ],
}


def score(model: nn.Module, overrides: dict[str, Any], n: int) -> tuple[float, float | None]:
    """(bits per sequence, or N-grams cost in bits; the optimal N-grams cost or None)."""
    task = task_from_record(model.checkpoint, overrides)
    result = evaluate(model, task, num_sequences=n, batch_size=min(n, 250), seed=SEED)
    if task.name == "ngrams":
        return result.cost_bits, result.optimal_cost_bits
    return result.bits_per_sequence, None


def budget(model: nn.Module) -> str:
    record = model.checkpoint
    hist = record.get("history") or {}
    seqs = (hist.get("sequences") or [0])[-1]
    minutes = (record.get("train_seconds") or 0) / 60
    trained_on = str(record.get("trained_on", ""))
    where = {(True, False): " on a GPU", (True, True): " on a GPU, then a CPU"}.get(
        ("GPU" in trained_on, "CPU" in trained_on), ""
    )
    return f"{seqs:,} sequences, {minutes:.0f} min{where}"


def report(names: list[str]) -> str:
    torch.set_num_threads(1)
    shipped = set(available())
    lines = []
    for name in names:
        lines.append(f"\n### {name}\n")
        kinds = [k for k in ("ntm", "lstm") if (name, k) in shipped]
        models = {k: load(name, k) for k in kinds}
        lines.append(
            "| setting | "
            + " | ".join(f"ours: {k.upper()}" for k in kinds)
            + " | paper: NTM | paper: LSTM |"
        )
        lines.append("|---|" + "---:|" * len(kinds) + "---|---|")
        optimal = None
        for label, overrides, n, paper_ntm, paper_lstm in SETTINGS[name]:
            cells = []
            for kind in kinds:
                value, opt = score(models[kind], overrides, n)
                optimal = opt if opt is not None else optimal
                cells.append(f"{value:.2f}")
            lines.append(
                f"| {label} ({n} seq.) | " + " | ".join(cells) + f" | {paper_ntm} | {paper_lstm} |"
            )
        if optimal is not None:
            lines.append(f"\nOptimal Bayesian estimator on the same sequences: {optimal:.2f} bits.")
        lines.append(
            "\nTraining budget: " + "; ".join(f"{k.upper()} {budget(models[k])}" for k in kinds)
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ntm_nb.pretrained.report",
        description="Score the shipped models beside the paper's numbers (markdown tables).",
    )
    parser.add_argument(
        "tasks",
        nargs="*",
        metavar="TASK",
        help=f"any of: {', '.join(SETTINGS)} (default: all shipped)",
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.tasks if n not in SETTINGS]
    if unknown:
        parser.error(f"TASK: unknown {', '.join(unknown)}; expected any of: {', '.join(SETTINGS)}")
    names = args.tasks or [n for n in SETTINGS if any(t == n for t, _ in available())]
    print(report(names))


if __name__ == "__main__":
    main()
