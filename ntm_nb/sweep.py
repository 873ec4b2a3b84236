"""Sweeps: many seeds (and settings) of one training recipe, run by Ray Tune.

    results = ntm_nb.sweep("copy", seeds=range(10), out="sweeps/copy")
    ntm_nb.sweep_summary(results)          # success rate with a 95% interval, per setting

    ntm-nb sweep copy --seeds 0:10 --out sweeps/copy              # the fast preset, 10 seeds
    ntm-nb sweep copy --seeds 0:10 --set lr=1e-3,2e-3 --out DIR   # a grid: seeds x settings
    ntm-nb sweep --summary sweeps/copy
    ntm-nb sweep --merge sweeps/more-seeds --out ntm_nb/pretrained/sweeps/copy  # append

Each trial is one ``ntm-nb train`` run in a process of its own (one torch thread unless
``--threads`` says otherwise), scheduled by Ray Tune: locally, one trial per core; on a
cluster (``address=``), wherever Ray puts it, with a GPU where the cluster has one. Every
``train`` flag applies to all trials; ``--set FLAG=V1,V2`` varies one across the grid.

A trial stops early at the task's target cost (``TaskPresets.target_cost``, or
``--target-cost``), honours the budget (``--steps``, ``--max-minutes``) and checkpoints
into ``DIR/trials/NAME``. A sweep started again skips the trials that have finished
(``result.json``) and resumes the unfinished ones exactly from their checkpoints
(``--resume``). Results: ``DIR/results.csv`` and ``DIR/results.json``, one row a trial.

Ray is an optional dependency (``pip install "ntm_nb[sweep]"``): it is imported when a
sweep runs, so that ``import ntm_nb`` never needs it.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import math
import os
import re
import shlex
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ntm_nb._checks import check_positive_int
from ntm_nb.checkpoint import load_record
from ntm_nb.checkpoint_io import replace_file
from ntm_nb.records import History
from ntm_nb.tasks import task_class

__all__ = [
    "sweep",
    "sweep_summary",
    "format_summary",
    "load_results",
    "sweep_curves",
    "write_curves",
    "merge_sweeps",
    "parse_seeds",
    "sweep_main",
    "COLUMNS",
]

#: The columns of results.csv before and after the varied settings.
COLUMNS = ("task", "seed")
RESULT_COLUMNS = (
    "solved",
    "steps_to_target",
    "sequences_to_target",
    "final_cost",
    "steps",
    "sequences",
    "wall_s",
)


def parse_seeds(text: str) -> list[int]:
    """``"A:B"`` is seeds A to B-1; ``"3"`` is seed 3; ``"0,4,7"`` those seeds."""
    try:
        if ":" in text:
            low, high = (int(v) for v in text.split(":"))
            seeds = list(range(low, high))
        else:
            seeds = [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(
            f"--seeds: expected A:B (seeds A..B-1) or a list 0,1,2, got {text!r}"
        ) from None
    if not seeds or min(seeds) < 0:
        raise ValueError(f"--seeds: expected at least one seed, all >= 0, got {text!r}")
    return seeds


def _grid(settings: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    for key, values in settings.items():
        if not key.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"settings: {key!r} is not a train flag name (e.g. lr, batch_size)")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"settings: {key!r} needs a non-empty list of values, got {values!r}")
    keys = list(settings)
    return [dict(zip(keys, combo)) for combo in itertools.product(*settings.values())]


def _trial_name(seed: int, setting: Mapping[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in setting.items()] + [f"seed={seed}"]
    return ",".join(parts).replace("/", "_")


def _flags(setting: Mapping[str, Any]) -> list[str]:
    return [a for k, v in setting.items() for a in ("--" + k.replace("_", "-"), str(v))]


def _target_of(task: str, train_args: Sequence[str]) -> float | None:
    args = list(train_args)
    if "--target-cost" in args:
        return float(args[args.index("--target-cost") + 1])
    return task_class(task).presets.target_cost


def _outcome(trial_dir: Path, target: float | None, measure: str) -> dict[str, Any]:
    """A finished trial's row, from its checkpoint record."""
    record = load_record(trial_dir)
    h = History.from_dict(record.get("history") or {})
    costs = h.eval_bits if measure == "bits_per_sequence" else h.eval_cost_bits
    hit = next((i for i, c in enumerate(costs) if target is not None and c <= target), None)
    return {
        "solved": hit is not None,
        "steps_to_target": None if hit is None else h.eval_step[hit],
        "sequences_to_target": None if hit is None else h.eval_sequences[hit],
        "final_cost": costs[-1] if costs else None,
        "steps": record.get("step"),
        "sequences": h.sequences[-1] if h.sequences else 0,
        "wall_s": record.get("train_seconds"),
    }


