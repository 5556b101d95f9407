"""A third-party ganbench model plugin: WGAN-GP (Gulrajani et al. 2017) with DCGAN-shaped networks.

Uses only ganbench's public API (``ganbench.__all__``). Registration imports no torch: the
model is named by a ``"module:Class"`` string and built on first use, and the names below are
imported on first access.
"""

import importlib
from importlib import resources

import ganbench

from .options import OPTIONS

_LAZY = {"WGANGP": ".model", "critic_loss": ".model", "generator_loss": ".model", "gradient_penalty": ".model",
         "interpolates": ".model", "Critic": ".nets", "Generator": ".nets"}
__all__ = ["WGANGP", "Critic", "Generator", "gradient_penalty", "critic_loss", "generator_loss", "interpolates"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@ganbench.hookimpl
def register_models(register):
    register(ganbench.ModelSpec(
        "wgan-gp", "ganbench_wgan_gp.model:WGANGP",
        "WGAN-GP (Gulrajani et al. 2017): layer-norm critic, lambda 10, n_critic 5, Adam 1e-4 (0, 0.9); "
        "features: critic conv blocks pooled to 4x4 (as dcgan's d)",
        version="1", options=OPTIONS, capabilities={"features", "generator"}, category="gan",
    ))


@ganbench.hookimpl
def register_recipes(register):
    """This package's recipe (``ganbench reproduce wgan-gp-mnist-5k``), a TOML file shipped with it."""
    register(resources.files(__name__) / "recipes" / "wgan-gp-mnist-5k.toml")
