"""One smoke test over every registered model (the timm way), plus the models' declared facts.

Each model is built with tiny widths, trained a few steps on the CPU on a few
real MNIST digits by the core's Trainer, then: samples are checked (shape,
range, repeatable under a seed), every feature view is extracted and checked
against the dimensions the model's docstring documents, and a second model
loaded from the Trainer's cache must give identical features and samples.
"""

from __future__ import annotations

import json

import pytest
import torch

from ganbench.api.data import DataInfo, Dataset, to_model_input
from ganbench.builtin.datasets.mnist.loader import load_mnist_5k
from ganbench.api.options import resolve_options
from ganbench.plugins import get_registry
from ganbench.jobs.run import fits_without_training
from ganbench.jobs.training import Trainer, TrainSettings, real_sample, set_seed

CPU = torch.device("cpu")
SEED = 0
STEPS = 3
SETTINGS = TrainSettings(max_steps=STEPS, batch_size=16, checkpoint_every=2)


pytestmark = pytest.mark.usefixtures("small_cpu_kernels")


# Option values that make any model tiny; applied where a model declares the option.
TINY = {"width": "4", "hidden": "16", "nz": "8", "inlp_max_directions": "8", "centroids": "8", "patches": "2000"}
# Extra option sets worth a case of their own: the other architectures a model offers.
VARIANTS = {
    "dcgan": [{"image_size": "64"}],
    "bigan": [{"arch": "conv"}],
    "ortho": [{"inlp_view": "d"}],
}

# Models that compute no features from images, with where they are tested instead.
NOT_FROM_IMAGES = {"features": "reads precomputed features from a file; tested in tests/test_export.py"}


def model_cases():
    cases = []
    for spec in get_registry().all("model"):
        declared = {o.name for o in spec.options}
        tiny = {k: v for k, v in TINY.items() if k in declared}
        skip = [pytest.mark.skip(reason=NOT_FROM_IMAGES[spec.name])] if spec.name in NOT_FROM_IMAGES else []
        cases.append(pytest.param(spec.name, tiny, id=spec.name, marks=skip))
        for extra in VARIANTS.get(spec.name, []):
            label = ",".join(f"{k}={v}" for k, v in extra.items())
            cases.append(pytest.param(spec.name, {**tiny, **extra}, id=f"{spec.name}[{label}]"))
    return cases


@pytest.fixture(scope="module")
def digits() -> Dataset:
    full = load_mnist_5k()
    return Dataset("mnist-5k-tiny", full.train_x[:48].clone(), full.train_y[:48].clone(), full.test_x[:8].clone(),
                   full.test_y[:8].clone(), full.classes)


def documented_dims(name: str, o: dict, info: DataInfo) -> dict[str, int] | None:
    """Feature dimensions as the models' docstrings state them (None: a model this test does not know)."""
    if name == "pixels":
        return {"pixels": info.channels * info.height * info.width}
    if name in ("random-d", "dcgan", "acgan", "ortho"):
        w = o["width"]
        d, last = (112 * w, 64 * w) if o["image_size"] == 32 else (240 * w, 128 * w)
        dims = {"d": d, "d-last": last}
        if name == "ortho":
            dims["d-last-rank1"] = last
            dims[f"{o['inlp_view']}-inlp"] = dims[o["inlp_view"]]
        return dims
    if name == "kmeans":
        return {"kmeans": 4 * o["centroids"]}
    if name == "bigan":
        if o["arch"] == "mlp":
            return {"e": o["nz"], "e-hidden": o["hidden"], "d": o["hidden"], "d-joint": o["hidden"]}
        w = o["width"]
        hidden, d = (64 * w, 112 * w) if o["image_size"] == 32 else (128 * w, 240 * w)
        return {"e": o["nz"], "e-hidden": hidden, "d": d, "d-joint": o["hidden"]}
    return None


def build(spec, options: dict, data: Dataset, seed: int):
    """As the runner does: seed, then build and set up the model."""
    set_seed(seed)
    model = spec.factory(**options)
    model.setup(data.info(), CPU)
    if fits_without_training(model):  # as the core: fitted on real training images (kmeans)
        model.after_training(real_sample(model, data, seed, CPU))
    return model


def train(model, data: Dataset, folder, log=lambda message: None):
    return Trainer(model, data, CPU, SEED, SETTINGS, folder, log=log).run()


def model_inputs(model, data: Dataset) -> torch.Tensor:
    return to_model_input(data.test_x, model.image_size, model.value_range, CPU)


