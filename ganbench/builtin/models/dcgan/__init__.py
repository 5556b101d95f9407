"""Registration of ``dcgan`` (implementation: :mod:`ganbench.builtin.models.dcgan.model`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.api.registry import ModelSpec
from ganbench.builtin.models.gan_options import ADAM_OPTIONS, LATENTS

# The views of DCGAN's discriminator (ganbench.builtin.models.dcgan.nets computes them);
# shared by every model whose features are a DCGAN D's.
D_VIEWS = {
    "d": "every D conv layer max-pooled to 4x4, flattened, concatenated (DCGAN §5.1)",
    "d-last": "D's last conv layer max-pooled to 4x4, flattened",
}

DCGAN_OPTIONS = [
    Option("width", "int", 64, "base width w: channels of D's first and G's last conv layer", minimum=1, maximum=1024),
    Option("nz", "int", 100, "latent size (the paper: 100)", minimum=1, maximum=4096),
    Option("latent", "str", "uniform", "latent distribution (the paper: uniform on [-1, 1])", choices=LATENTS),
    Option("image_size", "int", 32, "network size: 32 (MNIST padded, CIFAR-10, SVHN) or 64 (LSUN, folders)", choices=(32, 64)),
    *ADAM_OPTIONS,
]


@hookimpl
def register_models(register):
    register(ModelSpec(
        "dcgan", "ganbench.builtin.models.dcgan.model:DCGAN",
        "DCGAN (Radford et al. 2015); features: D's conv layers pooled to 4x4 (§5.1)",
        version="1", options=DCGAN_OPTIONS, capabilities={"features", "generator"}, category="gan", views=D_VIEWS,
    ))
