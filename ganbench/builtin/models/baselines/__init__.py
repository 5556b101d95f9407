"""Registration of ``pixels`` and ``random-d`` (implementation: :mod:`ganbench.builtin.models.baselines.model`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.api.registry import ModelSpec
from ganbench.builtin.models.dcgan import D_VIEWS

PIXEL_VIEWS = {"pixels": "the image's pixels in [0, 1], flattened"}


@hookimpl
def register_models(register):
    register(ModelSpec("pixels", "ganbench.builtin.models.baselines.model:Pixels", "raw pixels in [0, 1] (baseline)", version="1",
                       views=PIXEL_VIEWS, category="baseline"))
    register(ModelSpec(
        "random-d", "ganbench.builtin.models.baselines.model:RandomD",
        "untrained DCGAN discriminator, features as dcgan's (baseline)",
        version="1",
        options=[
            Option("width", "int", 64, "D's base width w (channels of its first conv layer)", minimum=1, maximum=1024),
            Option("image_size", "int", 32, "input size the network is built for", choices=(32, 64)),
        ],
        views=D_VIEWS, category="baseline",
    ))
