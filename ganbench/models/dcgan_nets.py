"""DCGAN networks (Radford et al. 2015), 32x32 and 64x64, and their D features.

Guidelines followed: strided convolutions instead of pooling, fractional-strided
convolutions in G, batch norm in both networks except G's output layer and
D's input layer, ReLU in G with a tanh output, LeakyReLU(0.2) in D, weights
drawn from N(0, 0.02).

Shapes (``w`` = width, ``c`` = image channels, ``nz`` = latent size):

===========  =====================================================================
network      tensors
===========  =====================================================================
D, 32 px     (B, c, 32, 32) -> (B, w, 16, 16) -> (B, 2w, 8, 8) -> (B, 4w, 4, 4) -> (B,) logit
D, 64 px     (B, c, 64, 64) -> (B, w, 32, 32) -> (B, 2w, 16, 16) -> (B, 4w, 8, 8) -> (B, 8w, 4, 4) -> (B,)
G, 32 px     (B, nz) -> (B, 4w, 4, 4) -> (B, 2w, 8, 8) -> (B, w, 16, 16) -> (B, c, 32, 32) tanh
G, 64 px     (B, nz) -> (B, 8w, 4, 4) -> (B, 4w, 8, 8) -> (B, 2w, 16, 16) -> (B, w, 32, 32) -> (B, c, 64, 64)
===========  =====================================================================

D's feature views (the paper's CIFAR-10 protocol, §5.1): every conv layer's
activation (after LeakyReLU) max-pooled to a 4x4 grid, flattened and
concatenated: ``d`` has ``16 * w * (1 + 2 + 4)`` = ``112 w`` dimensions at 32 px
(``240 w`` at 64 px); ``d-last`` is the last conv layer alone (``64 w`` at 32 px,
``128 w`` at 64 px).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

D_VIEWS = {
    "d": "every D conv layer max-pooled to 4x4, flattened, concatenated (DCGAN §5.1)",
    "d-last": "D's last conv layer max-pooled to 4x4, flattened",
}


def n_layers(image_size: int) -> int:
    if image_size not in (32, 64):
        raise ValueError(f"DCGAN networks are built for 32 or 64 px images, not {image_size}")
    return 3 if image_size == 32 else 4


def init_weights(module: nn.Module) -> None:
    """N(0, 0.02) for convolutions and linear layers; N(1, 0.02) for batch-norm scales."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class Discriminator(nn.Module):
    """DCGAN D. ``forward`` gives ``(B,)`` logits; ``conv_features`` the activations.

    ``extra_outputs`` adds a linear head on the flattened last activation (AC-GAN's
    auxiliary classifier uses it).
    """

    def __init__(self, channels: int = 1, width: int = 64, image_size: int = 32, extra_outputs: int = 0):
        super().__init__()
        layers = n_layers(image_size)
        blocks = []
        in_ch = channels
        for i in range(layers):
            out_ch = width * 2**i
            block = [nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=False)]
            if i > 0:  # no batch norm on D's input layer
                block.append(nn.BatchNorm2d(out_ch))
            block.append(nn.LeakyReLU(0.2, inplace=True))
            blocks.append(nn.Sequential(*block))
            in_ch = out_ch
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv2d(in_ch, 1, 4, 1, 0)  # (B, C, 4, 4) -> (B, 1, 1, 1)
        self.aux = nn.Linear(in_ch * 16, extra_outputs) if extra_outputs else None
        self.last_channels = in_ch
        init_weights(self)

    def conv_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        acts = []
        for block in self.blocks:
            x = block(x)
            acts.append(x)
        return acts

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv_features(x)[-1]).flatten()

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        last = self.conv_features(x)[-1]
        return self.head(last).flatten(), self.aux(last.flatten(1))

    def features(self, x: torch.Tensor, view: str) -> torch.Tensor:
        """``(B, c, s, s)`` -> ``(B, D)`` for view ``d`` or ``d-last`` (see module docstring)."""
        acts = self.conv_features(x)
        if view == "d-last":
            acts = acts[-1:]
        elif view != "d":
            raise ValueError(f"unknown D view {view!r}")
        return torch.cat([F.adaptive_max_pool2d(a, 4).flatten(1) for a in acts], dim=1).float()


class Generator(nn.Module):
    """DCGAN G: ``(B, nz)`` -> ``(B, c, s, s)`` in [-1, 1]. ``num_classes`` > 0 adds a
    learned class embedding multiplied into z (AC-GAN's conditional generator)."""

    def __init__(self, channels: int = 1, width: int = 64, image_size: int = 32, nz: int = 100, num_classes: int = 0):
        super().__init__()
        layers = n_layers(image_size)
        top = width * 2 ** (layers - 1)
        mods = [nn.ConvTranspose2d(nz, top, 4, 1, 0, bias=False), nn.BatchNorm2d(top), nn.ReLU(True)]
        ch = top
        for _ in range(layers - 1):
            mods += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        mods += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]  # no batch norm on G's output
        self.net = nn.Sequential(*mods)
        self.nz = nz
        self.embed = nn.Embedding(num_classes, nz) if num_classes else None
        init_weights(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = z * self.embed(y)
        return self.net(z[:, :, None, None])
