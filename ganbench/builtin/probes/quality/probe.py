"""``quality``: sample quality of the generator, in a named, offline feature space.

Needs a generator (runs once per run, not per feature view). It draws
``n_generated`` samples (default 10,000) and takes the test split as the
real set (all of it, or a seeded ``n_real`` of it), embeds both in the
feature space chosen by ``space`` (:mod:`ganbench.builtin.probes.quality.spaces`:
``classifier`` by default, ``inception``, or ``model:NAME:VIEW``), and
writes one row per figure (:mod:`ganbench.builtin.probes.quality.metrics`):

- ``fid`` (lower is better);
- ``kid``: unbiased MMD² with the cubic kernel, mean over ``kid_subsets``
  subsets of ``kid_subset_size``, its standard error as ``stderr`` (lower
  is better);
- ``precision``, ``recall``: Kynkäänniemi et al. 2019, k = ``k_pr`` (3);
- ``density``, ``coverage``: Naeem et al. 2020, k = ``k_dc`` (5, the
  paper's recommended value); the real set is the reference.

Every row names its space in ``details["space"]`` (``classifier:lenet``,
``inception:pool3``, ``model:random-d:d``) and the space is part of the
probe config, so the leaderboard never puts two spaces in one column. The
classifier's test accuracy is in ``details["classifier_test_acc"]``.

``details["real_floor"]`` holds the same figure with training images in
place of generated ones (as many as generated, at most the training split),
against the same test images: what a generator that draws from the data
distribution itself would score at these sample sizes, so "FID 12" can be
read against the data's own floor.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
from ganbench.api.data import DataInfo
from ganbench.system.errors import UsageError
from ganbench.api.options import Option
from ganbench.api.probe import Metric, Probe, ProbeContext
from ganbench.builtin.probes.quality import OPTIONS
from ganbench.builtin.probes.memorization.probe import checked_samples, heldout_subset
from ganbench.builtin.probes.quality.classifier import ClassifierSettings, load_or_train
from ganbench.builtin.probes.quality.metrics import fid, kid, prdc
from ganbench.builtin.probes.quality.spaces import (FeatureSpace, check_model_space, inception_space, model_space, parse_space,
                             read_inception_state)


FIGURES = (("fid", False), ("kid", False), ("precision", True), ("recall", True), ("density", True),
           ("coverage", True))


class QualityProbe(Probe):
    """FID, KID, precision/recall, density/coverage in one feature space; see the module docstring."""

    def __init__(self, **options):
        super().__init__(**{**{o.name: o.default for o in OPTIONS}, **options})
        self.kind, self.space_model, self.space_view = parse_space(self.options["space"])
        if self.options["inception_weights"] and self.kind != "inception":
            raise UsageError("Option 'inception_weights' of probe 'quality' is read only with space=inception; "
                             "add --probe-opt space=inception or leave inception_weights out.")

    def check(self, info: DataInfo) -> None:
        """Everything the space needs, before any model trains: the weights file, the model and its view."""
        if self.kind == "inception":
            read_inception_state(self.options["inception_weights"])
        elif self.kind == "model":
            check_model_space(self.space_model, self.space_view)
        biggest_k = max(self.options["k_pr"], self.options["k_dc"])
        if min(self.options["n_generated"], info.n_train) <= biggest_k:
            raise UsageError(f"Probe 'quality': k = {biggest_k} nearest neighbours need more than {biggest_k} "
                             f"generated samples; raise n_generated or lower k_pr / k_dc.")

    def space(self, ctx: ProbeContext) -> FeatureSpace:
        if self.kind == "inception":
            return inception_space(self.options["inception_weights"], ctx.device)
        if self.kind == "model":
            return model_space(self.space_model, self.space_view, ctx.dataset.info(), ctx.device)
        settings = ClassifierSettings(epochs=self.options["classifier_epochs"])
        trained = load_or_train(ctx.dataset, settings, ctx.device, ctx.cache_dir, ctx.log)
        return FeatureSpace(trained.space, trained.embed, {
            "classifier_test_acc": trained.test_acc, "classifier_cached": trained.cached,
            "classifier_settings": asdict(settings),
            # the cache entry, from the cache folder: a row made here reads the same on every machine
            "classifier_file": None if trained.path is None else trained.path.relative_to(ctx.cache_dir).as_posix()})

    def run(self, ctx: ProbeContext) -> list[Metric]:
        o = self.options
        dataset = ctx.dataset
        real = heldout_subset(dataset.test_x, o["n_real"] or len(dataset.test_x), ctx.seed)
        generated = checked_samples(ctx.generate(o["n_generated"], ctx.seed), dataset.train_x)
        train = heldout_subset(dataset.train_x, o["n_generated"], ctx.seed + 1)
        space = self.space(ctx)
        ctx.log(f"quality: embedding {len(real)} real, {len(generated)} generated and {len(train)} training images "
                f"in {space.name}")
        features = {name: space.embed(images) for name, images in
                    (("real", real), ("generated", generated), ("train", train))}
        ours = figures(features["real"], features["generated"], o, ctx.seed)
        floor = figures(features["real"], features["train"], o, ctx.seed)
        common = {"space": space.name, **space.details, "feature_dim": int(features["real"].shape[1]),
                  "n_real": len(real), "n_generated": len(generated), "real_floor_n": len(train),
                  "real_set": "test split", "real_floor_set": "training split in place of generated images"}
        return [metric(name, higher, ours, floor, common, len(real), o) for name, higher in FIGURES]


def figures(real: np.ndarray, fake: np.ndarray, options: dict, seed: int) -> dict[str, tuple[float, float | None]]:
    """Every figure of ``fake`` against ``real``: name -> (value, stderr)."""
    k = kid(real, fake, options["kid_subsets"], options["kid_subset_size"], seed)
    out = {"fid": (fid(real, fake), None), "kid": (k.value, k.stderr), "kid_detail": (k.std, k.subset_size)}
    out.update({name: (value, None) for name, value in prdc(real, fake, options["k_pr"], options["k_dc"]).items()})
    return out


def metric(name: str, higher: bool, ours: dict, floor: dict, common: dict, n_real: int, options: dict) -> Metric:
    value, stderr = ours[name]
    floor_value, floor_stderr = floor[name]
    if not (math.isfinite(value) and math.isfinite(floor_value)):
        raise ValueError(f"quality: {name} is not a finite number ({value}, real floor {floor_value})")
    details = {**common, "real_floor": floor_value}
    if name == "kid":
        details.update({"real_floor_stderr": floor_stderr, "kid_subsets": options["kid_subsets"],
                        "kid_subset_size": ours["kid_detail"][1], "kid_std_over_subsets": ours["kid_detail"][0],
                        "kid_kernel": "(x.y/d + 1)^3"})
    elif name in ("precision", "recall"):
        details["k"] = options["k_pr"]
    elif name in ("density", "coverage"):
        details["k"] = options["k_dc"]
    return Metric(name, float(value), higher, stderr=stderr, n_test=n_real, details=details)

