"""The knn probe against a brute-force float64 numpy computation."""

import numpy as np
import pytest

from ganbench.api.options import resolve_options
from ganbench.builtin.probes.knn.probe import KNN, OPTIONS, search


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


def vote_over_found(labels_of_found, weights_of_found, classes=4):
    """Plain-Python vote over a list of (label, weight): ties to the smallest class."""
    scores = np.zeros(classes)
    for label, weight in zip(labels_of_found, weights_of_found):
        scores[label] += weight
    return min(c for c in range(classes) if scores[c] == scores.max())


def test_ivf_missing_neighbours_get_no_vote(data):
    """nprobe < nlist and k larger than a cell: FAISS pads with -1, which must not vote as train_y[-1]."""
    train, train_y, test, test_y = data
    train_y = train_y.copy()
    train_y[-1] = 3  # the label the old code gave every missing neighbour
    k, options = 120, dict(metric="l2", index="ivf", nlist="7", nprobe="1")  # 300 points in 7 cells of ~43
    knn = probe(k=str(k), vote="majority,distance", instdisc="false", **options)
    accuracies = knn.accuracies(train, train_y, test, test_y, 4)
    dist, idx = search(train, test, k, "l2", "ivf", nlist=7, nprobe=1)
    short = (idx < 0).any(1)
    assert short.sum() > len(test) // 2, "set-up: most queries must find fewer than k neighbours"
    for how in ("majority", "distance"):
        expected = []
        for d, i in zip(dist, idx):
            kept = i >= 0
            weights = np.ones(kept.sum()) if how == "majority" else 1.0 / d[kept].astype(np.float64)
            expected.append(vote_over_found(train_y[i[kept]], weights))
        assert accuracies[f"acc_l2_k{k}_{how}"] == pytest.approx((np.array(expected) == test_y).mean())
    for name, (_, details) in knn.evaluate(train, train_y, test, test_y, 4).items():
        assert details["queries_short"] == int(short.sum()), name
    # the temperature vote too (cosine IVF)
    knn = probe(k="1", metric="cosine", vote="majority", instdisc_k=str(k), index="ivf", nlist="7", nprobe="1")
    dist, idx = search(train, test, k, "cosine", "ivf", nlist=7, nprobe=1)
    expected = []
    for d, i in zip(dist, idx):
        kept = i >= 0
        expected.append(vote_over_found(train_y[i[kept]], np.exp((1 - d[kept].astype(np.float64)) / 0.07)))
    accuracy = knn.accuracies(train, train_y, test, test_y, 4)[f"acc_cosine_k{k}_t0.07"]
    assert accuracy == pytest.approx((np.array(expected) == test_y).mean())
    assert knn.evaluate(train, train_y, test, test_y, 4)[f"acc_cosine_k{k}_t0.07"][1]["queries_short"] > 0


def test_metric_names_say_the_k_actually_used(data):
    train, train_y, test, test_y = data
    few = np.concatenate([np.flatnonzero(train_y == c)[:10] for c in range(4)])  # 40 labels
    knn = probe(k="1,20,40,100", metric="l2,cosine", vote="majority", instdisc_k="200")
    assert set(knn.accuracies(train[few], train_y[few], test, test_y, 4)) == {
        "acc_l2_k1_majority", "acc_l2_k20_majority", "acc_l2_k40_majority", "acc_cosine_k1_majority",
        "acc_cosine_k20_majority", "acc_cosine_k40_majority", "acc_cosine_k40_t0.07"}
    results = knn.evaluate(train[few], train_y[few], test, test_y, 4)
    assert results["acc_l2_k40_majority"][1]["requested_k"] == [40, 100]
    assert results["acc_cosine_k40_t0.07"][1]["requested_k"] == [200]
    assert "requested_k" not in results["acc_l2_k20_majority"][1]
    expected = (brute_force(train[few], train_y[few], test, "l2", 40, "majority") == test_y).mean()
    assert results["acc_l2_k40_majority"][0] == pytest.approx(expected)


def test_the_instdisc_vote_is_reported_only_where_cosine_distances_are_asked_for(data):
    """`--probe-opt k=1 --probe-opt metric=l2` gives the L2 figures alone: the InstDisc vote is a cosine vote."""
    train, train_y, test, test_y = data
    assert set(probe(k="1", metric="l2").accuracies(train, train_y, test, test_y, 4)) == {
        "acc_l2_k1_majority", "acc_l2_k1_distance"}
    assert "acc_cosine_k200_t0.07" in probe(k="1", metric="cosine").accuracies(train, train_y, test, test_y, 4)
    assert "acc_cosine_k200_t0.07" in probe().accuracies(train, train_y, test, test_y, 4)  # the defaults: l2, cosine
    assert "acc_cosine_k200_t0.07" not in probe(metric="l2,cosine", instdisc="false").accuracies(
        train, train_y, test, test_y, 4)


def test_label_budget_run_names_no_k_above_the_labels(tmp_path):
    import re

    import ganbench
    import torch
    from ganbench.builtin.datasets.mnist.loader import load_mnist_5k

    mnist = load_mnist_5k()
    features = {s: mnist.split(s)[0].reshape(len(mnist.split(s)[0]), -1).float().numpy() / 255 for s in ("train", "test")}
    ctx = ganbench.ProbeContext(mnist, "pixels", 0, torch.device("cpu"), tmp_path, None, features.get,
                                None, None, log=lambda message: None)
    metrics = probe(labels_per_class="10", k="1,20,200").run(ctx)
    names = [m.name for m in metrics]
    assert len(names) == len(set(names))
    assert max(int(re.search(r"_k(\d+)_", n).group(1)) for n in names) == 100  # 10 labels x 10 classes
    assert "acc_cosine_k100_t0.07_10pc" in names
