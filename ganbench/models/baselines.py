"""Baselines every GAN must beat: raw pixels and an untrained DCGAN discriminator."""

from __future__ import annotations

import torch

from .. import hookimpl
from ..data import DataInfo
from ..model import Model
from ..options import Option
from ..registry import ModelSpec
from .dcgan_nets import D_VIEWS, Discriminator


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


PIXEL_VIEWS = {"pixels": "the image's pixels in [0, 1], flattened"}


class RandomD(Model):
    """A DCGAN discriminator at its random N(0, 0.02) initialisation.

    Features are taken exactly as from a trained DCGAN D (views ``d`` and
    ``d-last``, see :mod:`ganbench.models.dcgan_nets`); 28 px images are
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


@hookimpl
def register_models(register):
    register(ModelSpec("pixels", Pixels, "raw pixels in [0, 1] (baseline)", version="1", views=PIXEL_VIEWS))
    register(
        ModelSpec(
            "random-d",
            RandomD,
            "untrained DCGAN discriminator, features as dcgan's (baseline)",
            version="1",
            options=[
                Option("width", "int", 64, "D's base width w (channels of its first conv layer)", minimum=1, maximum=1024),
                Option("image_size", "int", 32, "input size the network is built for", choices=(32, 64)),
            ],
            views=D_VIEWS,
        )
    )
