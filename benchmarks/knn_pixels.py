"""kNN on raw pixels of a full dataset: ganbench's FAISS probe against scikit-learn, in one run.

    python benchmarks/knn_pixels.py --dataset mnist --data-root ../shared/data/mnist
    python benchmarks/knn_pixels.py --dataset fashion-mnist   # Debian's dataset-fashion-mnist

Prints (and writes to benchmarks/knn_<dataset>.json) the 1-NN L2 accuracy of
both implementations -- they must agree exactly; on MNIST it is the known
raw-pixel figure 0.9691 -- and the seconds each took on the same float32
features, with their ratio. Timings on a shared machine are noisy; the ratio,
measured in one run, is the figure to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.neighbors import KNeighborsClassifier

from ganbench.datasets.open import load_dataset
from ganbench.api.options import resolve_options
from ganbench.builtin.probes.knn.probe import KNN, OPTIONS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()
    data = load_dataset(args.dataset, args.data_root)
    train = data.train_x.reshape(len(data.train_x), -1).float().div(255).numpy()
    test = data.test_x.reshape(len(data.test_x), -1).float().div(255).numpy()
    train_y, test_y = data.train_y.numpy(), data.test_y.numpy()

    probe = KNN(**resolve_options(OPTIONS, {"k": "1", "metric": "l2", "vote": "majority", "instdisc": "false"}, "knn"))
    began = time.perf_counter()
    ours = probe.accuracies(train, train_y, test, test_y, 10)["acc_l2_k1_majority"]
    ours_s = time.perf_counter() - began

    began = time.perf_counter()
    clf = KNeighborsClassifier(1, algorithm="brute", n_jobs=-1).fit(train, train_y)
    theirs = float((clf.predict(test) == test_y).mean())
    theirs_s = time.perf_counter() - began

    result = {
        "data": f"{args.dataset} ({data.source}), {len(train):,} train / {len(test):,} test, raw pixels in [0, 1], float32",
        "fingerprint": data.fingerprint,
        "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "ganbench_faiss": {"acc_l2_k1": ours, "seconds": round(ours_s, 2)},
        "sklearn_brute": {"acc_l2_k1": theirs, "seconds": round(theirs_s, 2)},
        "speedup": round(theirs_s / ours_s, 2),
        "known_figure": 0.9691 if args.dataset == "mnist" else None,
    }
    print(json.dumps(result, indent=1))
    (Path(__file__).parent / f"knn_{args.dataset}.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
