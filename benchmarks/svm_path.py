"""The ``svm`` probe's C path: the whole walk against the early stop, on real CIFAR-10 features.

Features: ``random-d`` (an untrained DCGAN discriminator, width 64, seed 0),
view ``d`` (7,168 dims), CIFAR-10's official batches, batch-norm statistics
recomputed on the training images (the run's default), extracted and cached
through the core (:func:`ganbench.jobs.run.prepare_model`, the same features as
``ganbench run --model random-d --model-opt width=64 --dataset cifar10``).

The probe then runs twice in one process on the same features, all labels,
its default options but ``stop_after_falls``: 0 (the whole grid, what
version 2 did), then each of ``--falls`` (default: 2, the probe's default). Each run's chosen C, test accuracy, the C
values evaluated with their validation accuracies, why the walk stopped and
its seconds are appended as JSON lines to ``--out`` and printed as a
Markdown table; the two figures must be equal (the script exits 1 if not).

``--train-size N`` subsamples the 50,000 training images (seeded, the same
N for both walks; the validation split is then a sixth of N) to bound the
CPU time on a shared machine; the test split is always the whole 10,000.

Usage::

    python benchmarks/svm_path.py --data-root ../shared/data/cifar-10 --train-size 20000 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

import ganbench
from ganbench.builtin.probes.svm import probe as svm
from ganbench.jobs.run import Job, prepare_model


def features(data_root: str, cache_dir: str, width: int, seed: int):
    job = Job("random-d", "cifar10", [], model_options={"width": str(width)}, data_root=data_root,
              cache_dir=cache_dir, device="cpu", seed=seed)
    prepared = prepare_model(job, log=print)
    train = prepared.features.split("train", "d"), prepared.dataset.train_y.numpy()
    test = prepared.features.split("test", "d"), prepared.dataset.test_y.numpy()
    return prepared.dataset, train, test


def subsample(train, size: int, seed: int):
    x, y = train
    if not size or size >= len(y):
        return x, y
    keep = np.sort(np.random.default_rng(seed).permutation(len(y))[:size])
    return np.ascontiguousarray(x[keep]), y[keep]


def context(dataset, train, test, seed: int, log):
    """A ProbeContext over fixed features (the images are never looked at)."""
    (train_x, train_y), (test_x, test_y) = train, test
    data = ganbench.Dataset(dataset.name, torch.zeros(len(train_y), 1, 1, 1, dtype=torch.uint8),
                            torch.from_numpy(train_y), torch.zeros(len(test_y), 1, 1, 1, dtype=torch.uint8),
                            torch.from_numpy(test_y), dataset.classes)
    features = {"train": train_x, "test": test_x}

    def unavailable(*args):
        raise AssertionError("the svm probe needs no images")

    return ganbench.ProbeContext(data, "d", seed, torch.device("cpu"), Path("."), None, features.__getitem__,
                                 unavailable, unavailable, log=log)


def walk(dataset, train, test, falls: int, seed: int) -> dict:
    options = {o.name: o.default for o in svm.OPTIONS}
    options["stop_after_falls"] = falls
    started = time.perf_counter()
    acc = next(m for m in svm.SVM(**options).run(context(dataset, train, test, seed, print)) if m.name == "acc")
    seconds = time.perf_counter() - started
    d = acc.details
    return {"stop_after_falls": falls, "seconds": round(seconds, 1), "acc": acc.value, "c": d["c"],
            "c_evaluated": d["c_evaluated"], "val_acc": d["val_acc"], "walk_stopped": d["walk_stopped"],
            "n_fit": d["n_fit"], "n_val": d["n_val"], "n_test": acc.n_test, "dim": d["dim"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar-10"))
    parser.add_argument("--cache-dir", default=os.environ.get("GANBENCH_CACHE", str(Path.home() / ".cache" / "ganbench")))
    parser.add_argument("--train-size", type=int, default=0, help="subsample the training split (0 = all 50,000)")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--falls", type=int, nargs="+", default=[2],
                        help="stop_after_falls values walked after the whole walk (0) in the same process")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", default=str(Path(__file__).with_name("svm_path.jsonl")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset, train, test = features(args.data_root, args.cache_dir, args.width, args.seed)
    train = subsample(train, args.train_size, args.seed)
    rows = [walk(dataset, train, test, falls, args.seed) for falls in (0, *args.falls)]
    common = {"benchmark": "svm_path", "features": f"random-d width {args.width} view d, cifar10, seed {args.seed}",
              "n_train": len(train[1]), "threads": args.threads, "machine": platform.machine(),
              "torch": torch.__version__, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with open(args.out, "a", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps({**common, **row}) + "\n")
    print("| stop_after_falls | C values evaluated | walk stopped | chosen C | test acc | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['stop_after_falls']} | {', '.join(f'{c:g}' for c in r['c_evaluated'])} | {r['walk_stopped']} "
              f"| {r['c']:g} | {r['acc']:.4f} | {r['seconds']:.1f} |")
    whole, same = rows[0], True
    for early in rows[1:]:
        equal = (whole["c"], whole["acc"]) == (early["c"], early["acc"])
        same &= equal
        print(f"stop_after_falls={early['stop_after_falls']}: {'same' if equal else 'DIFFERENT'} C and test accuracy; "
              f"seconds whole / early: {whole['seconds'] / early['seconds']:.2f}x")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
