"""Registration of ``bigan`` (implementation: :mod:`ganbench.builtin.models.bigan.model`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.api.registry import ModelSpec
from ganbench.builtin.models.gan_options import ADAM_OPTIONS, LATENTS

BIGAN_OPTIONS = [
    Option("arch", "str", "mlp", "mlp: the paper's permutation-invariant MNIST networks; conv: DCGAN-style networks",
           choices=("mlp", "conv")),
    Option("nz", "int", 50, "latent size (the paper's MNIST setting: 50)", minimum=1, maximum=4096),
    Option("latent", "str", "uniform", "latent distribution (the paper: uniform on [-1, 1])", choices=LATENTS),
    Option("hidden", "int", 1024, "hidden units of the MLPs, and of the joint layer of the conv D", minimum=1, maximum=16384),
    Option("width", "int", 64, "conv only: base width w of E's and D's trunks and of G", minimum=1, maximum=1024),
    Option("image_size", "int", 32, "conv only: network size", choices=(32, 64)),
    *ADAM_OPTIONS,
    Option("weight_decay", "float", 2.5e-5, "L2 weight decay on every network (the authors' code: 2.5e-5)", minimum=0.0,
           maximum=1.0),
    Option("lr_decay", "bool", True, "constant rate for the first half of training, then exponential decay to 1%"),
]

BIGAN_VIEWS = {
    "e": "E(x), the inferred latent code: E's linear output, before D's squash (the authors' NNC_e)",
    "e-hidden": "E's layer before its output (the authors' NNC_e-: the feature space of the paper's MNIST 1-NN figure)",
    "d": "D's features of the image alone (mlp: its first hidden layer; conv: conv layers pooled to 4x4)",
    "d-joint": "D's last hidden layer on the pair (x, E(x))",
}


@hookimpl
def register_models(register):
    register(ModelSpec(
        "bigan", "ganbench.builtin.models.bigan.model:BiGAN",
        "BiGAN / ALI (Donahue et al. 2016): encoder + generator + joint D; features from E and D",
        version="2", options=BIGAN_OPTIONS, capabilities={"features", "generator", "encoder"}, category="gan", views=BIGAN_VIEWS,
    ))
