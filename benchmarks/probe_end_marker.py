"""Probe (not a speed benchmark): how much does repeat copy's end marker slow the copy phase?

Trains the repeat-copy NTM of the fast preset (32 controller units, Adam 1e-3, batch 32,
one length per batch) on repeat copy with one repeat, i.e. copying lengths 1-10 and
saying "done", and on the same batches with parts of the end marker removed from the
target, and prints the held-out wrong bits per sequence every 250 steps. Variants:

* ``full``: the task as trained (8 data channels + the end-marker channel; the end step);
* ``no-end``: neither the end-marker channel nor the end step is a target;
* ``no-end-step``: the end-marker channel (0 on every data step), not the end step;
* ``no-end-channel``: the end step (data channels 0 there), not the end-marker channel;
* ``no-end-then-full``: ``no-end`` for ``--switch`` steps, then the end-marker channel is
  added to the output layer (a new row, freshly initialised; a new optimizer) and the run
  goes on with ``full``: does a model that can copy learn to say "done" quickly?

    python benchmarks/probe_end_marker.py full 9 --steps 1500
    python benchmarks/probe_end_marker.py no-end-then-full 9 --steps 2000 --switch 1000

The numbers it gave are in ``ntm_nb/pretrained/sweeps/README.md`` (Pilots).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

import torch

from ntm_nb import NTM, NTMConfig, TrainConfig, train
from ntm_nb.tasks.copy import RepeatCopyTask

VARIANTS = ("full", "no-end", "no-end-step", "no-end-channel", "no-end-then-full")


@dataclass(frozen=True)
class _Probe(RepeatCopyTask):
    """Repeat copy with the end step and/or the end-marker channel dropped from the target."""

    end_step: bool = True
    end_channel: bool = True

    @property
    def output_size(self) -> int:
        return self.bits + (1 if self.end_channel else 0)

    def sample(self, batch_size, generator=None):
        plain = RepeatCopyTask(
            bits=self.bits, min_len=self.min_len, max_len=self.max_len, min_repeats=1,
            max_repeats=1, same_length=self.same_length,
        )  # fmt: skip
        x, y, mask = plain.sample(batch_size, generator)
        if not self.end_step:
            mask = mask * (y[..., self.bits] == 0)
        if not self.end_channel:
            y = y[..., : self.bits]
        return x, y, mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("seed", type=int)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--switch", type=int, default=1000, help="no-end-then-full: at step")
    args = parser.parse_args()
    torch.set_num_threads(1)
    full = RepeatCopyTask(min_repeats=1, max_repeats=1, same_length=True)
    variant = "no-end" if args.variant == "no-end-then-full" else args.variant
    if variant == "full":
        task = full
    else:
        task = _Probe(
            min_repeats=1, max_repeats=1, same_length=True,
            end_step=variant == "no-end-channel", end_channel=variant == "no-end-step",
        )  # fmt: skip
    torch.manual_seed(args.seed)
    model = NTM(
        NTMConfig(input_size=task.input_size, output_size=task.output_size, controller_size=32)
    )
    config = TrainConfig(
        steps=args.steps, batch_size=32, optimizer="adam", lr=1e-3, clip_value=None,
        clip_norm=50.0, seed=args.seed, eval_every=250, eval_sequences=256,
    )  # fmt: skip
    if args.variant != "no-end-then-full":
        h = train(model, task, config, progress=False).history
        curve = " ".join(f"{s}:{b:.1f}" for s, b in zip(h.eval_step, h.eval_bits))
        print(f"{args.variant} seed {args.seed}: held-out bits/sequence at step {curve}")
        return
    first = train(model, task, dataclasses.replace(config, steps=args.switch), progress=False)
    grown = NTM(dataclasses.replace(model.config, output_size=full.output_size))
    weights = model.state_dict()
    for name in ("output.weight", "output.bias"):  # the data rows learned, the new row fresh
        fresh = grown.state_dict()[name].clone()
        fresh[: task.output_size] = weights[name]
        weights[name] = fresh
    grown.load_state_dict(weights)
    rest = dataclasses.replace(config, steps=args.steps - args.switch, seed=args.seed + 1)
    h = train(grown, full, rest, progress=False).history
    curve = " ".join(f"{s + args.switch}:{b:.1f}" for s, b in zip(h.eval_step, h.eval_bits))
    before = first.history.eval_bits[-1]
    print(
        f"{args.variant} seed {args.seed}: no-end {before:.1f} bits at step {args.switch}; "
        f"then full: {curve}"
    )


if __name__ == "__main__":
    main()
