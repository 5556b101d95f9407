"""The classifier, the three labelling schemes and the training loop shared by all four trainings.

Every image a classifier sees is float ``(B, C, H, W)`` in [-1, 1] at the
dataset's size. ``K`` is the number of real classes.

Schemes for generated images (Zheng et al. 2017, §3):

- ``real``: no generated images (the baseline).
- ``extra-class``: a (K+1)-way classifier; a generated image's target is
  class ``K``; real images are trained K+1-way too. Predictions at test time
  take the most probable of the K real classes.
- ``argmax``: the target is the real class the current classifier finds most
  probable for that image, recomputed at every step (dynamic labels).
- ``uniform`` (LSRO): cross-entropy against the uniform distribution over the
  K real classes, ``-(1/K) sum_k log p_k``.

The loss of a batch is the mean over all of its images, real and generated,
of their per-image losses, so the generated images are simply part of the
training set. Without generated images each scheme runs exactly the real-only
computation (the extra class's unit is added only when there are generated
images to give it).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

SCHEMES = ("extra-class", "argmax", "uniform")


def as_input(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` -> float ``(N, C, H, W)`` in [-1, 1] on ``device``."""
    return images.to(device).float().div_(127.5).sub_(1.0)


class SmallCNN(nn.Module):
    """``(B, C, H, W)`` -> ``(B, K)`` logits, or ``(B, K + 1)`` with the extra class.

    Three 3x3 conv / batch-norm / ReLU blocks of ``w, 2w, 4w`` channels, the first
    two followed by 2x2 max pooling, then global average pooling and a linear
    head. The trunk and the K-way head are drawn from ``seed`` alone, so every
    scheme starts from the same weights; the extra-class unit is drawn apart.
    """

    def __init__(self, channels: int, classes: int, width: int, seed: int, extra_class: bool = False):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.trunk = nn.Sequential(
                *block(channels, width), nn.MaxPool2d(2),
                *block(width, 2 * width), nn.MaxPool2d(2),
                *block(2 * width, 4 * width), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            )
            self.head = nn.Linear(4 * width, classes)
            torch.manual_seed(seed + 1)
            self.extra = nn.Linear(4 * width, 1) if extra_class else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.trunk(x)
        logits = self.head(features)
        return logits if self.extra is None else torch.cat([logits, self.extra(features)], dim=1)


def block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


def uniform_loss(logits: torch.Tensor) -> torch.Tensor:
    """LSRO: ``(B, K)`` logits -> ``(B,)`` cross-entropy against the uniform 1/K target."""
    return -F.log_softmax(logits.float(), dim=1).mean(dim=1)


def argmax_targets(logits: torch.Tensor, classes: int) -> torch.Tensor:
    """``(B, >= K)`` logits -> ``(B,)`` the most probable of the K real classes (no gradient)."""
    return logits.detach()[:, :classes].argmax(dim=1)


def extra_class_targets(n: int, classes: int, device=None) -> torch.Tensor:
    """``(n,)`` targets all equal to the extra class, index ``K``."""
    return torch.full((n,), classes, dtype=torch.long, device=device)


def generated_losses(scheme: str, logits: torch.Tensor, classes: int) -> torch.Tensor:
    """Per-image losses ``(B,)`` of generated images under ``scheme``."""
    if scheme == "extra-class":
        return F.cross_entropy(logits.float(), extra_class_targets(len(logits), classes, logits.device), reduction="none")
    if scheme == "argmax":
        return F.cross_entropy(logits.float(), argmax_targets(logits, classes), reduction="none")
    if scheme == "uniform":
        return uniform_loss(logits)
    raise ValueError(f"unknown labelling scheme {scheme!r}; expected one of {SCHEMES}")


def batch_loss(scheme: str, net: nn.Module, real: torch.Tensor, labels: torch.Tensor, generated: torch.Tensor,
               classes: int) -> torch.Tensor:
    """Mean per-image loss of real ``(b, C, H, W)`` with ``labels`` ``(b,)`` and ``generated`` ``(g, C, H, W)``.

    Real and generated images go through the network as one batch (one set of
    batch-norm statistics); with ``g = 0`` this is exactly the real-only loss.
    """
    logits = net(torch.cat([real, generated]))
    losses = F.cross_entropy(logits[: len(real)].float(), labels, reduction="none")
    if len(generated):
        losses = torch.cat([losses, generated_losses(scheme, logits[len(real):], classes)])
    return losses.mean()


def train_classifier(scheme: str, real: torch.Tensor, labels: torch.Tensor, generated: torch.Tensor, classes: int,
                     epochs: int, seed: int, width: int, batch_size: int, lr: float,
                     after_epoch: Callable[[int, nn.Module], None] | None = None) -> nn.Module:
    """Train a :class:`SmallCNN` under ``scheme`` and return it in eval mode.

    An epoch is one pass over the real images in batches of ``batch_size``; the
    generated images (any number, ``ratio`` per real image) are shared out over
    the same steps, one pass per epoch. The real order comes from ``seed``
    alone and the generated order from its own generator, so every scheme
    sees the real images in the same order. ``after_epoch(epoch, net)`` is
    called after each epoch (1-based), e.g. to score a validation split.
    """
    net = SmallCNN(real.shape[1], classes, width, seed, extra_class=scheme == "extra-class" and len(generated) > 0)
    net = net.to(real.device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    real_order = torch.Generator().manual_seed(seed)
    generated_order = torch.Generator().manual_seed(seed + 2)
    steps = -(-len(real) // batch_size)
    for epoch in range(1, epochs + 1):
        net.train()
        real_batches = torch.randperm(len(real), generator=real_order).split(batch_size)
        generated_batches = torch.randperm(len(generated), generator=generated_order).tensor_split(steps)
        for real_idx, gen_idx in zip(real_batches, generated_batches):
            real_idx, gen_idx = real_idx.to(real.device), gen_idx.to(real.device)
            loss = batch_loss(scheme, net, real[real_idx], labels[real_idx], generated[gen_idx], classes)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if after_epoch is not None:
            net.eval()
            after_epoch(epoch, net)
    return net.eval()


@torch.no_grad()
def real_image_statistics(net: nn.Module, real: torch.Tensor, batch: int = 1000) -> nn.Module:
    """``net`` in eval mode with every batch-norm layer's statistics recomputed on ``real``.

    Training batches mix real and generated images, so the running statistics
    are a blend, yet the test images are all real. This sets each layer's
    mean and variance to the plain average over ``real`` (batches of ``batch``;
    one batch gives that batch's mean and unbiased variance exactly). The
    weights are not touched.
    """
    layers = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative average over the batches below
    net.train()
    for start in range(0, len(real), batch):
        net(real[start:start + batch])
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum
    return net.eval()


@torch.no_grad()
def predict(net: nn.Module, images: torch.Tensor, classes: int, batch: int = 1000) -> torch.Tensor:
    """The most probable real class of each image (eval mode), on the images' device."""
    net.eval()
    with torch.no_grad():
        return torch.cat([net(images[start:start + batch])[:, :classes].argmax(dim=1)
                          for start in range(0, len(images), batch)])


def accuracy(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, classes: int, batch: int = 1000) -> float:
    """Fraction of ``images`` whose most probable real class is their label (eval mode)."""
    return int((predict(net, images, classes, batch) == labels).sum()) / len(images)
