"""Registration of the ``knn`` probe (implementation: :mod:`ganbench.builtin.probes.knn.probe`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.api.registry import ProbeSpec

OPTIONS = [
    Option("k", "ints", [1, 5, 20], "numbers of neighbours", minimum=1),
    Option("metric", "strs", ["l2", "cosine"], "distances", choices=("l2", "cosine", "l1")),
    Option("vote", "strs", ["majority", "distance"], "votes", choices=("majority", "distance")),
    Option("instdisc", "bool", True, "also report the InstDisc vote (cosine, k=200, exp(cos/T)) when metric "
           "includes cosine"),
    Option("temperature", "float", 0.07, "T of the InstDisc vote", minimum=0.0,
           exclusive_minimum=True),
    Option("instdisc_k", "int", 200, "k of the InstDisc vote", minimum=1),
    Option("labels_per_class", "int", 0, "class-balanced training labels per class (0 = all)", minimum=0),
    Option("repeats", "int", 1, "label draws when labels_per_class > 0", minimum=1),
    Option("index", "str", "flat", "FAISS index: exact flat search or approximate IVF", choices=("flat", "ivf")),
    Option("nlist", "int", 1024, "IVF cells", minimum=1),
    Option("nprobe", "int", 16, "IVF cells visited per query", minimum=1),
]


# every name the probe writes: acc_{metric}_k{k}_{vote} and the InstDisc vote acc_cosine_k{k}_t{T}, each with
# _{n}pc under a label budget
METRICS = tuple(f"acc_{m}_k*_{v}{budget}" for m in ("l1", "l2", "cosine") for v in ("majority", "distance")
                for budget in ("", "_*pc")) + ("acc_cosine_k*_t*",)


@hookimpl
def register_probes(register):
    register(ProbeSpec("knn", "ganbench.builtin.probes.knn.probe:KNN",
                       "k-nearest-neighbour accuracy via FAISS (L2, cosine; majority, distance and InstDisc votes)",
                       version="2", options=OPTIONS, requires={"features"},
                       headline=("acc_l2_k1_majority", "acc_l2_k1_majority_*pc", "acc_l2_k5_distance"),
                       # acc_{metric}_k{k}_{vote}, acc_cosine_k{instdisc_k}_t{temperature}: a grid adds columns
                       named_in_metric=("k", "metric", "vote", "instdisc", "temperature", "instdisc_k"),
                       metrics=METRICS, ranges={"acc_*": (0.0, 1.0)}))
