"""DCGAN-shaped networks for WGAN-GP: a critic without batch norm and a DCGAN generator.

Shapes (``w`` = width, ``c`` = image channels, ``nz`` = latent size):

===============  ======================================================================
network          tensors
===============  ======================================================================
critic, 32 px    (B, c, 32, 32) -> (B, w, 16, 16) -> (B, 2w, 8, 8) -> (B, 4w, 4, 4) -> (B,) score
critic, 64 px    (B, c, 64, 64) -> (B, w, 32, 32) -> (B, 2w, 16, 16) -> (B, 4w, 8, 8) -> (B, 8w, 4, 4) -> (B,)
G, 32 px         (B, nz) -> (B, 4w, 4, 4) -> (B, 2w, 8, 8) -> (B, w, 16, 16) -> (B, c, 32, 32) tanh
G, 64 px         (B, nz) -> (B, 8w, 4, 4) -> (B, 4w, 8, 8) -> (B, 2w, 16, 16) -> (B, w, 32, 32) -> (B, c, 64, 64)
===============  ======================================================================

Critic block: 4x4 stride-2 convolution, then (except on the input block) layer
normalisation, then LeakyReLU(0.2). Batch norm is ruled out: the gradient
penalty is a per-example gradient norm, which batch norm's coupling of the
examples in a batch invalidates (Gulrajani et al. 2017, §4). Layer norm here
is ``GroupNorm(1, C)``: each example normalised over all of (C, H, W), with a
per-channel scale and shift -- the paper's recommended drop-in. ``norm="none"``
leaves it out. The score head is one 4x4 convolution over the last activation
with no sigmoid (a critic, not a classifier).

The generator is DCGAN's (batch norm, ReLU, tanh output), as in the paper's
DCGAN-architecture experiments. Weights of both are drawn from N(0, 0.02).

Feature views, built exactly like dcgan's: ``d`` -- every critic block's
activation (after its LeakyReLU) max-pooled to 4x4, flattened, concatenated:
``16 w (1 + 2 + 4)`` = ``112 w`` dimensions at 32 px, ``240 w`` at 64 px;
``d-last`` -- the last block alone (``64 w`` / ``128 w``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

VIEWS = {
    "d": "every critic conv block max-pooled to 4x4, flattened, concatenated (as dcgan's d, DCGAN §5.1)",
    "d-last": "the critic's last conv block max-pooled to 4x4, flattened",
}
from .options import NORMS  # noqa: E402  (kept here for importers of nets.NORMS)


def n_blocks(image_size: int) -> int:
    if image_size not in (32, 64):
        raise ValueError(f"the WGAN-GP networks are built for 32 or 64 px images, not {image_size}")
    return 3 if image_size == 32 else 4


def init_weights(module: nn.Module) -> None:
    """N(0, 0.02) for convolutions; norm scales N(1, 0.02), shifts 0 (DCGAN's initialisation)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class Critic(nn.Module):
    """WGAN-GP critic: ``(B, c, s, s)`` -> ``(B,)`` unbounded scores."""

    def __init__(self, channels: int = 1, width: int = 64, image_size: int = 32, norm: str = "layer"):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"critic norm must be one of {NORMS}, not {norm!r}")
        blocks, in_ch = [], channels
        for i in range(n_blocks(image_size)):
            out_ch = width * 2**i
            block = [nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=(norm == "none" or i == 0))]
            if norm == "layer" and i > 0:  # no normalisation on the input block, as DCGAN's D
                block.append(nn.GroupNorm(1, out_ch))
            block.append(nn.LeakyReLU(0.2))
            blocks.append(nn.Sequential(*block))
            in_ch = out_ch
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv2d(in_ch, 1, 4, 1, 0)  # (B, C, 4, 4) -> (B, 1, 1, 1)
        init_weights(self)

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every block's output (after its LeakyReLU): ``[(B, w, s/2, s/2), (B, 2w, s/4, s/4), ...]``."""
        acts = []
        for block in self.blocks:
            x = block(x)
            acts.append(x)
        return acts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.activations(x)[-1]).flatten()

    def features(self, x: torch.Tensor, view: str) -> torch.Tensor:
        """``(B, c, s, s)`` -> ``(B, D)`` float32 for view ``d`` or ``d-last``."""
        acts = self.activations(x)
        if view == "d-last":
            acts = acts[-1:]
        elif view != "d":
            raise ValueError(f"unknown critic view {view!r}; expected one of {sorted(VIEWS)}")
        return torch.cat([F.adaptive_max_pool2d(a, 4).flatten(1) for a in acts], dim=1).float()


class Generator(nn.Module):
    """DCGAN generator: ``(B, nz)`` -> ``(B, c, s, s)`` in [-1, 1]."""

    def __init__(self, channels: int = 1, width: int = 64, image_size: int = 32, nz: int = 128):
        super().__init__()
        layers = n_blocks(image_size)
        ch = width * 2 ** (layers - 1)
        mods = [nn.ConvTranspose2d(nz, ch, 4, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(layers - 1):
            mods += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        mods += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*mods)
        init_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])
