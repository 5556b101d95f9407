"""How much easier is the BiGAN authors' test split than MNIST's official one? Raw-pixel 1-NN on both.

    python benchmarks/heldout_offset.py --data-root ../shared/data/mnist

The authors' code (jeffdonahue/bigan, ``load.py``: ``mnist_with_valid_set``)
shuffles the 60,000 training images, trains on the first 50,000 and prints
its 1-NN accuracies on the other 10,000; ganbench tests on the official
10,000 test images, written by people who wrote none of the training
images. The same raw-pixel 1-NN (FAISS, L2) on both, with the same 50,000
reference images, for several shuffles, gives the offset to read the
authors' figures against ours with.
"""

from __future__ import annotations

import argparse
import json

import faiss
import numpy as np

from ganbench.builtin.datasets.mnist.loader import load_mnist


def one_nn(train, train_y, test, test_y) -> float:
    index = faiss.IndexFlatL2(train.shape[1])
    index.add(train)
    _, nearest = index.search(test, 1)
    return float((train_y[nearest[:, 0]] == test_y).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--shuffles", type=int, default=5)
    args = parser.parse_args()
    data = load_mnist(args.data_root)
    x = data.train_x.reshape(len(data.train_x), -1).numpy().astype(np.float32) / 255
    y = data.train_y.numpy()
    tx = data.test_x.reshape(len(data.test_x), -1).numpy().astype(np.float32) / 255
    ty = data.test_y.numpy()
    official_60k = one_nn(x, y, tx, ty)
    rows = []
    for seed in range(args.shuffles):
        order = np.random.default_rng(seed).permutation(len(x))
        fit, held = order[:50_000], order[50_000:]
        rows.append({"shuffle": seed, "heldout_train": one_nn(x[fit], y[fit], x[held], y[held]),
                     "official_test": one_nn(x[fit], y[fit], tx, ty)})
    held, official = (np.array([r[k] for r in rows]) for k in ("heldout_train", "official_test"))
    print(json.dumps({"official_test_60k_reference": official_60k, "shuffles": rows,
                      "heldout_mean": round(float(held.mean()), 4), "official_mean": round(float(official.mean()), 4),
                      "offset_mean": round(float((held - official).mean()), 4),
                      "offset_std": round(float((held - official).std(ddof=1)), 4)}, indent=1))


if __name__ == "__main__":
    main()
