"""The CUDA path (``pytest -m gpu``; skipped where CUDA is not available).

1. CUDA against the CPU, for every built-in model: each is built tiny, trained a few steps
   on CUDA by the core's Trainer (bf16 autocast and channels_last, as the core trains there),
   and its trained weights are loaded into a CPU copy. Both then extract every feature view
   through the runner's own path (:class:`ganbench.jobs.run.FeatureSource`) and the svm probe
   (its torch solver on the run's device) scores them.
2. The fast path against plain fp32 on one fixed batch: the same dcgan weights, one training
   step each under bf16 autocast, channels_last, both, and neither, give the same losses.
3. Nothing falls back to the CPU: inside a training step run by the Trainer, every parameter,
   buffer and batch tensor is on CUDA, autocast is on in bf16, the batch and every 4-D weight are
   channels_last, and after the step the optimizers' moments are on CUDA too.

The data are made here (ten classes of noisy templates), so the file needs nothing the
device machines lack (mlxtend, FAISS): ``benchmarks/gpu/paper_width.py`` runs it there.

Tolerances: features agree within 1e-2 of the view's largest magnitude (CUDA may
run fp32 convolutions and products in TF32, about 3 decimal digits), and the
svm accuracies within 0.02 (4 of 200 test images may change side at a near tie);
the losses: see :data:`BF16_TOLERANCE` and :data:`LAYOUT_TOLERANCE`.
"""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from ganbench.api.data import Dataset, to_model_input
from ganbench.api.model import Batch
from ganbench.api.options import resolve_options
from ganbench.api.testing import tiny_dataset
from ganbench.plugins import get_registry
from ganbench.api.probe import ProbeContext
from ganbench.jobs.run import FeatureSource
from ganbench.jobs.training import Trainer, TrainSettings, set_seed
from ganbench.system.device import autocast

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)"),
]

BUILT_IN = ("pixels", "random-d", "dcgan", "acgan", "bigan", "ortho")
TRAINING = ("dcgan", "acgan", "bigan", "ortho")
TINY = {"width": "8", "hidden": "64", "nz": "16", "inlp_max_directions": "16"}
FEATURE_TOLERANCE = 1e-2  # of the view's largest |value|
FIGURE_TOLERANCE = 0.02   # svm accuracy
# Of max(1, |fp32's loss|). bf16 keeps 8 bits of mantissa (2^-9 relative rounding per value), convolutions
# accumulate in fp32 and batch norm and the losses run in fp32: on the CPU's bf16 kernels this step moved the
# losses (about 1 and 1.7) by at most 5e-4. One more step of training moves them by 0.03-0.05, and the G loss
# computed with D's weights from before D's update (autocast's weight cache, see device.bf16_autocast) by 0.8.
BF16_TOLERANCE = 0.01
# channels_last in plain fp32 (TF32 off) changes only the order of the convolutions' sums: float32 rounding
# (3.6e-7 on the CPU), and the run-to-run noise of cuDNN's non-deterministic kernels
LAYOUT_TOLERANCE = 1e-4
SEED = 0


def noisy_templates(n_train: int = 1000, n_test: int = 200, seed: int = 0) -> Dataset:
    """Ten classes of 28x28 grey images, each a fixed random template under as much noise again: a probe
    separates them well but not perfectly, so its figures can differ."""
    g = torch.Generator().manual_seed(seed)
    templates = torch.rand(10, 1, 28, 28, generator=g)

    def split(n):
        y = torch.arange(n) % 10
        x = 255 * (0.5 * templates[y] + 0.5 * torch.rand(n, 1, 28, 28, generator=g))
        return x.round().to(torch.uint8), y

    (train_x, train_y), (test_x, test_y) = split(n_train), split(n_test)
    return Dataset("templates-gpu", train_x, train_y, test_x, test_y, [str(c) for c in range(10)])


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return noisy_templates()


def built(name: str, data: Dataset, device: torch.device, **options: str):
    """Model ``name`` set up on ``device``: tiny (``TINY``) but for ``options``, seeded with ``SEED``."""
    spec = get_registry().get("model", name)
    tiny = {k: v for k, v in {**TINY, **options}.items() if k in {o.name for o in spec.options}}
    set_seed(SEED)
    model = spec.factory(**resolve_options(spec.options, tiny, name))
    model.setup(data.info(), device)
    return model


def svm_accuracy(features: FeatureSource, data: Dataset, view: str, device: torch.device, folder: Path) -> dict:
    """The svm probe at one C (no walk whose choice could flip at a near tie), its solver on ``device``."""
    spec = get_registry().get("probe", "svm")
    probe = spec.factory(**resolve_options(spec.options, {"c_grid": "0.01"}, "svm"))
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
        gpu_figures = svm_accuracy(gpu_features, digits, view, cuda, tmp_path / "svm-gpu")
        cpu_figures = svm_accuracy(cpu_features, digits, view, cpu, tmp_path / "svm-cpu")
        assert gpu_figures.keys() == cpu_figures.keys() and gpu_figures
        for metric, value in cpu_figures.items():
            assert np.isfinite(value) and abs(gpu_figures[metric] - value) <= FIGURE_TOLERANCE, (name, view, metric)


