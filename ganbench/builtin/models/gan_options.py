"""Options the built-in GANs share (the papers' Adam settings, latent distributions)."""

from __future__ import annotations

from ganbench.api.options import Option

LATENTS = ("uniform", "normal")

# Rows of every GAN's docstring and option list: the papers' Adam settings.
ADAM_OPTIONS = [
    Option("lr", "float", 2e-4, "Adam learning rate (the papers: 0.0002)", minimum=0.0,
           exclusive_minimum=True, maximum=1.0),
    Option("beta1", "float", 0.5, "Adam beta1 (the papers: 0.5, for stability)", minimum=0.0,
           maximum=1.0, exclusive_maximum=True),
    Option("beta2", "float", 0.999, "Adam beta2", minimum=0.0, maximum=1.0, exclusive_maximum=True),
]
