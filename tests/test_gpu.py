"""CUDA against the CPU, for every built-in model (``pytest -m gpu``; skipped where CUDA is not available).

Each model is built tiny, trained a few steps on CUDA by the core's Trainer (bf16
autocast where the core uses it), and its trained weights are loaded into a CPU copy.
Both then extract every feature view through the runner's own path
(:class:`ganbench.jobs.run.FeatureSource`) and the knn probe scores them.

Tolerances: features agree within 1e-2 of the view's largest magnitude (CUDA may
run fp32 convolutions and products in TF32, about 3 decimal digits), and the
knn accuracies within 0.02 (a few of 200 test digits may change a neighbour at a near tie).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganbench.builtin.datasets.mnist.loader import load_mnist_5k
from ganbench.api.data import Dataset
from ganbench.api.options import resolve_options
from ganbench.plugins import get_registry
from ganbench.api.probe import ProbeContext
from ganbench.jobs.run import FeatureSource
from ganbench.jobs.training import Trainer, TrainSettings, set_seed

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)"),
]

BUILT_IN = ("pixels", "random-d", "dcgan", "acgan", "bigan", "ortho")
TINY = {"width": "8", "hidden": "64", "nz": "16", "inlp_max_directions": "16"}
FEATURE_TOLERANCE = 1e-2  # of the view's largest |value|
FIGURE_TOLERANCE = 0.02   # knn accuracy
SEED = 0


@pytest.fixture(scope="module")
def digits() -> Dataset:
    full = load_mnist_5k()
    return Dataset("mnist-5k-gpu", full.train_x[:1000].clone(), full.train_y[:1000].clone(), full.test_x[:200].clone(),
                   full.test_y[:200].clone(), full.classes)


def built(name: str, data: Dataset, device: torch.device):
    spec = get_registry().get("model", name)
    tiny = {k: v for k, v in TINY.items() if k in {o.name for o in spec.options}}
    set_seed(SEED)
    model = spec.factory(**resolve_options(spec.options, tiny, name))
    model.setup(data.info(), device)
    return model


def knn_accuracy(features: FeatureSource, data: Dataset, view: str, device: torch.device, folder: Path) -> dict:
    spec = get_registry().get("probe", "knn")
    probe = spec.factory(**resolve_options(spec.options, {"k": "5"}, "knn"))
    ctx = ProbeContext(dataset=data, view=view, seed=SEED, device=device, artifacts_dir=folder, model=features.model,
                       _features=lambda split: features.split(split, view), _embed=lambda images: features.embed(images, view),
                       _generate=None, log=lambda message: None)
    return {m.name: m.value for m in probe.run(ctx)}


@pytest.mark.parametrize("name", BUILT_IN)
def test_cuda_training_gives_the_cpu_features_and_figures(name, digits, tmp_path):
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    on_gpu = built(name, digits, cuda)
    if on_gpu.trains:
        outcome = Trainer(on_gpu, digits, cuda, SEED, TrainSettings(max_steps=5, batch_size=64), tmp_path / "gpu",
                          log=lambda message: None).run()
        assert outcome.status == "ok" and outcome.steps == 5
    on_cpu = built(name, digits, cpu)
    on_cpu.load_state_tensors({k: v.detach().cpu() for k, v in on_gpu.state_tensors().items()})
    on_gpu.train(False)
    on_cpu.train(False)

    gpu_features, cpu_features = FeatureSource(on_gpu, digits, cuda, None), FeatureSource(on_cpu, digits, cpu, None)
    for view in on_gpu.feature_views():
        for split in ("train", "test"):
            g, c = gpu_features.split(split, view), cpu_features.split(split, view)
            assert g.dtype == c.dtype == np.float32 and g.shape == c.shape
            scale = max(float(np.abs(c).max()), 1e-12)
            worst = float(np.abs(g - c).max()) / scale
            assert worst <= FEATURE_TOLERANCE, f"{name} view {view} ({split}): CUDA differs by {worst:.2e} of its scale"
        gpu_figures = knn_accuracy(gpu_features, digits, view, cuda, tmp_path / "knn-gpu")
        cpu_figures = knn_accuracy(cpu_features, digits, view, cpu, tmp_path / "knn-cpu")
        assert gpu_figures.keys() == cpu_figures.keys() and gpu_figures
        for metric, value in cpu_figures.items():
            assert np.isfinite(value) and abs(gpu_figures[metric] - value) <= FIGURE_TOLERANCE, (name, view, metric)
