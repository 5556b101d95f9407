"""A third-party ganbench probe plugin: GAN samples as extra training data for a classifier
trained on few labels, under three labelling schemes (extra class, argmax, uniform / LSRO).

Uses only ganbench's public API (``ganbench.__all__``).
"""

import ganbench

from .probe import OPTIONS, VARIANTS, Augment, choose_epochs
from .training import (SCHEMES, SmallCNN, accuracy, argmax_targets, batch_loss, extra_class_targets,
                       generated_losses, train_classifier, uniform_loss)

__all__ = ["Augment", "SCHEMES", "VARIANTS", "SmallCNN", "accuracy", "argmax_targets", "batch_loss", "choose_epochs",
           "extra_class_targets", "generated_losses", "train_classifier", "uniform_loss"]


@ganbench.hookimpl
def register_probes(register):
    register(ganbench.ProbeSpec(
        name="augment",
        factory=Augment,
        description="a small CNN on few labels + GAN samples (extra-class / argmax / uniform LSRO labels) vs real only",
        version="1",
        options=OPTIONS,
        requires={"generator"},
        headline=("acc_real", "gain_*"),
    ))
