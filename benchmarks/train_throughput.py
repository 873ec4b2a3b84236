"""Training throughput of the NTM on the copy task: sequences per second, eager vs compiled.

The paper's copy setup (LSTM controller of 100 units, 1 read + 1 write head, N=128, M=20),
sequences of random length 1-20 (one length per batch), Adam. Each measured iteration is
a whole training step: sample a batch, forward, backward, clip, optimizer step. Compile
time is excluded here (see time_to_solve.py for the cold-start figure) and printed apart.

    python benchmarks/train_throughput.py    # batch 1, 16, 64; eager, compiled (unroll 1 and 2)
    python benchmarks/train_throughput.py --batch-sizes 64 256 --device cuda
    python benchmarks/train_throughput.py --compare-peer PATH --threads 1    # vs pytorch-ntm
    python benchmarks/train_throughput.py --compare-peer PATH --batch 1 16 --rounds 5
    python benchmarks/train_throughput.py --population 1 4 8 16 --batch 32 --threads 1

--compare-peer PATH times loudinthecloud/pytorch-ntm (a checkout at PATH; imported from
there, never copied here) against ntm_nb's compiled step (unroll: the first of --unrolls,
default 1 as in TrainConfig), in one process, in interleaved rounds (ntm_nb, peer, ntm_nb,
peer, ...), at batch 16 unless --batch says otherwise, on the CPU. Each side trains its
own way: the peer's defaults (LSTM 100, 1 layer, 1R+1W, N=128, M=20, 8 bits) with its
dataloader, BCELoss, RMSprop and +-10 clamp, as its train.py's train_batch; ntm_nb as above
(Adam, norm clip 50). Both see the same fixed, shuffled list of lengths, 1-20 each
equally often (--peer-batches of them; ntm_nb runs the list --ntm-repeats times per round,
being that much faster). The thread count is --threads for both (torch is set once per
process); use --threads 1 on a busy machine. Prints each round, then the medians and
their ratio ntm_nb/peer.

--population K [K ...] times ``ntm_nb.population.Population`` (K NTMs trained as one
vmapped, compiled model, one Adam over the stacked parameters, a per-member norm clip)
against the single compiled model, in interleaved rounds, at the first --batch (default 32)
per member. Every step draws one length from a shuffled list of 1-20 for all members (no
padding), each member its own bits. Prints aggregate sequences/s and its ratio to one model.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import torch

import ntm_nb
from ntm_nb.population import Population, stack_batches
from ntm_nb.tasks import CopyTask
from ntm_nb.train import masked_loss


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def make_step(
    batch_size: int, compiled: bool, device: str, seed: int = 0, unroll: int = 1
) -> Callable[[int | None], int]:
    """ntm_nb's training step on copy: ``one_step(length=None)`` trains on one batch (of
    random length 1-20, or of ``length``) and returns the number of sequences in it."""
    torch.manual_seed(seed)
    model = ntm_nb.NTM().to(device)
    if compiled:
        model.compile_step(unroll=unroll)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    task = CopyTask(same_length=True)
    gen = torch.Generator().manual_seed(seed)
    params = list(model.parameters())

    def one_step(length: int | None = None) -> int:
        t = task if length is None else dataclasses.replace(task, min_len=length, max_len=length)
        x, y, mask = (v.to(device) for v in t.sample(batch_size, gen))
        loss = masked_loss(model(x), y, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 50.0)
        opt.step()
        return x.shape[0]

    return one_step


def measure(
    batch_size: int, compiled: bool, seconds: float, device: str, seed: int = 0, unroll: int = 1
) -> tuple[float, float]:
    """Returns (sequences per second, seconds spent in warm-up incl. compilation)."""
    one_step = make_step(batch_size, compiled, device, seed, unroll)
    t0 = time.perf_counter()
    for _ in range(3):  # compiles, and warms up caches and allocators
        one_step()
    _sync(device)
    warmup = time.perf_counter() - t0
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        n += one_step()
    _sync(device)
    return n / (time.perf_counter() - t0), warmup


def make_population_step(
    members: int, batch_size: int, device: str, seed: int = 0
) -> Callable[[int], int]:
    """``one_step(length)``: K = ``members`` NTMs trained one step as a ``Population``, every
    member on its own batch of that length; returns the sequences trained (K * batch)."""
    models = []
    for member_seed in range(seed, seed + members):  # as make_step builds its one model
        torch.manual_seed(member_seed)
        models.append(ntm_nb.NTM().to(device))
    pop = Population(models)
    pop.compile_step()
    opt = torch.optim.Adam(pop.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)

    def one_step(length: int) -> int:
        task = CopyTask(min_len=length, max_len=length)
        batch = stack_batches([task.sample(batch_size, gen) for _ in range(members)])
        x, y, mask = (t.to(device) for t in batch)
        loss = pop.loss(x, y, mask)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        pop.clip_grad_norm_(50.0)
        opt.step()
        return members * batch_size

    return one_step


def compare_population(args: argparse.Namespace, sizes: list[int]) -> None:
    """Population of K models vs one model, interleaved rounds; prints the table."""
    batch = (args.batch_sizes or [32])[0]
    lengths = [n for n in range(1, 21) for _ in range(2)]
    random.Random(0).shuffle(lengths)
    print(f"copy, lengths 1-20 (one per step, shared by the members), batch {batch} per member")
    runners: dict[str, Callable[[int | None], int]] = {
        "single": make_step(batch, True, args.device)
    }
    for k in sizes:
        runners[f"K={k}"] = make_population_step(k, batch, args.device)
    for name, run in runners.items():  # compile and warm up, timed apart
        t0 = time.perf_counter()
        for n in (20, 1, 20):
            run(n)
        _sync(args.device)
        print(f"  warm-up {name}: {time.perf_counter() - t0:.1f} s", flush=True)
    rates: dict[str, list[float]] = {name: [] for name in runners}
    for r in range(args.rounds):
        for name, run in runners.items():
            t0, n = time.perf_counter(), 0
            for length in lengths:
                n += run(length)
            _sync(args.device)
            rates[name].append(n / (time.perf_counter() - t0))
        print(f"  round {r + 1}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in rates.items()))
    single = statistics.median(rates["single"])
    print(f"\n| {'models':>6} | {'aggregate seq/s':>15} | {'x one model':>11} |")
    print(f"|{'-' * 8}|{'-' * 17}|{'-' * 13}|")
    for name, v in rates.items():
        med = statistics.median(v)
        print(f"| {name:>6} | {med:>15.0f} | {med / single:>11.2f} |")


def load_peer(path: str) -> ModuleType:
    """pytorch-ntm's ``tasks.copytask`` from the checkout at ``path``.

    Its attrs fields are declared with ``attrib(convert=...)``, which attrs removed in 19.2;
    while it is imported, ``attr.attrib`` maps ``convert`` to ``converter`` (the peer's files
    stay as they are)."""
    import attr

    root = os.path.abspath(path)
    if not os.path.isfile(os.path.join(root, "tasks", "copytask.py")):
        raise SystemExit(f"--compare-peer: no tasks/copytask.py under {root}")
    sys.path.insert(0, root)
    original = attr.attrib

    def attrib(*args: Any, convert: Any = None, **kwargs: Any) -> Any:
        if convert is not None:
            kwargs["converter"] = convert
        return original(*args, **kwargs)

    attr.attrib = attrib
    try:
        copytask = importlib.import_module("tasks.copytask")
    finally:
        attr.attrib = original
    if not os.path.abspath(copytask.__file__).startswith(root + os.sep):
        raise SystemExit(f"--compare-peer: imported {copytask.__file__}, not the one in {root}")
    return copytask


def make_peer_step(copytask: ModuleType, batch_size: int, seed: int = 0) -> Callable[[int], int]:
    """pytorch-ntm's training step on copy at its defaults: ``one_step(length)``.

    The body of its train.py's ``train_batch`` (which this cannot import: train.py imports
    argcomplete and the repeat-copy task at the top), less the error-bit count it computes
    after the update (a metric, not training; leaving it out only flatters the peer)."""
    import numpy as np

    random.seed(seed)  # the peer's dataloader draws from random and numpy.random
    np.random.seed(seed)
    torch.manual_seed(seed)
    training = copytask.CopyTaskModelTraining(params=copytask.CopyTaskParams(batch_size=batch_size))
    net, criterion, optimizer = training.net, training.criterion, training.optimizer
    width = training.params.sequence_width

    def one_step(length: int) -> int:
        _, X, Y = next(copytask.dataloader(1, batch_size, width, length, length))
        optimizer.zero_grad()
        net.init_sequence(batch_size)
        for i in range(X.size(0)):  # the sequence and the delimiter
            net(X[i])
        y_out = torch.zeros(Y.size())
        for i in range(Y.size(0)):  # the output, no input given
            y_out[i], _ = net()
        loss = criterion(y_out, Y)
        loss.backward()
        for p in net.parameters():  # train.py's clip_grads
            if p.grad is not None:
                p.grad.data.clamp_(-10, 10)
        optimizer.step()
        loss.item()
        return batch_size

    return one_step


def _timed(one_step: Callable[[int], int], lengths: list[int], device: str) -> tuple[float, float]:
    """Trains on one batch per length; returns (sequences per second, seconds)."""
    n, t0 = 0, time.perf_counter()
    for length in lengths:
        n += one_step(length)
    _sync(device)
    elapsed = time.perf_counter() - t0
    return n / elapsed, elapsed


def compare_peer(args: argparse.Namespace, batch_sizes: list[int]) -> None:
    """ntm_nb vs pytorch-ntm, interleaved rounds per batch size (see the module docstring)."""
    copytask = load_peer(args.compare_peer)
    peer_params = copytask.CopyTaskParams()
    lo, hi = CopyTask().training_range()
    if (peer_params.sequence_min_len, peer_params.sequence_max_len) != (lo, hi):
        raise SystemExit(f"peer's lengths differ from ntm_nb's {lo}-{hi}")
    unroll = args.unrolls[0]
    print(
        f"copy task, lengths {lo}-{hi}, a full training step per batch (sample, forward, "
        "backward, clip, optimizer step)\n"
        f"  ntm_nb: NTM(LSTM 100, 1R+1W, N=128, M=20), Adam, compiled, unroll {unroll}\n"
        f"  pytorch-ntm ({os.path.abspath(args.compare_peer)}): EncapsulatedNTM(LSTM "
        f"{peer_params.controller_size} x {peer_params.controller_layers}, "
        f"{peer_params.num_heads}R+{peer_params.num_heads}W, N={peer_params.memory_n}, "
        f"M={peer_params.memory_m}), RMSprop, eager\n"
        f"  per round: {args.peer_batches} batches for the peer, the same lengths "
        f"{args.ntm_repeats}x for ntm_nb\n"
    )
    lengths = [lo + i % (hi - lo + 1) for i in range(args.peer_batches)]
    random.Random(0).shuffle(lengths)
    for b in batch_sizes:
        ours = make_step(b, True, args.device, unroll=unroll)
        peer = make_peer_step(copytask, b)
        t0 = time.perf_counter()
        for length in (hi, lo, hi):  # compiles, and warms up caches and allocators
            ours(length)
        _sync(args.device)
        warm = time.perf_counter() - t0
        for length in (hi, lo):
            peer(length)
        print(f"batch {b}: ntm_nb warm-up (compilation) {warm:.1f} s\n")
        print(
            f"| {'batch':>5} | {'round':>5} | {'ntm_nb seq/s':>12} | {'s':>5} "
            f"| {'peer seq/s':>10} | {'s':>5} | {'ratio':>6} |"
        )
        print(f"|{'-' * 7}|{'-' * 7}|{'-' * 14}|{'-' * 7}|{'-' * 12}|{'-' * 7}|{'-' * 8}|")
        rates: list[tuple[float, float]] = []
        for r in range(1, args.rounds + 1):
            a, ta = _timed(ours, lengths * args.ntm_repeats, args.device)
            p, tp = _timed(peer, lengths, "cpu")
            rates.append((a, p))
            print(
                f"| {b:>5} | {r:>5} | {a:>12.0f} | {ta:>5.1f} | {p:>10.1f} | {tp:>5.1f} "
                f"| {a / p:>6.1f} |",
                flush=True,
            )
        a = statistics.median(x for x, _ in rates)
        p = statistics.median(y for _, y in rates)
        print(
            f"| {b:>5} | {'med.':>5} | {a:>12.0f} | {'':>5} | {p:>10.1f} | {'':>5} "
            f"| {a / p:>6.1f} |"
        )
        print(
            f"\nbatch {b}, median of {len(rates)} rounds: ntm_nb {a:.0f} seq/s, "
            f"pytorch-ntm {p:.1f} seq/s, ratio ntm_nb/peer {a / p:.1f}x "
            f"(median of the per-round ratios {statistics.median(x / y for x, y in rates):.1f}x)\n",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--batch-sizes",
        "--batch",
        type=int,
        nargs="+",
        default=None,
        help="default: 1 16 64; 16 with --compare-peer",
    )
    parser.add_argument(
        "--modes", nargs="+", default=["eager", "compiled"], choices=["eager", "compiled"]
    )
    parser.add_argument(
        "--unrolls",
        type=int,
        nargs="+",
        default=[1, 2],
        help="compiled steps per call (compiled mode)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time per cell")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--compare-peer",
        metavar="PATH",
        default=None,
        help="time loudinthecloud/pytorch-ntm (a checkout at PATH) against ntm_nb",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (compare)")
    parser.add_argument(
        "--peer-batches", type=int, default=40, help="peer batches per round (compare)"
    )
    parser.add_argument(
        "--ntm-repeats",
        type=int,
        default=10,
        help="ntm_nb runs the peer's lengths this many times per round (compare)",
    )
    parser.add_argument(
        "--population",
        type=int,
        nargs="+",
        metavar="K",
        default=None,
        help="time populations of K models against one model (see above)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.compare_peer and args.device != "cpu":
        parser.error("--compare-peer runs on the CPU only (the peer's tensors are CPU tensors)")
    print(
        f"ntm_nb {ntm_nb.__version__}, torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, device {args.device}"
    )
    if args.compare_peer:
        compare_peer(args, args.batch_sizes or [16])
        return
    if args.population:
        compare_population(args, args.population)
        return
    print(
        "copy task, lengths 1-20, NTM(LSTM 100, 1R+1W, N=128, M=20), Adam, "
        "a full training step per batch\n"
    )
    print(
        f"| {'batch':>5} | {'mode':>8} | {'unroll':>6} | {'sequences/s':>11} | {'warm-up s':>9} |"
    )
    print(f"|{'-' * 7}|{'-' * 10}|{'-' * 8}|{'-' * 13}|{'-' * 11}|")
    for b in args.batch_sizes or [1, 16, 64]:
        for mode in args.modes:
            for unroll in args.unrolls if mode == "compiled" else [1]:
                rate, warm = measure(
                    b, mode == "compiled", args.seconds, args.device, unroll=unroll
                )
                print(
                    f"| {b:>5} | {mode:>8} | {unroll:>6} | {rate:>11.0f} | {warm:>9.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