def _run_trial(config: dict[str, Any]) -> dict[str, Any]:
    """One trial (in a Ray worker): ``ntm-nb train`` in a fresh process, resumed if it has a
    checkpoint and no result yet; its row is written to ``result.json`` and returned."""
    trial_dir = Path(config["trial_dir"])
    done = trial_dir / "result.json"
    if done.is_file():
        return json.loads(done.read_text())
    resume = (trial_dir / "model.json").is_file() and (
        trial_dir / "train_state.safetensors"
    ).is_file()
    command = [
        sys.executable, "-m", "ntm_nb", "train", config["task"], "--seed", str(config["seed"]),
        "--out", str(trial_dir), "--no-progress", *config["args"],
    ]  # fmt: skip
    if resume:
        command.append("--resume")
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    trial_dir.mkdir(parents=True, exist_ok=True)
    with open(trial_dir / "train.log", "a") as log:
        log.write("$ " + shlex.join(command) + "\n")
        log.flush()
        proc = subprocess.run(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=config["cwd"]
        )
    if proc.returncode != 0:
        tail = (trial_dir / "train.log").read_text().strip().splitlines()[-1:]
        raise RuntimeError(f"trial {trial_dir.name} failed: {' '.join(tail)}")
    row = {
        "task": config["task"],
        "seed": config["seed"],
        **config["setting"],
        **_outcome(trial_dir, config["target"], config["measure"]),
    }
    done.write_text(json.dumps(row))
    try:  # report to Tune when run by it (its progress table shows the outcome)
        from ray import tune

        tune.report({k: v for k, v in row.items() if isinstance(v, (int, float, bool))})
    except Exception:  # run outside a Tune session: nothing to report to
        pass
    return row


def _run_named_trial(config: dict[str, Any], trials: dict[str, dict[str, Any]]) -> dict:
    return _run_trial(trials[config["trial"]])


def sweep(
    task: str,
    seeds: Sequence[int] = range(10),
    settings: Mapping[str, Sequence[Any]] | None = None,
    *,
    out: str | Path,
    train_args: Sequence[str] = (),
    address: str | None = None,
    num_cpus: int | None = None,
    verbose: int = 1,
) -> list[dict[str, Any]]:
    """Train ``task`` once per seed and setting with Ray Tune; returns the rows of
    ``out/results.csv`` (also written as ``results.json``).

    ``settings`` maps a ``train`` flag name (``lr``, ``batch_size``, ...) to the values to
    try; ``train_args`` are ``ntm-nb train`` flags for every trial (a task module:
    ``["--task-module", "my_tasks"]``). ``address`` joins a running Ray cluster; otherwise Ray
    starts here with ``num_cpus`` (default: every core), unless it is already running.
    """
    cls = task_class(task)
    seeds = [int(s) for s in seeds]
    if not seeds or min(seeds) < 0:
        raise ValueError(f"seeds: expected at least one seed, all >= 0, got {seeds!r}")
    if num_cpus is not None:  # Ray would wait for ever on 0 cores, and fail deep on < 0
        check_positive_int("num_cpus", num_cpus)
    grid = _grid(settings or {})
    out = Path(out)
    target = _target_of(task, train_args)
    args = list(train_args)
    if "--threads" not in args:
        args += ["--threads", "1"]  # one trial per core
    if "--checkpoint-every" not in args:
        args += ["--checkpoint-every", "500"]  # a stopped sweep resumes its trials from here
    if target is not None and "--target-cost" not in args:
        args += ["--target-cost", str(target)]
    try:
        import ray
        from ray import tune
    except ImportError:
        raise ImportError('ntm_nb.sweep needs Ray Tune: pip install "ntm_nb[sweep]"') from None

    started = not ray.is_initialized()
    if started:
        _start_ray(ray, address, num_cpus)
    try:
        gpu = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        trial_args = args + (["--device", "cuda"] if gpu and "--device" not in args else [])
        trials = [
            {
                "task": task,
                "seed": seed,
                "setting": setting,
                "args": trial_args + _flags(setting),
                "target": target,
                "measure": cls.measure,
                "trial_dir": str((out / "trials" / _trial_name(seed, setting)).resolve()),
                "cwd": os.getcwd(),  # where a --task-module is found
            }
            for setting in grid
            for seed in seeds
        ]
        by_name = {Path(trial["trial_dir"]).name: trial for trial in trials}
        tuner = tune.Tuner(
            tune.with_resources(
                tune.with_parameters(_run_named_trial, trials=by_name), {"cpu": 1, "gpu": gpu}
            ),
            param_space={"trial": tune.grid_search(list(by_name))},  # Tune's table: the names
            run_config=tune.RunConfig(
                name="tune", storage_path=str((out / "ray").resolve()), verbose=verbose
            ),
        )
        grid_result = tuner.fit()
    finally:
        if started:
            ray.shutdown()
    errors = [str(r.error).strip().splitlines()[-1] for r in grid_result if r.error]
    rows = load_results(out, [Path(t["trial_dir"]) for t in trials])
    _write(out, rows, list((settings or {}).keys()))
    write_curves(out)
    if errors:
        raise RuntimeError(f"{len(errors)} trial(s) failed; the first: {errors[0]}")
    return rows


