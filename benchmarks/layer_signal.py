"""Which of D's conv blocks carry the class signal: 1-NN per block of the ``d`` view.

    python benchmarks/layer_signal.py --data-root ../shared/data/mnist \\
        --model dcgan:width=64:epochs=25 --model random-d:width=64 --output benchmarks/layer_signal.md

The DCGAN ``d`` view (Radford et al. §5.1) concatenates every conv block's
activation max-pooled to 4x4: ``16 w``, ``32 w``, ``64 w`` columns at 32 px.
This script loads each model the way ``ganbench run`` does (the cached
training, batch-norm statistics recomputed on the training images, the
cached features), cuts the ``d`` features into their blocks, and scores
each block alone, the whole view, and the whole view with every column
standardized by the training split's mean and deviation (is one block's
scale drowning the others?) with FAISS 1-NN (L2) on the test split.
``--at-epoch E`` entries (``dcgan:width=64:epochs=25:at=5``) probe a snapshot.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import faiss
import numpy as np

from ganbench.system.paths import default_cache_dir
from ganbench.jobs.run import Job, prepare_model


def parse_model(text: str) -> dict:
    """``name[:key=value...]``: width/epochs/at are the run's, other keys model options."""
    name, *pairs = text.split(":")
    spec = {"name": name, "options": {}, "epochs": None, "at": None}
    for pair in pairs:
        key, value = pair.split("=", 1)
        if key in ("epochs", "at"):
            spec[key] = int(value)
        else:
            spec["options"][key] = value
    return spec


def one_nn(train: np.ndarray, train_y: np.ndarray, test: np.ndarray, test_y: np.ndarray) -> float:
    index = faiss.IndexFlatL2(train.shape[1])
    index.add(np.ascontiguousarray(train, dtype=np.float32))
    _, nearest = index.search(np.ascontiguousarray(test, dtype=np.float32), 1)
    return float((train_y[nearest[:, 0]] == test_y).mean())


def block_slices(width: int, blocks: int) -> list[tuple[str, slice]]:
    out, start = [], 0
    for i in range(blocks):
        size = 16 * width * 2**i
        out.append((f"block {i + 1} ({size})", slice(start, start + size)))
        start += size
    return out


def scores(spec: dict, args) -> dict[str, float]:
    job = Job(model=spec["name"], dataset=args.dataset, probes=[], model_options=spec["options"], seed=args.seed,
              data_root=args.data_root, cache_dir=args.cache_dir, device="cpu", epochs=spec["epochs"],
              at_epoch=spec["at"])
    prepared = prepare_model(job)
    train, test = prepared.features.split("train", "d"), prepared.features.split("test", "d")
    train_y, test_y = prepared.dataset.train_y.numpy(), prepared.dataset.test_y.numpy()
    width = int(spec["options"].get("width", 64))
    blocks = block_slices(width, 3 if prepared.model.image_size == 32 else 4)
    assert blocks[-1][1].stop == train.shape[1], f"d has {train.shape[1]} columns, blocks {blocks}"
    out = {name: one_nn(train[:, cut], train_y, test[:, cut], test_y) for name, cut in blocks}
    out["all blocks (d)"] = one_nn(train, train_y, test, test_y)
    mean, std = train.mean(0), train.std(0) + 1e-6
    out["all blocks, standardized"] = one_nn((train - mean) / std, train_y, (test - mean) / std, test_y)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", required=True, help="name[:width=W][:epochs=E][:at=E]")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=str(default_cache_dir()))
    parser.add_argument("--output", default=None, help="markdown file for the table (default: print only)")
    args = parser.parse_args()
    started = time.time()
    results = {text: scores(parse_model(text), args) for text in args.model}
    columns = list(next(iter(results.values())))
    lines = [f"1-NN (L2) on `{args.dataset}` test, per conv block of D's `d` view (seed {args.seed}; "
             f"`python benchmarks/layer_signal.py {' '.join('--model ' + m for m in args.model)}`).", "",
             "| model | " + " | ".join(columns) + " |", "| --- | " + " | ".join("---" for _ in columns) + " |"]
    for text, row in results.items():
        lines.append(f"| {text} | " + " | ".join(f"{row[c]:.4f}" for c in columns) + " |")
    table = "\n".join(lines) + "\n"
    print(table)
    print(f"({time.time() - started:.0f} s)")
    if args.output:
        Path(args.output).write_text(table)


if __name__ == "__main__":
    main()
