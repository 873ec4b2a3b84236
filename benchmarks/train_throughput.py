"""Training throughput of the NTM on the copy task: sequences per second, eager vs compiled.

The paper's copy setup (LSTM controller of 100 units, 1 read + 1 write head, N=128, M=20),
sequences of random length 1-20 (one length per batch), Adam. Each measured iteration is
a whole training step: sample a batch, forward, backward, clip, optimizer step. Compile
time is excluded here (see time_to_solve.py for the cold-start figure) and printed apart.

    python benchmarks/train_throughput.py    # batch 1, 16, 64; eager, compiled (unroll 1 and 2)
    python benchmarks/train_throughput.py --batch-sizes 64 256 --device cuda
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

import ntm_nb
from ntm_nb.tasks import CopyTask
from ntm_nb.train import masked_loss


def measure(
    batch_size: int, compiled: bool, seconds: float, device: str, seed: int = 0, unroll: int = 1
) -> tuple[float, float]:
    """Returns (sequences per second, seconds spent in warm-up incl. compilation)."""
    torch.manual_seed(seed)
    model = ntm_nb.NTM().to(device)
    if compiled:
        model.compile_step(unroll=unroll)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    task = CopyTask(same_length=True)
    gen = torch.Generator().manual_seed(seed)
    params = list(model.parameters())

    def one_step() -> int:
        x, y, mask = (t.to(device) for t in task.sample(batch_size, gen))
        loss = masked_loss(model(x), y, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 50.0)
        opt.step()
        return x.shape[0]

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    t0 = time.perf_counter()
    for _ in range(3):  # compiles, and warms up caches and allocators
        one_step()
    sync()
    warmup = time.perf_counter() - t0
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        n += one_step()
    sync()
    return n / (time.perf_counter() - t0), warmup


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16, 64])
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
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"ntm_nb {ntm_nb.__version__}, torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, device {args.device}"
    )
    print(
        "copy task, lengths 1-20, NTM(LSTM 100, 1R+1W, N=128, M=20), Adam, "
        "a full training step per batch\n"
    )
    print(
        f"| {'batch':>5} | {'mode':>8} | {'unroll':>6} | {'sequences/s':>11} | {'warm-up s':>9} |"
    )
    print(f"|{'-' * 7}|{'-' * 10}|{'-' * 8}|{'-' * 13}|{'-' * 11}|")
    for b in args.batch_sizes:
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
