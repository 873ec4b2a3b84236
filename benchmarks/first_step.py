"""Time to the first training step on a cold compile cache: compiled step vs the fast start.

Each measurement runs in a fresh process with an empty torch.compile cache, in
interleaved rounds (compiled, fast start, fast start, compiled, ...), and prints every
round, the medians and their ratio:

* ``cli``: seconds from starting ``ntm-nb train copy`` (a process of its own: Python's
  start, imports, the model) until its progress bar shows the first training step done
  (``1/N`` on stderr); the run is then stopped. Without ``--fast-start`` the step waits
  for torch.compile; with it, the step runs eagerly while the compiled step builds in a
  background thread. (Sessions before 2026-12-02 timed a ``--steps 1`` run to its exit,
  which adds the evaluation, the checkpoint and the interpreter's shutdown, slowed by the
  compile thread: about 4-6 s more.)
* ``dashboard``: seconds from ``TrainingDashboard.start()`` until its first step is done
  (the dashboard's default settings, copy), with the compile box on: the fast start
  (the dashboard's default) against a compile-first run.

    python benchmarks/first_step.py                 # 3 rounds of each
    python benchmarks/first_step.py --rounds 5 --only cli
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from subprocess import PIPE

import torch

import ntm_nb

FIRST_STEP = re.compile(rb"\| 1/\d+ \[")

DASHBOARD_CHILD = r"""
import sys, time
from ntm_nb.widgets import TrainingDashboard
import ntm_nb.widgets.dashboard as dashboard
fast = sys.argv[1] == "fast"
if not fast:  # the compile-first run: the same dashboard, its step compiled before training
    real = dashboard.TrainConfig
    dashboard.TrainConfig = lambda **kw: real(**{**kw, "fast_start": False})
d = TrainingDashboard("copy", steps=10_000)
assert d.compile.value
t0 = time.perf_counter()
d.start()
while d.state is None or d.state.step < 1:
    time.sleep(0.01)
print(f"FIRST {time.perf_counter() - t0:.3f}", flush=True)
d.stop()
d.wait()
"""


def _env(tmp: Path, tag: str) -> dict[str, str]:
    env = dict(os.environ)
    env["TORCHINDUCTOR_CACHE_DIR"] = str(tmp / f"inductor-{tag}")
    env["TRITON_CACHE_DIR"] = str(tmp / f"triton-{tag}")
    return env


def cli_round(tmp: Path, fast: bool, tag: str) -> float:
    cmd = [sys.executable, "-m", "ntm_nb", "train", "copy", "--steps", "1000"]
    cmd += ["--eval-sequences", "1", "--out", str(tmp / f"run-{tag}")]
    cmd += ["--fast-start"] if fast else []
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=_env(tmp, tag), stdout=subprocess.DEVNULL, stderr=PIPE)
    seen = b""
    try:
        while not FIRST_STEP.search(seen):  # tqdm's bar after the first step: "| 1/1000 ["
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                raise SystemExit(f"{' '.join(cmd)} ended before its first step:\n{seen.decode()}")
            seen += chunk
        return time.perf_counter() - t0
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()


def dashboard_round(tmp: Path, fast: bool, tag: str) -> float:
    cmd = [sys.executable, "-c", DASHBOARD_CHILD, "fast" if fast else "compiled"]
    proc = subprocess.run(cmd, env=_env(tmp, tag), capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("FIRST ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"dashboard round failed:\n{proc.stdout}\n{proc.stderr}")
    return float(lines[0].split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each (default 3)")
    parser.add_argument("--only", choices=("cli", "dashboard"), help="measure one of the two")
    args = parser.parse_args()
    print(f"ntm_nb {ntm_nb.__version__}, torch {torch.__version__}, {os.cpu_count()} CPUs")
    kinds = [args.only] if args.only else ["cli", "dashboard"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for kind in kinds:
            run = cli_round if kind == "cli" else dashboard_round
            times: dict[bool, list[float]] = {False: [], True: []}
            for i in range(args.rounds):
                order = (False, True) if i % 2 == 0 else (True, False)  # ABBA
                for fast in order:
                    seconds = run(tmp, fast, f"{kind}-{i}-{int(fast)}")
                    times[fast].append(seconds)
                    label = "fast start" if fast else "compiled"
                    print(f"{kind} round {i}: {label:>10} {seconds:6.2f} s", flush=True)
            slow, fast = statistics.median(times[False]), statistics.median(times[True])
            print(
                f"{kind}: first step, median of {args.rounds}: compiled {slow:.2f} s, "
                f"fast start {fast:.2f} s, ratio {fast / slow:.3f}\n",
                flush=True,
            )


if __name__ == "__main__":
    main()
