"""The knn probe against a brute-force float64 numpy computation."""

import numpy as np
import pytest

from ganbench.options import resolve_options
from ganbench.probes.knn import KNN, OPTIONS


def brute_force(train, train_y, test, metric, k, how, temperature=0.07, classes=4):
    train, test = train.astype(np.float64), test.astype(np.float64)
    if metric == "cosine":
        train = train / np.linalg.norm(train, axis=1, keepdims=True)
        test = test / np.linalg.norm(test, axis=1, keepdims=True)
    predictions = []
    for q in test:
        if metric == "l2":
            d = np.sqrt(((train - q) ** 2).sum(1))
        elif metric == "l1":
            d = np.abs(train - q).sum(1)
        else:
            d = 1 - train @ q
        nearest = np.argsort(d, kind="stable")[:k]
        scores = np.zeros(classes)
        for j in nearest:
            if how == "majority":
                w = 1.0
            elif how == "distance":
                w = 1.0 / d[j]
            else:
                w = np.exp((1 - d[j]) / temperature)
            scores[train_y[j]] += w
        best = scores.max()
        predictions.append(min(c for c in range(classes) if scores[c] == best))
    return np.array(predictions)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 16)) * 1.5
    train_y = rng.integers(0, 4, 300)
    test_y = rng.integers(0, 4, 120)
    train = (centers[train_y] + rng.normal(size=(300, 16))).astype(np.float32)
    test = (centers[test_y] + rng.normal(size=(120, 16))).astype(np.float32)
    return train, train_y, test, test_y


def probe(**given):
    return KNN(**resolve_options(OPTIONS, given, "probe 'knn'"))


def test_every_setting_equals_brute_force(data):
    train, train_y, test, test_y = data
    knn = probe(k="1,2,5,17", metric="l2,cosine,l1", vote="majority,distance", instdisc_k="50")
    accs = knn.accuracies(train, train_y, test, test_y, 4)
    assert len(accs) == 4 * 3 * 2 + 1
    for metric in ("l2", "cosine", "l1"):
        for k in (1, 2, 5, 17):
            for how in ("majority", "distance"):
                expected = (brute_force(train, train_y, test, metric, k, how) == test_y).mean()
                assert accs[f"acc_{metric}_k{k}_{how}"] == pytest.approx(expected), (metric, k, how)
    expected = (brute_force(train, train_y, test, "cosine", 50, "temperature") == test_y).mean()
    assert accs["acc_cosine_k50_t0.07"] == pytest.approx(expected)


def test_majority_ties_go_to_the_smallest_class():
    train = np.array([[0.0], [1.1], [-2.0], [3.0]], dtype=np.float32)
    train_y = np.array([3, 1, 0, 2])
    test = np.array([[0.5]], dtype=np.float32)  # 2 nearest: class 3 at 0.5, class 1 at 0.6
    accs = probe(k="2", metric="l2", vote="majority,distance", instdisc="false").accuracies(
        train, train_y, test, np.array([1]), 4)
    assert accs["acc_l2_k2_majority"] == 1.0  # tie 1-1 -> class 1
    assert accs["acc_l2_k2_distance"] == 0.0  # class 3 is nearer


def test_an_exact_copy_in_training_takes_all_the_distance_weight():
    train = np.array([[0.0], [0.1], [0.2]], dtype=np.float32)
    train_y = np.array([2, 0, 0])
    accs = probe(k="3", metric="l2", vote="distance", instdisc="false").accuracies(
        train, train_y, train[:1].copy(), np.array([2]), 3)
    assert accs["acc_l2_k3_distance"] == 1.0


def test_ivf_with_every_cell_probed_is_exact(data):
    train, train_y, test, test_y = data
    exact = probe(k="1,5", metric="l2", instdisc="false").accuracies(train, train_y, test, test_y, 4)
    ivf = probe(k="1,5", metric="l2", instdisc="false", index="ivf", nlist="4", nprobe="4").accuracies(
        train, train_y, test, test_y, 4)
    assert ivf == exact
