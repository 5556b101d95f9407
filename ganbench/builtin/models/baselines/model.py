"""Baselines every GAN must beat: raw pixels and an untrained DCGAN discriminator."""

from __future__ import annotations

import torch

from ganbench.builtin.models.baselines import PIXEL_VIEWS
from ganbench.api.data import DataInfo
from ganbench.api.model import Model
from ganbench.builtin.models.dcgan.nets import D_VIEWS, Discriminator


class Pixels(Model):
    """Features are the pixels themselves, in [0, 1].

    ``features``: ``(B, C, H, W)`` -> ``(B, C*H*W)``; at the dataset's own size.
    """

    value_range = (0.0, 1.0)
    trains = False
    cache_features = False  # cheaper to recompute than to store

    def feature_views(self):
        return dict(PIXEL_VIEWS)

    def features(self, x, view):
        return x.flatten(1).float()


class RandomD(Model):
    """A DCGAN discriminator at its random N(0, 0.02) initialisation.

    Features are taken exactly as from a trained DCGAN D (views ``d`` and
    ``d-last``, see :mod:`ganbench.builtin.models.dcgan.nets`); 28 px images are
    zero-padded to 32. The initialisation is drawn from the run's seed.
    Batch norm runs in eval mode with its initial statistics (mean 0, var 1).
    """

    trains = False

    def __init__(self, width: int = 64, image_size: int = 32):
        super().__init__(width=width, image_size=image_size)
        self.image_size = image_size

    def setup(self, info: DataInfo, device):
        self.d = Discriminator(info.channels, self.options["width"], self.image_size).to(device)
        self.d.eval()

    def modules(self):
        return {"d": self.d}

    def feature_views(self):
        return dict(D_VIEWS)

    @torch.no_grad()
    def features(self, x, view):
        return self.d.features(x, view)