def _start_ray(ray: Any, address: str | None, num_cpus: int | None, attempts: int = 3) -> None:
    """``ray.init`` here (or joining ``address``); on a busy machine Ray's node can time out
    while starting, so it is tried again before giving up with one line."""
    for attempt in range(attempts):
        try:
            if address is not None:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
            return
        except Exception as err:  # Ray raises a bare Exception when its node times out
            ray.shutdown()
            if attempt == attempts - 1:
                where = f"at {address}" if address else "here"
                first = (str(err).strip().splitlines() or [type(err).__name__])[0]
                raise RuntimeError(f"Ray did not start {where}: {first}") from None


def _cell(text: str) -> Any:
    """A results.csv cell as the number, boolean or text it stands for (empty: None)."""
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _read_csv(path: Path) -> list[dict]:
    """Rows of a results.csv, with numbers and booleans as such (empty cells: None)."""
    with open(path, newline="") as f:
        return [{k: _cell(v) for k, v in row.items()} for row in csv.DictReader(f)]


def load_results(out: str | Path, trial_dirs: Sequence[Path] | None = None) -> list[dict]:
    """The rows of the finished trials of the sweep in ``out`` (a sweep's folder, or a
    shipped ``results.csv`` or its folder, as in ``ntm_nb/pretrained/sweeps``)."""
    out = Path(out)
    if out.suffix == ".csv" or (trial_dirs is None and not (out / "trials").is_dir()):
        path = out if out.suffix == ".csv" else out / "results.csv"
        if not path.is_file():
            raise ValueError(f"results: no sweep at {str(out)!r} (no trials/ or results.csv)")
        return _read_csv(path)
    dirs = trial_dirs if trial_dirs is not None else sorted((out / "trials").glob("*"))
    rows = []
    for d in dirs:
        done = Path(d) / "result.json"
        if done.is_file():
            rows.append(json.loads(done.read_text()))
    return rows


def _write(out: Path, rows: list[dict], varied: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out, rows, varied)
    replace_file(out / "results.json", json.dumps(rows, indent=1).encode())


def _write_csv(out: Path, rows: list[dict], varied: list[str]) -> None:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=[*COLUMNS, *varied, *RESULT_COLUMNS],
                            extrasaction="ignore")  # fmt: skip
    writer.writeheader()
    writer.writerows(rows)
    replace_file(out / "results.csv", text.getvalue().encode())


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a success rate k/n (95% for z = 1.96)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def sweep_summary(results: Sequence[Mapping[str, Any]] | str | Path) -> list[dict[str, Any]]:
    """Per setting (the columns other than the fixed ones): trials, solved, the success
    rate with its 95% Wilson interval and the median sequences to target of the solved."""
    rows = load_results(results) if isinstance(results, (str, Path)) else list(results)
    fixed = {*COLUMNS, *RESULT_COLUMNS}
    groups: dict[tuple, list] = {}
    for row in rows:
        key = tuple(sorted((k, v) for k, v in row.items() if k not in fixed))
        groups.setdefault((row["task"], key), []).append(row)
    summary = []
    for (task, key), members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        solved = [r for r in members if r["solved"]]
        low, high = _wilson(len(solved), len(members))
        seqs = [r["sequences_to_target"] for r in solved]
        summary.append(
            {
                "task": task,
                **dict(key),
                "trials": len(members),
                "solved": len(solved),
                "rate": len(solved) / len(members),
                "ci95": (low, high),
                "median_sequences_to_target": statistics.median(seqs) if seqs else None,
            }
        )
    return summary


