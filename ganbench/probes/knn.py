"""``knn``: k-nearest-neighbour classification of the test split by the train split.

Neighbours come from FAISS (exact ``IndexFlat`` search by default; an IVF
index as an option for very large training sets). One search with the
largest k serves every setting. Settings, each reported as its own metric
``acc_<metric>_k<k>_<vote>``:

- ``metric``: ``l2`` (Euclidean), ``cosine`` (inner product of L2-normalised
  features; distance = 1 - cosine similarity), ``l1``.
- ``vote``: ``majority`` (ties go to the smallest class index, as in
  scikit-learn), ``distance`` (weights 1/distance; neighbours at distance 0,
  if any, take all the weight, as in scikit-learn).
- ``instdisc``: the temperature-weighted cosine vote of InstDisc / solo-learn,
  k = 200, weights exp(cos / T) with T = 0.07, reported as
  ``acc_cosine_k200_t0.07``.

With ``labels_per_class=N`` the training set is N class-balanced labels,
drawn ``repeats`` times (seeded); the value is the mean accuracy over draws
and ``stderr`` its standard error.
"""

from __future__ import annotations

import faiss
import numpy as np

from .. import hookimpl
from ..options import Option
from ..probe import Metric, Probe, ProbeContext
from ..registry import ProbeSpec
from ..splits import label_budget

OPTIONS = [
    Option("k", "ints", [1, 5, 20], "numbers of neighbours", minimum=1),
    Option("metric", "strs", ["l2", "cosine"], "distances", choices=("l2", "cosine", "l1")),
    Option("vote", "strs", ["majority", "distance"], "votes", choices=("majority", "distance")),
    Option("instdisc", "bool", True, "also report the InstDisc vote (cosine, k=200, exp(cos/T))"),
    Option("temperature", "float", 0.07, "T of the InstDisc vote", minimum=1e-6),
    Option("instdisc_k", "int", 200, "k of the InstDisc vote", minimum=1),
    Option("labels_per_class", "int", 0, "class-balanced training labels per class (0 = all)", minimum=0),
    Option("repeats", "int", 1, "label draws when labels_per_class > 0", minimum=1),
    Option("index", "str", "flat", "FAISS index: exact flat search or approximate IVF", choices=("flat", "ivf")),
    Option("nlist", "int", 1024, "IVF cells", minimum=1),
    Option("nprobe", "int", 16, "IVF cells visited per query", minimum=1),
]


def _prepare(x: np.ndarray, metric: str) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if metric == "cosine":
        x = x.copy()
        faiss.normalize_L2(x)
    return x


def _make_index(dim: int, metric: str, kind: str, nlist: int):
    faiss_metric = {"l2": faiss.METRIC_L2, "cosine": faiss.METRIC_INNER_PRODUCT, "l1": faiss.METRIC_L1}[metric]
    if kind == "flat":
        return faiss.IndexFlat(dim, faiss_metric)
    quantizer = faiss.IndexFlat(dim, faiss_metric)
    return faiss.IndexIVFFlat(quantizer, dim, nlist, faiss_metric)


def search(train: np.ndarray, test: np.ndarray, k: int, metric: str, index_kind: str = "flat",
           nlist: int = 1024, nprobe: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """``(distances, indices)`` of the ``k`` nearest training points of each test point.

    Distances are true distances (Euclidean for l2, 1 - cosine for cosine, L1).
    """
    train, test = _prepare(train, metric), _prepare(test, metric)
    index = _make_index(train.shape[1], metric, index_kind, min(nlist, max(1, len(train) // 39)))
    if index_kind == "ivf":
        index.train(train)
        index.nprobe = nprobe
    index.add(train)
    raw, idx = index.search(test, k)
    if metric == "l2":
        dist = np.sqrt(np.maximum(raw, 0))
    elif metric == "cosine":
        dist = 1.0 - raw
    else:
        dist = raw
    return dist, idx


def vote(neighbour_labels: np.ndarray, weights: np.ndarray | None, num_classes: int) -> np.ndarray:
    """Predicted class per row from ``(Q, k)`` neighbour labels and optional weights."""
    q, k = neighbour_labels.shape
    rows = np.repeat(np.arange(q), k)
    w = None if weights is None else weights.ravel()
    scores = np.bincount(rows * num_classes + neighbour_labels.ravel(), weights=w, minlength=q * num_classes)
    return scores.reshape(q, num_classes).argmax(axis=1)  # first maximum = smallest class on ties


def distance_weights(dist: np.ndarray) -> np.ndarray:
    """1/d, except that rows with a neighbour at distance 0 give those neighbours all the weight."""
    dist = dist.astype(np.float64)
    zero = dist <= 0
    with np.errstate(divide="ignore"):
        w = 1.0 / dist
    has_zero = zero.any(axis=1)
    w[has_zero] = zero[has_zero].astype(np.float64)
    return w


class KNN(Probe):
    def settings(self, n_train: int):
        """(metric, k, vote, name) for every setting, k capped at ``n_train``."""
        o = self.options
        out = [(m, min(k, n_train), v, f"acc_{m}_k{k}_{v}") for m in o["metric"] for k in o["k"] for v in o["vote"]]
        if o["instdisc"]:
            k = o["instdisc_k"]
            out.append(("cosine", min(k, n_train), "temperature", f"acc_cosine_k{k}_t{o['temperature']:g}"))
        return out

    def accuracies(self, train_x, train_y, test_x, test_y, num_classes) -> dict[str, float]:
        o = self.options
        settings = self.settings(len(train_x))
        found = {}
        for metric in sorted({s[0] for s in settings}):
            kmax = max(s[1] for s in settings if s[0] == metric)
            found[metric] = search(train_x, test_x, kmax, metric, o["index"], o["nlist"], o["nprobe"])
        accs = {}
        for metric, k, how, name in settings:
            dist, idx = found[metric]
            dist, labels = dist[:, :k], train_y[idx[:, :k]]
            if how == "majority":
                weights = None
            elif how == "distance":
                weights = distance_weights(dist)
            else:
                weights = np.exp((1.0 - dist.astype(np.float64)) / o["temperature"])
            accs[name] = float((vote(labels, weights, num_classes) == test_y).mean())
        return accs

    def run(self, ctx: ProbeContext) -> list[Metric]:
        train_x, train_y = ctx.features("train")
        test_x, test_y = ctx.features("test")
        c = ctx.dataset.num_classes
        per_class, repeats = self.options["labels_per_class"], self.options["repeats"]
        if per_class == 0:
            draws = [self.accuracies(train_x, train_y, test_x, test_y, c)]
            n_fit = len(train_x)
        else:
            draws = []
            for r in range(repeats):
                chosen = label_budget(train_y, per_class, seed=ctx.seed, draw=r)
                draws.append(self.accuracies(train_x[chosen], train_y[chosen], test_x, test_y, c))
            n_fit = per_class * c
        metrics = []
        for name in draws[0]:
            values = np.array([d[name] for d in draws])
            stderr = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None
            suffix = f"_{per_class}pc" if per_class else ""
            metrics.append(Metric(name + suffix, float(values.mean()), True, stderr=stderr, n_train=n_fit,
                                  n_test=len(test_x), labels_used=n_fit if per_class else None,
                                  details={"draws": len(values)}))
        return metrics


@hookimpl
def register_probes(register):
    register(ProbeSpec("knn", KNN, "k-nearest-neighbour accuracy via FAISS (L2, cosine; majority, distance and InstDisc votes)",
                       version="1", options=OPTIONS, requires={"features"},
                       headline=("acc_l2_k1_majority", "acc_l2_k5_distance")))
