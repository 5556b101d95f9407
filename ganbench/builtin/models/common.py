"""Small pieces the GAN model plugins share: latents, losses, optimizers, schedules."""

from __future__ import annotations

import contextlib
import math

import torch
from torch import nn
from torch.nn import functional as F

from ganbench.builtin.models.gan_options import ADAM_OPTIONS, LATENTS  # noqa: F401  (re-exported)


def draw_latent(n: int, nz: int, kind: str, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
    """``(n, nz)`` latent codes on ``device``: U(-1, 1) or N(0, 1).

    Drawn from ``generator`` on its own device when given (so the same generator
    state gives the same codes), else from the global RNG the core seeds and
    checkpoints.
    """
    where = generator.device if generator is not None else device
    if kind == "uniform":
        z = torch.rand(n, nz, generator=generator, device=where).mul_(2).sub_(1)
    elif kind == "normal":
        z = torch.randn(n, nz, generator=generator, device=where)
    else:
        raise ValueError(f"unknown latent distribution {kind!r}; expected one of {LATENTS}")
    return z.to(device)


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Binary cross-entropy of logits against a constant label (1 = real, 0 = generated)."""
    return F.binary_cross_entropy_with_logits(logits.float(), torch.full(logits.shape, target, device=logits.device))


def mean_prob(logits: torch.Tensor) -> torch.Tensor:
    """Mean probability of "real" (what the progress bar shows as D(x) / D(G(z)))."""
    return torch.sigmoid(logits.detach().float()).mean()


def adam(modules: list[nn.Module], lr: float, beta1: float, beta2: float, weight_decay: float = 0.0) -> torch.optim.Adam:
    params = [p for m in modules for p in m.parameters()]
    return torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), weight_decay=weight_decay)


def step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


@contextlib.contextmanager
def eval_mode(*modules: nn.Module):
    """Run with batch norm on its running statistics, whatever mode the modules were
    in, so features and samples never depend on the batch they are computed in."""
    modes = [m.training for m in modules]
    for m in modules:
        m.train(False)
    try:
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


def epochs_for_images(images: float, n_train: int, most: int) -> int:
    """Epochs that show about ``images`` training images, at least 1 and at most ``most``."""
    return max(1, min(most, round(images / max(n_train, 1))))


def epochs_for_steps(steps: int, n_train: int, batch_size: int) -> int:
    """Epochs that make at least ``steps`` optimisation steps of ``batch_size``."""
    per_epoch = max(1, n_train // batch_size)
    return max(1, math.ceil(steps / per_epoch))
