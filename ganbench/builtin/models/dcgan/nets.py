"""DCGAN networks (Radford et al. 2015), 32x32 and 64x64, and their D features.

Guidelines followed: strided convolutions instead of pooling, fractional-strided
convolutions in G, batch norm in both networks except G's output layer and
D's input layer, ReLU in G with a tanh output, LeakyReLU(0.2) in D, weights
drawn from N(0, 0.02) (batch-norm scales from N(1, 0.02)).

Shapes (``w`` = width, ``c`` = image channels, ``nz`` = latent size,
``k`` = classes of a conditional G, 0 otherwise):

===========  =====================================================================
network      tensors
===========  =====================================================================
D, 32 px     (B, c, 32, 32) -> (B, w, 16, 16) -> (B, 2w, 8, 8) -> (B, 4w, 4, 4) -> (B,) logit
D, 64 px     (B, c, 64, 64) -> (B, w, 32, 32) -> (B, 2w, 16, 16) -> (B, 4w, 8, 8) -> (B, 8w, 4, 4) -> (B,)
G, 32 px     (B, nz + k) -> (B, 4w, 4, 4) -> (B, 2w, 8, 8) -> (B, w, 16, 16) -> (B, c, 32, 32) tanh
G, 64 px     (B, nz + k) -> (B, 8w, 4, 4) -> (B, 4w, 8, 8) -> (B, 2w, 16, 16) -> (B, w, 32, 32) -> (B, c, 64, 64)
===========  =====================================================================

D's real/fake head is one 4x4 convolution over the last activation, i.e. a
linear layer on its flattened ``(B, 16 * last channels)`` form; its weight
vector lives in the space of the ``d-last`` view (the orthogonal-subspace
model projects it out). An optional auxiliary linear head on the same
flattened activation gives class logits (AC-GAN).

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

from ganbench.builtin.models.dcgan import D_VIEWS  # noqa: F401  (re-exported)


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
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def d_feature_dim(view: str, width: int, image_size: int) -> int:
    """Dimension of D's view ``d`` or ``d-last`` (see module docstring)."""
    channels = [width * 2**i for i in range(n_layers(image_size))]
    if view == "d-last":
        return 16 * channels[-1]
    if view == "d":
        return 16 * sum(channels)
    raise ValueError(f"unknown D view {view!r}")


class Discriminator(nn.Module):
    """DCGAN D. ``forward`` gives ``(B,)`` logits; ``conv_features`` the activations.

    ``extra_outputs`` adds a linear head on the flattened last activation (AC-GAN's
    auxiliary classifier uses it). ``real_fake_head=False`` leaves out the
    real/fake head, for networks that use D's convolutions as a trunk only
    (BiGAN's encoder and joint discriminator).
    """

    def __init__(self, channels: int = 1, width: int = 64, image_size: int = 32, extra_outputs: int = 0,
                 real_fake_head: bool = True):
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
        self.head = nn.Conv2d(in_ch, 1, 4, 1, 0) if real_fake_head else None  # (B, C, 4, 4) -> (B, 1, 1, 1)
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

    def real_fake_direction(self) -> torch.Tensor:
        """The head's weight as a unit vector ``(16 * last channels,)`` in ``d-last`` space."""
        w = self.head.weight.detach().flatten().float()
        return w / w.norm().clamp_min(1e-12)

    def features(self, x: torch.Tensor, view: str) -> torch.Tensor:
        """``(B, c, s, s)`` -> ``(B, D)`` for view ``d`` or ``d-last`` (see module docstring)."""
        acts = self.conv_features(x)
        if view == "d-last":
            acts = acts[-1:]
        elif view != "d":
            raise ValueError(f"unknown D view {view!r}")
        return pooled(acts)


def pooled(acts: list[torch.Tensor]) -> torch.Tensor:
    """Each activation max-pooled to 4x4, flattened, concatenated, as float32."""
    return torch.cat([F.adaptive_max_pool2d(a, 4).flatten(1) for a in acts], dim=1).float()


class Generator(nn.Module):
    """DCGAN G: ``(B, nz)`` -> ``(B, c, s, s)`` in [-1, 1].

    ``num_classes`` > 0 makes it conditional the AC-GAN way: the class's
    one-hot vector is appended to z, so the first layer sees ``nz + k`` inputs.
    """

    def __init__(self, channels: int = 1, width: int = 64, image_size: int = 32, nz: int = 100, num_classes: int = 0):
        super().__init__()
        layers = n_layers(image_size)
        top = width * 2 ** (layers - 1)
        mods = [nn.ConvTranspose2d(nz + num_classes, top, 4, 1, 0, bias=False), nn.BatchNorm2d(top), nn.ReLU(True)]
        ch = top
        for _ in range(layers - 1):
            mods += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        mods += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]  # no batch norm on G's output
        self.net = nn.Sequential(*mods)
        self.nz = nz
        self.num_classes = num_classes
        init_weights(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        return self.net(z[:, :, None, None])