def format_summary(summary: Sequence[Mapping[str, Any]]) -> str:
    """The summary as text, one line a setting."""
    lines = []
    for s in summary:
        setting = ", ".join(
            f"{k}={v}"
            for k, v in s.items()
            if k not in ("task", "trials", "solved", "rate", "ci95", "median_sequences_to_target")
        )
        median = s["median_sequences_to_target"]
        lines.append(
            f"{s['task']}{' (' + setting + ')' if setting else ''}: {s['solved']}/{s['trials']} "
            f"solved ({s['rate']:.0%}, 95% interval {s['ci95'][0]:.0%}-{s['ci95'][1]:.0%}); "
            f"median sequences to target: {'-' if median is None else f'{median:,.0f}'}"
        )
    return "\n".join(lines)


#: The learning-curve fields kept in a sweep's ``curves.json`` (the held-out evaluations).
CURVE_FIELDS = (
    *("eval_step", "eval_sequences", "eval_seconds", "eval_bits", "eval_cost_bits"),
    *("rollback_step", "restart_step"),  # where the rollback and restart levers acted
)
#: Kept too where a trial has them (so the files of sweeps without the lever stay as made).
CURVE_FIELDS_IF_ANY = ("curriculum_step",)  # where a paced curriculum grew


def write_curves(out: str | Path) -> Path:
    """Write ``out/curves.json``: every finished trial's held-out learning curve and outcome,
    small enough to ship beside ``results.csv`` (the trials' folders hold the models)."""
    return _write_curves(Path(out), sweep_curves(out))


def _write_curves(out: Path, curves: Sequence[tuple[str, History, bool]]) -> Path:
    record = {
        name: {
            "solved": solved,
            "history": {
                **{k: getattr(h, k) for k in CURVE_FIELDS},
                **{k: getattr(h, k) for k in CURVE_FIELDS_IF_ANY if getattr(h, k)},
            },
        }
        for name, h, solved in curves
    }
    path = out / "curves.json"
    replace_file(path, (json.dumps(record, indent=None, separators=(",", ":")) + "\n").encode())
    return path


def _natural(text: str) -> list:
    """A sort key under which ``seed=2`` comes before ``seed=10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def merge_sweeps(sources: Sequence[str | Path], out: str | Path) -> list[dict[str, Any]]:
    """Merge the finished trials of ``sources`` (sweep folders, or shipped folders with
    ``results.csv`` and ``curves.json``) into the shipped folder ``out``: its
    ``results.csv`` (one row a trial, sorted by setting and seed) and ``curves.json``.
    What ``out`` already holds is kept, so new seeds of a shipped sweep are appended with
    ``merge_sweeps([new_sweep], shipped)``. Returns the merged rows.

    The sources must be of one task and vary the same settings; a trial found twice must
    have the same row in both (a trial run twice with different outcomes is an error, not
    a silent choice between them)."""
    out = Path(out)
    folders = [Path(s) for s in sources]
    if (out / "results.csv").is_file() and out.resolve() not in {f.resolve() for f in folders}:
        folders.insert(0, out)
    if not folders:
        raise ValueError("merge_sweeps: sources: expected at least one sweep folder")
    fixed = {*COLUMNS, *RESULT_COLUMNS}
    rows: dict[tuple, dict] = {}
    curves: dict[str, tuple[str, History, bool]] = {}
    first: tuple[str, list[str]] | None = None  # the task and the varied settings
    for folder in folders:
        new_rows = load_results(folder)
        if not new_rows:
            raise ValueError(f"merge_sweeps: {str(folder)!r} holds no finished trial")
        for row in new_rows:  # as results.csv reads back, whichever the source
            row = {k: _cell("" if v is None else str(v)) for k, v in row.items()}
            this = (row["task"], [k for k in row if k not in fixed])
            first = first or this
            if this[0] != first[0] or set(this[1]) != set(first[1]):
                raise ValueError(
                    f"merge_sweeps: {str(folder)!r} is not the same sweep: task {this[0]!r} "
                    f"varying {this[1]}, where the first is {first[0]!r} varying {first[1]}"
                )
            key = (tuple(str(row[k]) for k in first[1]), row["seed"])
            if key in rows and rows[key] != row:
                raise ValueError(
                    f"merge_sweeps: seed {row['seed']} {dict(zip(first[1], key[0]))} is in "
                    f"two sources with different results: {rows[key]} and {row}"
                )
            rows[key] = row
        for name, history, solved in sweep_curves(folder):
            if name in curves and curves[name][1].eval_bits != history.eval_bits:
                raise ValueError(
                    f"merge_sweeps: trial {name} is in two sources with different curves"
                )
            curves[name] = (name, history, solved)
    varied = first[1] if first else []
    merged = [rows[key] for key in sorted(rows)]
    if len(curves) != len(merged):
        raise ValueError(
            f"merge_sweeps: {len(merged)} results but {len(curves)} learning curves: "
            "every source needs both (a sweep's trials/, or results.csv and curves.json)"
        )
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out, merged, varied)
    _write_curves(out, [curves[name] for name in sorted(curves, key=_natural)])
    return merged


def sweep_curves(out: str | Path) -> list[tuple[str, History, bool]]:
    """(trial name, learning curves, solved) of every finished trial, for ``viz.plot_sweep``:
    from the trials' folders, or, for a shipped sweep without them, from ``curves.json``."""
    out = Path(out)
    curves = []
    if not (out / "trials").is_dir() and (out / "curves.json").is_file():
        for name, item in json.loads((out / "curves.json").read_text()).items():
            curves.append((name, History.from_dict(item["history"]), bool(item["solved"])))
        return curves
    for d in sorted((out / "trials").glob("*")):
        if (d / "result.json").is_file():
            row = json.loads((d / "result.json").read_text())
            history = History.from_dict(load_record(d).get("history") or {})
            curves.append((d.name, history, bool(row["solved"])))
    return curves