def samples(model, seed: int, n: int = 5) -> torch.Tensor:
    return model.sample(n, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name, given", model_cases())
def test_every_model_trains_samples_extracts_and_reloads(name, given, digits, tmp_path):
    spec = get_registry().get("model", name)
    options = resolve_options(spec.options, given, f"model '{name}'")
    model = build(spec, options, digits, SEED)
    initial = {k: v.clone() for k, v in model.state_tensors().items()}

    if model.trains:
        outcome = train(model, digits, tmp_path)
        assert outcome.status == "ok" and outcome.source == "trained" and outcome.steps == STEPS
        changed = [k for k, v in model.state_tensors().items() if not torch.equal(v, initial[k])]
        assert changed, "training changed no weight"
    json.dumps(model.report())  # rows must be able to carry it

    x = model_inputs(model, digits)
    views = model.feature_views()
    assert views, "a model must offer at least one feature view"
    dims = documented_dims(name, options, digits.info())
    if dims is not None:
        assert set(views) == set(dims)
    features = {}
    for view in views:
        f = model.features(x, view)
        assert f.dtype == torch.float32 and f.ndim == 2 and f.shape[0] == len(x)
        assert torch.isfinite(f).all()
        if dims is not None:
            assert f.shape[1] == dims[view], f"view {view}: {f.shape[1]} dims, documented {dims[view]}"
        features[view] = f

    if "generator" in spec.capabilities:
        a, b, other = samples(model, 1), samples(model, 1), samples(model, 2)
        size = model.image_size or digits.info().height
        assert a.shape == (5, digits.info().channels, size, size)
        lo, hi = model.value_range
        assert a.min() >= lo and a.max() <= hi
        assert torch.equal(a, b), "sample() must be repeatable under the same generator state"
        assert not torch.equal(a, other)

    # A fresh model built from another seed must take everything from the cache.
    messages = []
    reloaded = build(spec, options, digits, SEED + 1) if model.trains else build(spec, options, digits, SEED)
    if model.trains:
        again = train(reloaded, digits, tmp_path, log=messages.append)
        assert again.source == "cache" and again.status == "ok"
        assert any("Loaded the trained model" in m for m in messages)
    assert reloaded.report() == model.report()
    for view in views:
        assert torch.equal(reloaded.features(x, view), features[view]), f"view {view} differs after reload"
    if "generator" in spec.capabilities:
        assert torch.equal(samples(reloaded, 1), samples(model, 1))


def test_only_acgan_declares_training_on_labels():
    specs = {s.name: s for s in get_registry().all("model")}
    assert specs["acgan"].trains_on_labels
    assert "conditional" in specs["acgan"].capabilities
    for name in ("dcgan", "bigan", "ortho", "pixels", "random-d"):
        assert not specs[name].trains_on_labels
    assert "encoder" in specs["bigan"].capabilities


MNIST = DataInfo("mnist", 1, 28, 28, 10, 60_000)
LSUN = DataInfo("lsun-bedroom", 3, 256, 256, 1, 3_033_042)


@pytest.mark.parametrize("name, info, epochs, batch", [
    ("dcgan", MNIST, 25, 128),   # reference implementation's 25 epochs
    ("dcgan", LSUN, 5, 128),     # the paper's 5 LSUN epochs
    ("acgan", MNIST, 84, 100),   # 50,000 mini-batches of 100 = 83.3 epochs, rounded up
    ("bigan", MNIST, 400, 128),  # 200 + 200 epochs of the authors' MNIST run
])
def test_default_schedules_are_the_documented_paper_schedules(name, info, epochs, batch):
    spec = get_registry().get("model", name)
    schedule = spec.factory(**resolve_options(spec.options, {}, name)).default_schedule(info)
    assert (schedule.epochs, schedule.batch_size) == (epochs, batch)


def test_acgan_samples_depend_on_the_requested_class(digits):
    spec = get_registry().get("model", "acgan")
    model = build(spec, resolve_options(spec.options, {"width": "4", "nz": "8"}, "acgan"), digits, SEED)
    three, seven = (model.sample_classes(torch.full((4,), c), torch.Generator().manual_seed(0)) for c in (3, 7))
    assert three.shape == seven.shape == (4, 1, 32, 32)
    assert not torch.equal(three, seven), "the same z with another class must give another image"


def test_bigan_rate_decays_in_the_second_half_only():
    spec = get_registry().get("model", "bigan")
    model = spec.factory(**resolve_options(spec.options, {}, "bigan"))
    model.plan(1000)
    lr = model.options["lr"]
    assert model.learning_rate(0) == model.learning_rate(499) == lr
    assert model.learning_rate(750) < lr
    assert model.learning_rate(1000) == pytest.approx(lr * 0.01)
