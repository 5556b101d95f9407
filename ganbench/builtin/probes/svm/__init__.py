"""Registration of the ``svm`` probe (implementation: :mod:`ganbench.builtin.probes.svm.probe`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.api.registry import ProbeSpec

C_GRID = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]

OPTIONS = [
    Option("c_grid", "floats", C_GRID, "values of C tried on the validation split (C as in sklearn's LinearSVC)",
           minimum=0.0, exclusive_minimum=True),
    Option("grid_patience", "int", 0, "stop walking up the C grid after this many values that do not beat the "
           "best validation accuracy by more than its standard error (0 = try every value)", minimum=0),
    Option("stop_after_falls", "int", 2, "stop walking up the C grid once validation accuracy has fallen at this "
           "many consecutive values, each below the one before (larger C only over-fits more, and costs more); "
           "the chosen C is the whole walk's unless accuracy climbs back after that many falls (0 = try every "
           "value)", minimum=0),
    Option("selection", "str", "best", "rule choosing C from the validation accuracies: best (the papers': the "
           "best accuracy, ties to the smaller C) or one-se (the smallest C within one standard error of the best)",
           choices=("best", "one-se")),
    Option("standardize", "bool", False, "centre and scale every feature by the fitting examples' statistics "
           "(false, the default: raw features, as the DCGAN authors' code)"),
    Option("select_draws", "int", 0, "label budget: choose C once, by the mean validation accuracy of this many "
           "label draws, then use it for every test draw (0 = each test draw chooses its own C)", minimum=0),
    Option("labels_per_class", "int", 0, "class-balanced training labels per class (0 = all labels)", minimum=0),
    Option("repeats", "int", 1, "label draws when labels_per_class > 0", minimum=1),
    Option("val_size", "int", 10000, "validation examples carved from the training split (at most a sixth of it)",
           minimum=1),
    Option("solver", "str", "torch", "torch: fast float32 L-BFGS on the run's device; sklearn: LinearSVC reference",
           choices=("torch", "sklearn")),
    Option("tol", "float", 1e-3, "final fit: stop at this relative duality gap (torch solver; passed to "
           "LinearSVC as its own tol by the sklearn solver)", minimum=0.0),
    Option("select_tol", "float", 1e-2, "the same while walking the C grid (validation accuracy settles long "
           "before the weights do)", minimum=0.0),
    Option("max_iter", "int", 1000, "iteration limit per fit", minimum=1),
    Option("precondition_rank", "int", 100, "torch solver: top eigenvectors of the features' Gram matrix used "
           "to precondition L-BFGS (0 = none)", minimum=0),
]


@hookimpl
def register_probes(register):
    register(ProbeSpec("svm", "ganbench.builtin.probes.svm.probe:SVM",
                       "one-vs-rest L2-SVM (squared hinge) on raw features (as the DCGAN authors), C chosen on a "
                       "validation split; label budgets with repeated draws (DCGAN, ALI)",
                       version="3", options=OPTIONS, requires={"features"}, headline=("acc", "acc_*labels"),
                       metrics=("acc", "err", "acc_*labels", "err_*labels"),
                       ranges={"acc*": (0.0, 1.0), "err*": (0.0, 1.0)},
                       # the walk's early stop ends it after the best C: the figures are the whole walk's
                       # (benchmarks/svm_path.md measures both walks on CIFAR-10: the same C)
                       work_only=("stop_after_falls",)))
