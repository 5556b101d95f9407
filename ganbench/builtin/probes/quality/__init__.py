"""Registration of the ``quality`` probe (implementation: :mod:`ganbench.builtin.probes.quality.probe`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.api.registry import ProbeSpec

CLASSIFIER_EPOCHS = 4  # ganbench.builtin.probes.quality.classifier.ClassifierSettings.epochs

OPTIONS = [
    Option("space", "str", "classifier", "feature space: classifier, inception, or model:NAME:VIEW (a model that "
           "does not train, e.g. model:random-d:d)"),
    Option("inception_weights", "str", "", "path of the FID Inception weights (pt_inception-2015-12-05, .pth or "
           ".safetensors) for space=inception"),
    Option("n_generated", "int", 10000, "generated samples (and at most as many training images for the floor)",
           minimum=2, maximum=200_000),
    Option("n_real", "int", 0, "test images used as the real set (0 = the whole test split)", minimum=0),
    Option("k_pr", "int", 3, "k of precision and recall (Kynkäänniemi et al. 2019)", minimum=1),
    Option("k_dc", "int", 5, "k of density and coverage (Naeem et al. 2020)", minimum=1),
    Option("kid_subsets", "int", 100, "random subsets KID is averaged over", minimum=2, maximum=10_000),
    Option("kid_subset_size", "int", 1000, "points per KID subset (at most the smaller set)", minimum=2),
    Option("classifier_epochs", "int", CLASSIFIER_EPOCHS, "epochs of the classifier of space=classifier",
           minimum=1),
]


@hookimpl
def register_probes(register):
    register(ProbeSpec(
        "quality", "ganbench.builtin.probes.quality.probe:QualityProbe",
        "Sample quality in a named offline feature space: FID, KID, precision/recall, density/coverage, "
        "each beside real held-out images' floor",
        version="1", options=OPTIONS, requires={"generator"}, headline=("fid", "kid", "precision", "recall"),
        metrics=("fid", "kid", "precision", "recall", "density", "coverage"),
        # KID is an unbiased estimate and FID's matrix square root is numerical: either may dip a hair below 0
        ranges={"precision": (0.0, 1.0), "recall": (0.0, 1.0), "coverage": (0.0, 1.0),
                "density": (0.0, None)}))
