"""Batch-norm statistics for feature extraction, recomputed on the real training images.

A GAN's batch-norm layers end training with running statistics accumulated
over real *and* generated batches. The DCGAN authors' feature extraction
(Newmu/dcgan_code, ``svhn/svhn_semisup_analysis.py``, ``infer_bnorm_stats``)
first recomputes every batch-norm layer's mean and variance on the real
training images, then extracts features with those. This module does the
same for any model, knowing nothing of its networks:

- :func:`recompute` runs ``model.features(x, view)`` over the training images
  in batches of :data:`BATCH` with a forward hook on every torch batch-norm
  layer of ``model.modules()``: each layer normalises with the statistics of
  its own batch (as in training mode, so batch statistics flow through every
  layer) and records them. A layer's statistics are the averages over batches
  of the per-batch mean and (biased) variance, as the authors compute them.
- :func:`applied` makes those layers normalise with the recomputed
  statistics while it is active.

Both work whatever mode the modules are in (models wrap ``features`` in an
eval-mode context) and leave every parameter and buffer as it was: the saved
weights and the cached model never change.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import nn

BATCH = 128  # the authors' infer_bnorm_stats(X, nbatch=128)
MODES = ("train-images", "running")


@dataclass
class LayerStats:
    """One layer's recomputed statistics, float32 ``(C,)`` each."""

    mean: torch.Tensor
    var: torch.Tensor


def batch_norm_layers(model) -> dict[str, nn.Module]:
    """Every torch batch-norm layer reachable from ``model.modules()``, by ``"module.path"`` name."""
    found, seen = {}, set()
    for top, module in model.modules().items():
        for path, layer in module.named_modules():
            if isinstance(layer, nn.modules.batchnorm._BatchNorm) and id(layer) not in seen:
                seen.add(id(layer))
                found[f"{top}.{path}"] = layer
    return found


def normalise(layer: nn.Module, x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """What ``layer`` computes on ``x`` ``(B, C, ...)`` with the given ``(C,)`` mean and variance."""
    shape = (1, -1) + (1,) * (x.dim() - 2)
    y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + layer.eps)
    if layer.affine:
        y = y * layer.weight.float().view(shape) + layer.bias.float().view(shape)
    return y


@contextlib.contextmanager
def _buffers_kept(layers: Iterable[nn.Module]):
    """Restore every buffer of ``layers`` on exit (a layer in training mode would update them)."""
    saved = [(layer, {k: v.clone() for k, v in layer.named_buffers()}) for layer in layers]
    try:
        yield
    finally:
        for layer, buffers in saved:
            for name, value in buffers.items():
                getattr(layer, name).copy_(value)


def batches(images: torch.Tensor, to_input: Callable[[torch.Tensor], torch.Tensor], size: int = BATCH):
    """Model inputs of ``size`` images in order; a trailing partial batch is dropped
    (its statistics would be noisier) unless it is the only one."""
    full = len(images) // size
    ends = [(i * size, (i + 1) * size) for i in range(full)] or [(0, len(images))]
    for start, end in ends:
        yield to_input(images[start:end])


@torch.no_grad()
def recompute(model, view: str, inputs: Iterable[torch.Tensor]) -> dict[str, LayerStats]:
    """Statistics of every batch-norm layer ``model.features(x, view)`` reaches, over ``inputs``.

    ``inputs``: model inputs ``(B, C, H, W)`` in the model's value range. Layers the view
    does not reach are left out (they keep their running statistics).
    """
    layers = batch_norm_layers(model)
    sums: dict[str, list] = {}

    def hook(name):
        def on_forward(layer, args, output):
            x = args[0].float()
            dims = [0] + list(range(2, x.dim()))
            mean, var = x.mean(dims), x.var(dims, unbiased=False)
            acc = sums.setdefault(name, [torch.zeros_like(mean), torch.zeros_like(var), 0])
            acc[0] += mean
            acc[1] += var
            acc[2] += 1
            return normalise(layer, x, mean, var).to(output.dtype)
        return on_forward

    handles = [layer.register_forward_hook(hook(name)) for name, layer in layers.items()]
    try:
        with _buffers_kept(layers.values()):
            for x in inputs:
                model.features(x, view)
    finally:
        for h in handles:
            h.remove()
    return {name: LayerStats(m / n, v / n) for name, (m, v, n) in sums.items()}


@contextlib.contextmanager
def applied(model, stats: dict[str, LayerStats]):
    """Within the block, the layers named in ``stats`` normalise with those statistics."""
    layers = batch_norm_layers(model)
    unknown = set(stats) - set(layers)
    if unknown:
        raise ValueError(f"batch-norm statistics for layers the model does not have: {sorted(unknown)}")

    def hook(name):
        s = stats[name]
        def on_forward(layer, args, output):
            x = args[0].float()
            return normalise(layer, x, s.mean.to(x.device), s.var.to(x.device)).to(output.dtype)
        return on_forward

    handles = [layers[name].register_forward_hook(hook(name)) for name in stats]
    try:
        with _buffers_kept(layers[name] for name in stats):
            yield
    finally:
        for h in handles:
            h.remove()


def save(stats: dict[str, LayerStats], path: Path) -> None:
    from safetensors.torch import save_file

    tensors = {f"{name}/{part}": getattr(s, part).detach().cpu().contiguous() for name, s in stats.items() for part in ("mean", "var")}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"layers": str(len(stats))})
    tmp.replace(path)


def load(path: Path) -> dict[str, LayerStats]:
    """Statistics saved by :func:`save`; ``ValueError`` when a layer lacks its mean or variance."""
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    names = {k.rpartition("/")[0] for k in tensors}
    missing = sorted(f"{n}/{part}" for n in names for part in ("mean", "var") if f"{n}/{part}" not in tensors)
    if missing:
        raise ValueError(f"no {', '.join(missing[:3])}")
    return {n: LayerStats(tensors[f"{n}/mean"], tensors[f"{n}/var"]) for n in names}


def problem(model, stats: dict[str, LayerStats]) -> str | None:
    """Why ``stats`` cannot be applied to ``model`` (a layer it lacks, a wrong shape, a non-finite or
    negative value), or ``None``: checked before statistics read from a file are used."""
    layers = batch_norm_layers(model)
    for name, s in stats.items():
        layer = layers.get(name)
        if layer is None:
            return f"statistics for a layer the model does not have ({name[:80]})"
        expected = (layer.num_features,)
        for part, value in (("mean", s.mean), ("var", s.var)):
            if tuple(value.shape) != expected:
                return f"{name} {part} has shape {tuple(value.shape)}, expected {expected}"
            if not bool(torch.isfinite(value).all()):
                return f"{name} {part} holds non-finite values"
        if bool((s.var < 0).any()):
            return f"{name} var holds negative values"
    return None
