"""Can a CPU training step of the CIFAR-10 dcgan be made faster? channels_last and torch.compile, in one run.

    python benchmarks/cpu_epoch.py --data-root ../shared/data/cifar-10 --width 64 --threads 1
    python benchmarks/cpu_epoch.py --dataset mnist --data-root ../shared/data/mnist --variants eager,channels_last

The same DCGAN (seeded alike), batch 128 of real CIFAR-10 training images
(converted the way :class:`ganbench.jobs.training.Trainer` converts them:
``to_model_input``, uint8 -> float in [-1, 1], MNIST padded to 32 px) is trained with ``train_step`` under each
variant, the variants alternating, ``--rounds`` times:

- ``eager``: what ganbench runs on the CPU today (contiguous NCHW, no compile);
- ``channels_last``: modules and batches in ``torch.channels_last`` (what the
  CUDA path uses);
- ``compile``: ``torch.compile`` (inductor) on G and D; its compilation is
  paid in the warm-up steps, which are not timed (a 25-epoch run pays it once).

Each round times ``--steps`` steps after ``--warmup`` untimed ones. The
figure is the ratio of a variant's images per second to eager's in the same
round, median over rounds: the machine's other load moves the absolute
numbers, not (much) the ratio. A variant is worth adopting only if its ratio
clears 1 by more than the rounds' scatter. Results go to ``cpu_epoch.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from ganbench.api.data import to_model_input
from ganbench.datasets.open import load_dataset
from ganbench.api.model import Batch
from ganbench.builtin.models.dcgan.model import DCGAN

HERE = Path(__file__).parent
VARIANTS = ("eager", "channels_last", "compile")


def build(variant: str, width: int, dataset) -> DCGAN:
    torch.manual_seed(0)
    model = DCGAN(width=width)
    model.setup(dataset.info(), torch.device("cpu"))
    if variant == "channels_last":
        for module in model.modules().values():
            module.to(memory_format=torch.channels_last)
    if variant == "compile":
        model.g, model.d = torch.compile(model.g), torch.compile(model.d)
    model.train(True)
    return model


def batches(model: DCGAN, dataset, batch: int, count: int, variant: str) -> list[Batch]:
    """``count`` batches of real training images, converted as the trainer converts them."""
    g = torch.Generator().manual_seed(1)
    fmt = torch.channels_last if variant == "channels_last" else torch.contiguous_format
    out = []
    for _ in range(count):
        idx = torch.randint(len(dataset.train_x), (batch,), generator=g)
        x = to_model_input(dataset.train_x[idx], model.image_size, model.value_range, torch.device("cpu"))
        out.append(Batch(x.contiguous(memory_format=fmt), dataset.train_y[idx]))
    return out


def images_per_second(variant: str, width: int, dataset, batch: int, warmup: int, steps: int) -> float:
    model = build(variant, width, dataset)
    data = batches(model, dataset, batch, warmup + steps, variant)
    for b in data[:warmup]:
        model.train_step(b)
    began = time.perf_counter()
    for b in data[warmup:]:
        model.train_step(b)
    return steps * batch / (time.perf_counter() - began)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--data-root", required=True)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--output", type=Path, default=HERE / "cpu_epoch.jsonl")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dataset = load_dataset(args.dataset, args.data_root)
    variants = args.variants.split(",")
    rates: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(args.rounds):
        for v in variants:
            rates[v].append(images_per_second(v, args.width, dataset, args.batch, args.warmup, args.steps))
            print(f"round {r + 1}: {v:14s} {rates[v][-1]:7.1f} img/s", flush=True)
    record = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "dataset": args.dataset,
              "width": args.width,
              "batch": args.batch, "steps": args.steps, "warmup": args.warmup, "threads": args.threads,
              "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
              "images_per_s": rates, "ratio_to_eager": {}}
    for v in variants:
        if v == "eager" or "eager" not in rates:
            continue
        ratios = [a / b for a, b in zip(rates[v], rates["eager"])]
        record["ratio_to_eager"][v] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}
        print(f"{v}: {statistics.median(ratios):.3f}x eager (rounds {min(ratios):.3f}-{max(ratios):.3f})")
    with open(args.output, "a") as f:
        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
