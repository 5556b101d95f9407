"""Registration of ``ortho`` (implementation: :mod:`ganbench.builtin.models.ortho.model`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.api.registry import ModelSpec
from ganbench.builtin.models.dcgan import D_VIEWS, DCGAN_OPTIONS

ORTHO_OPTIONS = [
    *DCGAN_OPTIONS,
    Option("inlp_view", "str", "d-last", "D view INLP works on", choices=tuple(D_VIEWS)),
    Option("inlp_max_directions", "int", 512, "INLP stops after removing this many directions", minimum=1),
    Option("inlp_tolerance", "float", 0.02, "INLP stops once held-out real/fake accuracy <= 0.5 + this", minimum=0.0,
           maximum=0.5),
]

# The views under the default options (inlp_view=d-last); Ortho.feature_views names them for any options.
ORTHO_VIEWS = {
    **D_VIEWS,
    "d-last-rank1": "d-last projected onto the orthogonal complement of D's real/fake weight vector",
    "d-last-inlp": "d-last with its linear real/fake information removed by INLP",
}


def trained_as_dcgan(options: dict) -> tuple[str, dict]:
    """ortho's networks are dcgan's, trained by dcgan's step: reuse dcgan's training."""
    return "dcgan", {o.name: options[o.name] for o in DCGAN_OPTIONS}


@hookimpl
def register_models(register):
    register(ModelSpec(
        "ortho", "ganbench.builtin.models.ortho.model:Ortho",
        "DCGAN D features with the real/fake directions projected out (rank-1 and INLP)",
        version="2", options=ORTHO_OPTIONS, capabilities={"features", "generator"}, category="gan", trains_as=trained_as_dcgan,
        views=ORTHO_VIEWS,
    ))
