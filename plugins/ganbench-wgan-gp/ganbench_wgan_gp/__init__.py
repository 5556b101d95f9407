"""A third-party ganbench model plugin: WGAN-GP (Gulrajani et al. 2017) with DCGAN-shaped networks.

Uses only ganbench's public API (``ganbench.__all__``).
"""

import ganbench

from .model import OPTIONS, WGANGP, critic_loss, generator_loss, gradient_penalty, interpolates
from .nets import Critic, Generator

__all__ = ["WGANGP", "Critic", "Generator", "gradient_penalty", "critic_loss", "generator_loss", "interpolates"]


@ganbench.hookimpl
def register_models(register):
    register(ganbench.ModelSpec(
        "wgan-gp", WGANGP,
        "WGAN-GP (Gulrajani et al. 2017): layer-norm critic, lambda 10, n_critic 5, Adam 1e-4 (0, 0.9); "
        "features: critic conv blocks pooled to 4x4 (as dcgan's d)",
        version="1", options=OPTIONS, capabilities={"features", "generator"},
    ))
