"""Registration of ``acgan`` (implementation: :mod:`ganbench.builtin.models.acgan.model`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.registry import ModelSpec
from ganbench.builtin.models.dcgan import D_VIEWS, DCGAN_OPTIONS


@hookimpl
def register_models(register):
    register(ModelSpec(
        "acgan", "ganbench.builtin.models.acgan.model:ACGAN",
        "AC-GAN (Odena et al. 2016), class-conditional, trained on labels; D features as dcgan",
        version="1", options=DCGAN_OPTIONS, capabilities={"features", "generator", "conditional"}, category="gan",
        trains_on_labels=True, views=D_VIEWS,
    ))
