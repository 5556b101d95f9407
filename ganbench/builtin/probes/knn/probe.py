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
  ``acc_cosine_k200_t0.07``; summed in log space (:func:`temperature_vote`),
  so any T > 0 gives the right figure (a small T tends to the 1-NN vote).
  It is a cosine vote, so it is reported only when ``metric`` includes
  ``cosine`` (``--probe-opt metric=l2`` asks for L2 figures alone).

k is capped at the number of training examples (labels), and every metric
is named by the k it actually used: with 10 labels on each of 10 classes,
``k=200`` is reported as ``k100`` with ``requested_k: [200]`` in its
details. Requested settings that cap to the same k are one metric.

With ``index=ivf`` a query whose visited cells hold fewer than k training
points gets fewer than k neighbours (FAISS pads with index -1): the missing
neighbours get no vote in any vote, and ``queries_short`` in the details
counts the test queries that found fewer than k (``queries_without_neighbours``
those that found none; they are predicted as class 0, a wrong guess
for the other classes).

With ``labels_per_class=N`` the training set is N class-balanced labels,
drawn ``repeats`` times (seeded); the value is the mean accuracy over draws
and ``stderr`` its standard error.
"""

from __future__ import annotations

import faiss
import numpy as np

from ganbench.builtin.probes.knn import OPTIONS  # noqa: F401  (re-exported)
from ganbench.api.probe import Metric, Probe, ProbeContext
from ganbench.api.splits import check_label_budget, label_budget


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
    """Predicted class per row from ``(Q, k)`` neighbour labels and optional weights.

    A label of -1 (a neighbour FAISS did not find) gets no vote.
    """
    q, k = neighbour_labels.shape
    found = neighbour_labels >= 0
    w = found.astype(np.float64) if weights is None else np.where(found, weights, 0.0)
    rows = np.repeat(np.arange(q), k)
    labels = np.where(found, neighbour_labels, 0)
    scores = np.bincount(rows * num_classes + labels.ravel(), weights=w.ravel(), minlength=q * num_classes)
    return scores.reshape(q, num_classes).argmax(axis=1)  # first maximum = smallest class on ties


def temperature_vote(neighbour_labels: np.ndarray, similarity: np.ndarray, temperature: float,
                     num_classes: int) -> np.ndarray:
    """Predicted class per row of the vote weighted exp(similarity / T), done in log space.

    exp(cos / T) overflows for a small T (cos / 0.001 reaches 1000; e^710 is inf in float64)
    and every class then ties. A class's score is instead log sum exp(s / T) over its
    neighbours (the log of the same weighted vote), computed with each row's largest
    similarity subtracted first: the shifted logits are at most 0, never overflow, and the
    order of the classes is unchanged. As T goes to 0 this picks the most similar neighbour's
    class. A label of -1 (a neighbour FAISS did not find) gets no vote; ties go to the
    smallest class, as in :func:`vote`.
    """
    found = neighbour_labels >= 0
    sim = np.where(found, similarity, -np.inf)
    top = sim.max(axis=1, keepdims=True)
    top[~np.isfinite(top)] = 0.0  # a row with no neighbour: every class scores -inf, class 0 is chosen
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        logits = (sim - top) / temperature  # <= 0, the best neighbour exactly 0
        scores = np.full((len(sim), num_classes), -np.inf)
        for c in range(num_classes):
            mine = np.where(neighbour_labels == c, logits, -np.inf)
            best = mine.max(axis=1)
            has = np.isfinite(best)
            total = np.exp(mine[has] - best[has, None]).sum(axis=1)
            scores[has, c] = best[has] + np.log(total)
    return scores.argmax(axis=1)  # first maximum = smallest class on ties


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
        """(metric, k, vote, name, requested ks) of every distinct setting; k capped at ``n_train`` and
        the name says the k used, so requests that cap to the same k make one setting."""
        o = self.options
        wanted = [(m, k, v, f"acc_{m}_k{{k}}_{v}") for m in o["metric"] for k in o["k"] for v in o["vote"]]
        if o["instdisc"] and "cosine" in o["metric"]:  # a cosine vote: only where cosine distances are asked for
            wanted.append(("cosine", o["instdisc_k"], "temperature", f"acc_cosine_k{{k}}_t{o['temperature']:g}"))
        out = {}
        for metric, k, how, pattern in wanted:
            used = min(k, n_train)
            name = pattern.format(k=used)
            out.setdefault(name, (metric, used, how, name, []))[4].append(k)
        return list(out.values())

    def accuracies(self, train_x, train_y, test_x, test_y, num_classes) -> dict[str, float]:
        return {name: acc for name, (acc, _) in self.evaluate(train_x, train_y, test_x, test_y, num_classes).items()}

    def evaluate(self, train_x, train_y, test_x, test_y, num_classes) -> dict[str, tuple[float, dict]]:
        """``{name: (accuracy, details)}`` of every setting on one training set."""
        return {name: (acc, details) for name, (acc, details, _) in
                self.predict(train_x, train_y, test_x, test_y, num_classes).items()}

    def predict(self, train_x, train_y, test_x, test_y, num_classes) -> dict[str, tuple[float, dict, np.ndarray]]:
        """``{name: (accuracy, details, predicted class of each test point)}`` of every setting."""
        o = self.options
        settings = self.settings(len(train_x))
        found = {}
        for metric in sorted({s[0] for s in settings}):
            kmax = max(s[1] for s in settings if s[0] == metric)
            found[metric] = search(train_x, test_x, kmax, metric, o["index"], o["nlist"], o["nprobe"])
        out = {}
        for metric, k, how, name, requested in settings:
            dist, idx = found[metric]
            dist, idx = dist[:, :k], idx[:, :k]
            missing = idx < 0  # FAISS pads with -1 (and an infinite distance) when it found fewer than k
            labels = np.where(missing, -1, train_y[np.where(missing, 0, idx)])
            dist = np.where(missing, np.inf, dist)
            if how == "majority":
                weights = None
            elif how == "distance":
                weights = distance_weights(dist)
            else:
                weights = None
            details = {"k": k, "queries_short": int(missing.any(1).sum()),
                       "queries_without_neighbours": int(missing.all(1).sum())}
            if requested != [k]:
                details["requested_k"] = requested
            if how == "temperature":
                predicted = temperature_vote(labels, 1.0 - dist.astype(np.float64), o["temperature"], num_classes)
            else:
                predicted = vote(labels, weights, num_classes)
            out[name] = (float((predicted == test_y).mean()), details, predicted)
        return out

    def check(self, info) -> None:
        """A label budget no class falls short of (before any model trains)."""
        check_label_budget("knn", self.options["labels_per_class"], info.train_class_counts, info.name)

    def run(self, ctx: ProbeContext) -> list[Metric]:
        train_x, train_y = ctx.features("train")
        test_x, test_y = ctx.features("test")
        c = ctx.dataset.num_classes
        per_class, repeats = self.options["labels_per_class"], self.options["repeats"]
        if per_class == 0:
            draws = [self.predict(train_x, train_y, test_x, test_y, c)]
            n_fit = len(train_x)
        else:
            draws = []
            for r in range(repeats):
                chosen = label_budget(train_y, per_class, seed=ctx.seed, draw=r)
                draws.append(self.predict(train_x[chosen], train_y[chosen], test_x, test_y, c))
            n_fit = per_class * c
        if self.options["index"] == "ivf":
            short = sum(d[name][1]["queries_short"] for d in draws for name in d)
            if short:
                ctx.log(f"knn: IVF search found fewer than k neighbours for some queries "
                        f"(nprobe={self.options['nprobe']}); the missing neighbours get no vote")
        metrics = []
        for name in draws[0]:
            values = np.array([d[name][0] for d in draws])
            stderr = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None
            suffix = f"_{per_class}pc" if per_class else ""
            details = dict(draws[0][name][1], draws=len(values))
            details["queries_short"] = [d[name][1]["queries_short"] for d in draws] if len(draws) > 1 \
                else details["queries_short"]
            details["queries_without_neighbours"] = sum(d[name][1]["queries_without_neighbours"] for d in draws)
            metrics.append(Metric(name + suffix, float(values.mean()), True, stderr=stderr, n_train=n_fit,
                                  n_test=len(test_x), labels_used=n_fit if per_class else None,
                                  details=details, predictions=np.stack([d[name][2] for d in draws])))
        return metrics
