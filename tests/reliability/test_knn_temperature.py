"""The kNN temperature vote gives the right figure at every temperature of its declared range.

exp(cos / T) overflows for a small T and every class then ties (T = 0.001 stored 0.5770 on
mnist-5k pixels, T = 1e-300 stored 0.1900); the vote is done in log space now.
"""

import numpy as np
import pytest
from scipy.special import logsumexp

from ganbench.plugins import get_registry
from ganbench.builtin.probes.knn.probe import KNN

K = 200


@pytest.fixture(scope="module")
def pixels():
    """mnist-5k as the ``pixels`` model sees it: float32 in [0, 1], one row per image."""
    data = get_registry().get("dataset", "mnist-5k").loader(None, None)
    flat = lambda x: (x.float() / 255).flatten(1).numpy()
    return flat(data.train_x), data.train_y.numpy(), flat(data.test_x), data.test_y.numpy(), data.num_classes


def knn(temperature: float) -> KNN:
    return KNN(k=[1], metric=["cosine"], vote=["majority"], instdisc=True, temperature=temperature, instdisc_k=K,
               labels_per_class=0, repeats=1, index="flat", nlist=1024, nprobe=16)


def brute_force_cosine(train_x, test_x):
    """Cosine similarities (float64) of every test row to every training row, and the k most similar."""
    a = train_x / np.linalg.norm(train_x, axis=1, keepdims=True)
    b = test_x / np.linalg.norm(test_x, axis=1, keepdims=True)
    sim = b.astype(np.float64) @ a.astype(np.float64).T
    top = np.argsort(-sim, axis=1, kind="stable")[:, :K]
    return np.take_along_axis(sim, top, axis=1), top


def scipy_log_space_vote(sim, labels, temperature, classes):
    """The class with the largest log sum exp(cos / T) over its neighbours (scipy's logsumexp)."""
    scores = np.stack([logsumexp(np.where(labels == c, sim / temperature, -np.inf), axis=1) for c in range(classes)], 1)
    return scores.argmax(1)


@pytest.mark.parametrize("temperature", [1e-3, 1e-300])
def test_a_tiny_temperature_gives_the_log_space_figure(pixels, temperature):
    train_x, train_y, test_x, test_y, classes = pixels
    values = knn(temperature).accuracies(train_x, train_y, test_x, test_y, classes)
    value = values[f"acc_cosine_k{K}_t{temperature:g}"]
    sim, top = brute_force_cosine(train_x, test_x)
    # as T -> 0 the vote is the most similar neighbour's class (1-NN cosine)
    nearest = (train_y[top[:, 0]] == test_y).mean()
    assert value == pytest.approx(nearest, abs=1e-3)
    assert value == pytest.approx(0.9510, abs=1e-4)  # the figure on today's data (the old vote: 0.5770, 0.1900)
    if temperature == 1e-3:  # the same vote by scipy's logsumexp
        expected = (scipy_log_space_vote(sim, train_y[top], temperature, classes) == test_y).mean()
        assert value == pytest.approx(expected, abs=1e-3)


def test_the_default_temperature_keeps_its_figure(pixels):
    """At T = 0.07 the plain weighted vote does not overflow: the log-space vote must agree with it."""
    train_x, train_y, test_x, test_y, classes = pixels
    values = knn(0.07).accuracies(train_x, train_y, test_x, test_y, classes)
    sim, top = brute_force_cosine(train_x, test_x)
    weights = np.exp(sim / 0.07)
    scores = np.stack([(weights * (train_y[top] == c)).sum(1) for c in range(classes)], 1)
    assert values["acc_cosine_k200_t0.07"] == pytest.approx((scores.argmax(1) == test_y).mean(), abs=1e-3)
    assert values["acc_cosine_k200_t0.07"] == pytest.approx(0.9230, abs=1e-4)


def test_the_log_space_vote_ties_to_the_smallest_class_and_ignores_missing_neighbours():
    from ganbench.builtin.probes.knn.probe import temperature_vote

    labels = np.array([[2, 1, -1], [-1, -1, -1], [0, 1, 1]])
    sim = np.array([[0.5, 0.5, 0.9], [0.0, 0.0, 0.0], [0.9, 0.8, 0.8]])
    # row 0: classes 1 and 2 tie (the missing neighbour's 0.9 counts for nothing) -> 1; row 1: none -> 0;
    # row 2: at T = 1, e^0.9 < 2 e^0.8 -> 1; at T = 1e-300 the nearest (class 0) wins
    assert temperature_vote(labels, sim, 1.0, 3).tolist() == [1, 0, 1]
    assert temperature_vote(labels, sim, 1e-300, 3).tolist() == [1, 0, 0]
    assert temperature_vote(labels, sim, 5e-324, 3).tolist() == [1, 0, 0]  # the smallest float: still no NaN
