"""Time to solve the copy task from a cold start, with the package's default (fast) preset.

For each seed, runs ``python -m ntm_nb train copy`` in a fresh process with an empty
torch.compile cache (so process start and compilation are included) until the held-out
cost is below 0.1 bits per sequence on 1,000 sequences of lengths 1-20, and reports wall
time, steps, sequences and peak memory (max resident set size of the process). Then it
re-checks each saved model on 1,000 *fresh* sequences.

    python benchmarks/time_to_solve.py                 # seeds 0 1 2
    python benchmarks/time_to_solve.py --seeds 0 --warm-cache
    python benchmarks/time_to_solve.py --ab --fast-start  # each seed without, then with a flag

``--ab FLAG`` runs every seed twice, side by side, without and with ``FLAG`` (alternating
which goes first), and prints the ratio of the median wall times (with / without).
``--old-code PATH`` makes the "without" arm the package at PATH (a checkout of an earlier
commit, e.g. ``git worktree add /tmp/old COMMIT``, put first on PYTHONPATH) with its own
defaults, so old and new code are timed side by side:

    python benchmarks/time_to_solve.py --old-code /tmp/old --ab=--fast-start
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import ntm_nb
from ntm_nb.tasks import CopyTask


def run_seed(
    seed: int,
    workdir: Path,
    max_steps: int,
    warm_cache: bool,
    extra: list[str],
    code: str | None = None,
) -> dict:
    out = workdir / f"copy-seed{seed}"
    env = dict(os.environ)
    if code is not None:  # the package at ``code`` instead of the installed one
        env["PYTHONPATH"] = os.pathsep.join([code, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if not warm_cache:
        env["TORCHINDUCTOR_CACHE_DIR"] = str(workdir / f"inductor-cache-{seed}")
        env["TRITON_CACHE_DIR"] = str(workdir / f"triton-cache-{seed}")
    cmd = [
        sys.executable,
        "-m",
        "ntm_nb",
        "train",
        "copy",
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--steps",
        str(max_steps),
        "--target-cost",
        "0.1",
        "--eval-every",
        "100",
        "--eval-sequences",
        "1000",
        "--no-progress",
        *extra,
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"seed {seed} failed:\n{proc.stdout}\n{proc.stderr}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    record = json.loads((out / "model.json").read_text())
    hist = record["history"]
    model = ntm_nb.load(out)
    fresh = ntm_nb.evaluate(model, CopyTask(), num_sequences=1000, seed=10_000 + seed)
    return {
        "seed": seed,
        "wall_s": wall,
        "solved": hist["eval_bits"][-1] < 0.1,
        "steps": hist["eval_step"][-1],
        "sequences": hist["eval_sequences"][-1],
        "train_s": hist["eval_seconds"][-1],
        "heldout_bits": hist["eval_bits"][-1],
        "fresh_bits": fresh.bits_per_sequence,
        # ru_maxrss is the largest of all children so far, in KiB on Linux.
        "peak_mb_so_far": usage.ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-steps", type=int, default=5000)
    parser.add_argument(
        "--warm-cache",
        action="store_true",
        help="reuse torch.compile's on-disk cache (not a cold start)",
    )
    parser.add_argument(
        "--ab",
        metavar="FLAG",
        help="run every seed without and with this train flag (e.g. --ab=--fast-start)",
    )
    parser.add_argument(
        "--old-code",
        metavar="PATH",
        help="the 'without' arm runs the package at PATH (an earlier commit's checkout)",
    )
    parser.add_argument(
        "extra", nargs="*", help="extra arguments for `ntm-nb train copy` (after --)"
    )
    args = parser.parse_args()
    print(
        f"ntm_nb {ntm_nb.__version__}, torch {torch.__version__}, {os.cpu_count()} CPUs; "
        f"{'warm' if args.warm_cache else 'cold'} compile cache"
    )
    print(
        f"| {'seed':>4} | {'wall s':>6} | {'solved':>6} | {'steps':>5} | {'sequences':>9} | "
        f"{'held-out bits':>13} | {'fresh 1000 bits':>15} | {'peak MB':>7} |"
    )
    print(
        "|------|--------|--------|-------|-----------|---------------|-----------------|---------|"
    )
    rows, arms = [], {False: [], True: []}
    ab = args.ab or args.old_code  # two arms: without and with the flag, or old and new code
    with tempfile.TemporaryDirectory() as tmp:
        for i, seed in enumerate(args.seeds):
            order = [False] if not ab else ([False, True] if i % 2 == 0 else [True, False])
            for with_flag in order:
                extra = args.extra + ([args.ab] if with_flag and args.ab else [])
                tag = Path(tmp) / ("b" if with_flag else "a")
                tag.mkdir(exist_ok=True)
                code = None if with_flag else args.old_code
                r = run_seed(seed, tag, args.max_steps, args.warm_cache, extra, code)
                rows.append(r)
                arms[with_flag].append(r["wall_s"])
                new = "new code" + (f" {args.ab}" if args.ab else "")
                old = f"old code ({args.old_code})" if args.old_code else "(without)"
                label = f" {new if with_flag else old}" if ab else ""
                print(
                    f"| {r['seed']:>4} | {r['wall_s']:>6.1f} | {str(r['solved']):>6} "
                    f"| {r['steps']:>5} | "
                    f"{r['sequences']:>9} | {r['heldout_bits']:>13.3f} | "
                    f"{r['fresh_bits']:>15.3f} | {r['peak_mb_so_far']:>7.0f} |{label}",
                    flush=True,
                )
    if ab:
        a, b = statistics.median(arms[False]), statistics.median(arms[True])
        without = f"old code {args.old_code}" if args.old_code else f"without {args.ab}"
        with_ = "new code" + (f" with {args.ab}" if args.ab else "")
        print(f"\nmedian wall time, {without}: {a:.1f} s; {with_}: {b:.1f} s; ratio {b / a:.3f}")
    walls = [r["wall_s"] for r in rows]
    print(
        f"\nmedian wall time: {statistics.median(walls):.1f} s over {len(rows)} seeds "
        f"({sum(r['solved'] for r in rows)}/{len(rows)} solved); "
        f"peak memory {max(r['peak_mb_so_far'] for r in rows):.0f} MB"
    )


if __name__ == "__main__":
    main()