# ----------------------------------------------------------------------------------------
# The command line: ntm-nb sweep (dispatched by ntm_nb.cli.main)
# ----------------------------------------------------------------------------------------
def _parse_set(items: Sequence[str]) -> dict[str, list[Any]]:
    settings: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ValueError(f"--set: expected FLAG=V1,V2,..., got {item!r}")
        settings[key.strip().lstrip("-").replace("-", "_")] = [v.strip() for v in values.split(",")]
    return settings


def sweep_main(argv: Sequence[str], validate: Any) -> int:
    """``ntm-nb sweep TASK --seeds A:B [--set FLAG=V1,V2 ...] --out DIR [train flags]`` or
    ``ntm-nb sweep --summary DIR``. ``validate(train_argv)`` parses a train command line
    (the CLI's parser), so a bad flag fails at once, before any trial starts."""
    parser = argparse.ArgumentParser(
        prog="ntm-nb sweep",
        description="Train TASK for every seed (and every --set value) with Ray Tune; every "
        "ntm-nb train flag is accepted and applies to all trials.",
    )
    parser.add_argument("task", nargs="?", help="the task (omit with --summary)")
    parser.add_argument("--seeds", default="0:10", help="A:B is seeds A..B-1 (default 0:10)")
    parser.add_argument("--set", action="append", default=[], metavar="FLAG=V1,V2",
                        help="vary a train flag over the grid (repeatable)")  # fmt: skip
    parser.add_argument("--out", type=Path, help="the sweep's folder (results.csv, trials/)")
    parser.add_argument("--address", help="join this running Ray cluster (default: start one)")
    parser.add_argument("--num-cpus", type=int, help="cores Ray may use here (default: all)")
    parser.add_argument("--summary", type=Path, metavar="DIR", help="print DIR's success rates")
    parser.add_argument("--merge", type=Path, nargs="+", metavar="DIR",
                        help="merge these sweeps' finished trials into --out (a shipped "
                        "folder: results.csv and curves.json; what it holds is kept)")  # fmt: skip
    args, train_args = parser.parse_known_args(argv)
    try:
        if args.summary is not None:
            print(format_summary(sweep_summary(args.summary)))
            return 0
        if args.merge is not None:
            if args.out is None or args.task is not None or train_args:
                raise ValueError("--merge DIR ... needs --out DEST and no task or train flags")
            rows = merge_sweeps(args.merge, args.out)
            print(format_summary(sweep_summary(rows)))
            print(f"merged into: {args.out / 'results.csv'}")
            return 0
        if args.task is None or args.out is None:
            raise ValueError("TASK and --out are needed (or --summary DIR)")
        if args.num_cpus is not None:  # checked here too, to name the flag, not the argument
            check_positive_int("--num-cpus", args.num_cpus)
        seeds, settings = parse_seeds(args.seeds), _parse_set(args.set)
        for setting in _grid(settings) or [{}]:
            validate(["train", args.task, *train_args, *_flags(setting)])
        rows = sweep(args.task, seeds, settings, out=args.out, train_args=train_args,
                     address=args.address, num_cpus=args.num_cpus)  # fmt: skip
    except (ValueError, RuntimeError, ImportError) as err:
        print(f"ntm-nb sweep: error: {err}", file=sys.stderr)
        return 2
    print(format_summary(sweep_summary(rows)))
    print(f"results: {args.out / 'results.csv'}")
    return 0