@contextlib.contextmanager
def no_tf32():
    """Plain fp32 in CUDA convolutions and products (PyTorch lets cuDNN use TF32 by default)."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def one_step_losses(state: tuple[dict, dict], data: Dataset, device: torch.device, bf16: bool,
                    channels_last: bool) -> dict:
    """dcgan's losses over one training step from ``state`` (weights and optimizer states), on the first 64
    training images, with the same latent draw, under bf16 autocast (the core's ``autocast``) and / or
    channels_last, else plain fp32."""
    model = built("dcgan", data, device, width="32")
    weights, optimizers = state
    model.load_state_tensors(weights)
    for name, opt in model.optimizers().items():
        opt.load_state_dict(copy.deepcopy(optimizers[name]))  # loading keeps the tensors given: the step would change them
    model.train(True)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for module in model.modules().values():
        module.to(memory_format=fmt)
    x = to_model_input(data.train_x[:64], model.image_size, model.value_range, device).contiguous(memory_format=fmt)
    torch.manual_seed(SEED + 1)  # the same z in every variant
    with no_tf32(), autocast(device) if bf16 else contextlib.nullcontext():
        stats = model.train_step(Batch(x, data.train_y[:64].to(device)))
    return {k: float(stats[k]) for k in ("loss_d", "loss_g")}


def trained_state(data: Dataset, device: torch.device, steps: int = 30) -> tuple[dict, dict]:
    """dcgan's weights and optimizer states after a few plain fp32 steps. D tells real from generated by then,
    so its logits are far from 0 and the losses far from log 2, where wrong arithmetic would show; and Adam's
    moments are warm, as in training (a fresh Adam's first step moves every weight by the learning rate whatever
    the size of its gradient, so bf16's noise in the smallest gradients would move the next loss as much as
    their true values do)."""
    model = built("dcgan", data, device, width="32")
    batch = Batch(to_model_input(data.train_x[:64], model.image_size, model.value_range, device), data.train_y[:64].to(device))
    with no_tf32():
        for _ in range(steps):
            model.train_step(batch)
    weights = {k: v.detach().clone() for k, v in model.state_tensors().items()}
    return weights, {name: copy.deepcopy(opt.state_dict()) for name, opt in model.optimizers().items()}


def test_bf16_autocast_and_channels_last_give_the_fp32_losses():
    cuda = torch.device("cuda")
    data = tiny_dataset(n_train=64, n_test=8, classes=10, size=32, channels=3)
    state = trained_state(data, cuda)
    reference = one_step_losses(state, data, cuda, bf16=False, channels_last=False)
    assert abs(reference["loss_d"] - 2 * np.log(2)) > 0.05, f"D has not learnt in 30 steps: {reference}"
    for bf16, channels_last, tolerance in ((False, False, LAYOUT_TOLERANCE), (False, True, LAYOUT_TOLERANCE),
                                           (True, False, BF16_TOLERANCE), (True, True, BF16_TOLERANCE)):
        losses = one_step_losses(state, data, cuda, bf16, channels_last)
        for name, value in losses.items():
            assert np.isfinite(value) and abs(value - reference[name]) <= tolerance * max(1.0, abs(reference[name])), \
                (f"bf16={bf16} channels_last={channels_last}: {name} {value:.6f} against fp32's {reference[name]:.6f}")


@pytest.mark.parametrize("name", TRAINING)
def test_a_training_step_keeps_everything_on_cuda(name, digits, tmp_path):
    cuda = torch.device("cuda")
    model = built(name, digits, cuda)
    step, seen = model.train_step, []

    def watched(batch: Batch) -> dict:
        tensors = {"batch.x": batch.x, "batch.y": batch.y,
                   **{f"{m}.{k}": v for m, module in model.modules().items() for k, v in module.state_dict().items()}}
        off = sorted(k for k, v in tensors.items() if isinstance(v, torch.Tensor) and v.device.type != "cuda")
        assert not off, f"{name}: on the CPU inside a training step: {', '.join(off[:5])}"
        assert torch.is_autocast_enabled("cuda") and torch.get_autocast_dtype("cuda") == torch.bfloat16, \
            f"{name}: the step runs without bf16 autocast"
        assert batch.x.is_contiguous(memory_format=torch.channels_last), f"{name}: the batch is not channels_last"
        flat = [k for m, module in model.modules().items() for k, p in module.named_parameters()
                if p.dim() == 4 and not p.is_contiguous(memory_format=torch.channels_last)]
        assert not flat, f"{name}: 4-D weights not channels_last: {', '.join(flat[:5])}"
        stats = step(batch)
        moments = [(o, k) for o, opt in model.optimizers().items() for state in opt.state.values()
                   for k, v in state.items() if isinstance(v, torch.Tensor) and v.dim() > 0 and v.device.type != "cuda"]
        assert not moments, f"{name}: optimizer state on the CPU: {moments[:5]}"  # (Adam's step counter is a CPU scalar by design)
        seen.append(True)
        return stats

    model.train_step = watched  # the Trainer calls model.train_step: this wrapper, every step
    outcome = Trainer(model, digits, cuda, SEED, TrainSettings(max_steps=3, batch_size=64), tmp_path,
                      log=lambda message: None).run()
    assert outcome.status == "ok" and len(seen) == 3
