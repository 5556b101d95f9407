"""A third-party ganbench probe plugin: GAN samples as extra training data for a classifier
trained on few labels, under three labelling schemes (extra class, argmax, uniform / LSRO).

Uses only ganbench's public API (``ganbench.__all__``).
"""

import importlib

import ganbench

from .options import OPTIONS

_LAZY = {"Augment": ".probe", "VARIANTS": ".probe", "choose_epochs": ".probe", **{name: ".training" for name in (
    "SCHEMES", "SmallCNN", "accuracy", "argmax_targets", "batch_loss", "extra_class_targets", "generated_losses",
    "real_image_statistics", "train_classifier", "uniform_loss")}}

__all__ = ["Augment", "SCHEMES", "VARIANTS", "SmallCNN", "accuracy", "argmax_targets", "batch_loss", "choose_epochs",
           "extra_class_targets", "generated_losses", "real_image_statistics", "train_classifier",
           "uniform_loss"]


def __getattr__(name):  # torch-backed names load on first access: registration stays fast
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@ganbench.hookimpl
def register_probes(register):
    register(ganbench.ProbeSpec(
        name="augment",
        factory="ganbench_augment.probe:Augment",
        description="a small CNN on few labels + GAN samples (extra-class / argmax / uniform LSRO labels) vs real only",
        # 2: max_epochs 30 -> 60 (the real-only classifier was not trained out)
        # 3: scored with batch-norm statistics recomputed on the real labelled images (bn_statistics=real)
        version="3",
        options=OPTIONS,
        requires={"generator"},
        headline=("acc_real", "gain_*"),
        metrics=("acc_*", "gain_*"),
        ranges={"acc_*": (0.0, 1.0), "gain_*": (-1.0, 1.0)},  # accuracies, and differences of two
    ))
