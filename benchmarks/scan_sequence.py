"""A lever of #16, measured: a whole sequence in one compiled graph.

Times forward + backward of one batch of copy inputs through (a) the NTM as it trains today,
``NTM.step`` compiled and called once per time step, against one compiled call a sequence,
so that dynamo, AOTAutograd and the autograd node are paid once per sequence instead of
once per step, in two ways: (b) ``scan``, the same ``NTM.step`` over the whole sequence
with torch's ``scan`` higher-order op (a prototype in torch 2.13), and (c) ``unrolled``,
``NTM.steps`` with K = the sequence's length (``compile_step(unroll=T)``): every step
traced into one graph, the largest graph the model can give inductor (its compilation
takes minutes, and one is needed for every length). Checks that all give the same
logits, then times them in interleaved rounds and prints the medians and their ratios to
(a). Compile times (cold cache unless TORCHINDUCTOR_CACHE_DIR holds them) are printed apart.

    python benchmarks/scan_sequence.py                  # batch 16, length 10, 1 thread
    python benchmarks/scan_sequence.py --arms step,unrolled --length 22 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch._higher_order_ops.scan import scan
from torch.utils._pytree import tree_map

from ntm_nb import NTM, NTMConfig, NTMState


def _carry(state: NTMState) -> tuple:
    """The state as plain tuples: scan's body may not return a named tuple (torch 2.13)."""
    return (tuple(state.controller), state.memory, state.w, state.r)


def scan_forward(model: NTM, x: torch.Tensor, init: tuple) -> torch.Tensor:
    """Logits (B, T, output) of ``model`` on ``x`` (B, T, input) from the carry ``init``,
    every step ``model.step`` inside one ``scan``. scan refuses a step whose outputs alias
    its inputs or each other, hence the clones."""

    def combine(carry: tuple, xt: torch.Tensor) -> tuple:
        y, state, _ = model.step(xt, NTMState(*carry))
        return tree_map(torch.clone, _carry(state)), y.clone()

    _, ys = scan(combine, init, x.transpose(0, 1).contiguous())
    return ys.transpose(0, 1)


ARMS = {
    "step": "compiled step, one call a step",
    "scan": "scan, one call a sequence",
    "unrolled": "steps unrolled, one call a sequence",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=10, help="time steps per sequence")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=20, help="batches timed per round")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--arms", default="step,scan", help=f"comma-separated, 'step' first: {', '.join(ARMS)}"
    )
    args = parser.parse_args()
    chosen = args.arms.split(",")
    if chosen[0] != "step" or not set(chosen) <= set(ARMS):
        parser.error(f"--arms: 'step' first, then any of scan, unrolled; got {args.arms!r}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = NTMConfig(input_size=9, output_size=8)  # the paper's copy NTM
    per_step, whole, unrolled = NTM(config), NTM(config), NTM(config)
    whole.load_state_dict(per_step.state_dict())
    unrolled.load_state_dict(per_step.state_dict())
    per_step.compile_step()
    unrolled.compile_step(unroll=args.length)  # one compiled call runs the whole sequence
    # The same options as NTM.compile_step on a CPU: static shapes, the C++ wrapper.
    scanned = torch.compile(
        scan_forward, fullgraph=True, dynamic=False, options={"cpp_wrapper": True}
    )
    x = torch.rand(args.batch, args.length, 9)

    def run_per_step() -> torch.Tensor:
        y = per_step(x)
        y.mean().backward()
        return y

    def run_scan() -> torch.Tensor:
        with torch.no_grad():  # the carry enters as data: requires_grad_ is not traceable
            init = _carry(whole.initial_state(args.batch))
        y = scanned(whole, x, init)
        y.mean().backward()
        return y

    def run_unrolled() -> torch.Tensor:
        y = unrolled(x)
        y.mean().backward()
        return y

    runs = {"step": run_per_step, "scan": run_scan, "unrolled": run_unrolled}
    arms = {ARMS[key]: runs[key] for key in chosen}
    first = {}
    for name, fn in arms.items():
        t = time.perf_counter()
        first[name] = fn().detach()
        print(f"{name}: first call (compile) {time.perf_counter() - t:.1f} s")
    reference = first[ARMS["step"]]
    for name in list(arms)[1:]:
        diff = (reference - first[name]).abs()
        print(f"{name}: max |logit difference| to one call a step {diff.max().item():.2e}")
    times: dict[str, list[float]] = {name: [] for name in arms}
    for r in range(args.rounds):
        for name, fn in arms.items():
            t = time.perf_counter()
            for _ in range(args.calls):
                fn()
            times[name].append((time.perf_counter() - t) / args.calls * 1000)
            print(f"round {r + 1}: {name}: {times[name][-1]:.2f} ms a batch")
    medians = {name: statistics.median(v) for name, v in times.items()}
    print(f"batch {args.batch}, length {args.length}, {args.threads} thread(s), fwd + bwd:")
    for name, med in medians.items():
        print(f"  {name}: median {med:.2f} ms a batch")
    base = medians[ARMS["step"]]
    for name in list(arms)[1:]:
        print(f"  {name} / compiled step: {medians[name] / base:.2f}x the time")


if __name__ == "__main__":
    main()
