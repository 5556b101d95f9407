"""``ortho``: DCGAN's D features with the real/fake information projected out.

The idea (Mao et al. 2019, "Is Discriminator a Good Feature Extractor?"):
part of D's features serves only the real/fake decision; the part orthogonal
to it may be the better representation. Two projections, both fitted once
after training and offered next to the unprojected views, so one table
shows what each did (see :mod:`ganbench.builtin.models.ortho.projections`).
"""

from __future__ import annotations

import torch
from torch import nn

from ganbench.builtin.models.ortho import ORTHO_OPTIONS, trained_as_dcgan  # noqa: F401  (re-exported)
from ganbench.api.data import DataInfo
from ganbench.builtin.models.common import eval_mode
from ganbench.builtin.models.dcgan.model import DCGAN
from ganbench.builtin.models.dcgan.nets import D_VIEWS, d_feature_dim
from ganbench.builtin.models.ortho.projections import RealFakeSeparability, project_out

CHUNK = 500  # images per forward pass while fitting


class ProjectionState(nn.Module):
    """The fitted INLP basis and the figures that describe the projections, as buffers (saved with the weights)."""

    def __init__(self, dim: int, max_directions: int):
        super().__init__()
        self.register_buffer("basis", torch.zeros(dim, min(dim, max_directions)))
        self.register_buffer("directions", torch.zeros((), dtype=torch.int64))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))
        self.register_buffer("examples", torch.zeros((), dtype=torch.int64))  # real (= generated) examples used
        for name in ("acc_before", "acc_after", "rank1_acc_before", "rank1_acc_after"):
            self.register_buffer(name, torch.zeros((), dtype=torch.float64))

    def active_basis(self) -> torch.Tensor:
        return self.basis[:, : int(self.directions)]


class Ortho(DCGAN):
    """DCGAN trained as ``dcgan``, with orthogonal-subspace views of D's features.

    Attributes: the options of ``dcgan`` (width 64, nz 100, uniform latent,
    image_size 32, Adam 0.0002 / 0.5 / 0.999; same networks, training step and
    default schedule), and:

        inlp_view (str): the D view INLP works on, ``d-last`` (default) or ``d``.
        inlp_max_directions (int): most directions INLP removes; default 512.
        inlp_tolerance (float): INLP stops once the best held-out real/fake
            accuracy is at most 0.5 + this; default 0.02.

    Trained as ``dcgan`` (``trains_as``): a ``dcgan`` run with the same
    options, seed and schedule shares its cached training; ortho's own cache
    folder holds only the fitted projections. Fitted in ``after_training`` on
    the real images the core passes (up to 10,000 training images) and as many
    samples of G: each half fits the classifiers, the other half scores them
    (:mod:`ganbench.builtin.models.ortho.projections`). The core runs ``after_training`` with
    the batch-norm statistics the features use (``--bn-stats``), so the
    directions removed are those of the features probed.
    Each INLP round trains a logistic regression (own intercept, balanced
    classes, standardized features); once that is at chance (it only sees
    mean differences), a threshold along the direction where the two
    classes' spreads differ most. A collapsed G (nearly constant samples) is
    separable along every direction where real features vary, so INLP then
    removes them all and the view is exactly zero.

    Feature views (w = width, 32 px; 64 px doubles ``d-last``, ``d`` is 240 w):

    - ``d`` ``(B, 112 w)``, ``d-last`` ``(B, 64 w)``: unprojected, as ``dcgan``.
    - ``d-last-rank1`` ``(B, 64 w)``: ``d-last`` minus its component along the
      unit weight vector of D's real/fake layer (which reads exactly ``d-last``).
    - ``<inlp_view>-inlp`` (``d-last-inlp`` ``(B, 64 w)`` by default): the view
      with the INLP directions projected out.

    ``report()`` (kept in every row's details): ``inlp_directions_removed``,
    ``real_fake_acc_before`` / ``real_fake_acc_after`` (INLP's view, best
    held-out linear accuracy, as above, before and after), ``rank1_real_fake_acc_before``
    / ``rank1_real_fake_acc_after`` (on ``d-last``), ``real_fake_examples``.
    """

    def __init__(self, inlp_view: str = "d-last", inlp_max_directions: int = 512, inlp_tolerance: float = 0.02,
                 **dcgan_options):
        super().__init__(**dcgan_options)
        self.options.update(inlp_view=inlp_view, inlp_max_directions=inlp_max_directions, inlp_tolerance=inlp_tolerance)

    @property
    def inlp_view_name(self) -> str:
        return f"{self.options['inlp_view']}-inlp"

    def setup(self, info: DataInfo, device: torch.device) -> None:
        super().setup(info, device)
        o = self.options
        dim = d_feature_dim(o["inlp_view"], o["width"], self.image_size)
        self.projection = ProjectionState(dim, o["inlp_max_directions"]).to(device)

    def modules(self):
        return {**super().modules(), "projection": self.projection}

    def feature_views(self):
        return {
            **D_VIEWS,
            "d-last-rank1": "d-last projected onto the orthogonal complement of D's real/fake weight vector",
            self.inlp_view_name: f"{self.options['inlp_view']} with its linear real/fake information removed by INLP",
        }

    # -- fitting ------------------------------------------------------
    @torch.no_grad()
    def after_training(self, real: torch.Tensor) -> None:
        if bool(self.projection.fitted):  # loaded with the weights
            return
        # derived from the global RNG the core seeded: the fit is repeatable
        g = torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, ())))
        fake = torch.cat([self.sample(min(CHUNK, len(real) - i), g) for i in range(0, len(real), CHUNK)])
        o = self.options
        views = {o["inlp_view"], "d-last"}
        real_f = {v: self._chunked_features(real, v) for v in views}
        fake_f = {v: self._chunked_features(fake, v) for v in views}
        inlp_sep = RealFakeSeparability(real_f[o["inlp_view"]], fake_f[o["inlp_view"]], g)
        fit = inlp_sep.inlp(o["inlp_max_directions"], o["inlp_tolerance"])
        last_sep = inlp_sep if o["inlp_view"] == "d-last" else RealFakeSeparability(real_f["d-last"], fake_f["d-last"], g)
        direction = self.d.real_fake_direction()[:, None]
        state = self.projection
        state.basis.zero_()
        state.basis[:, : fit.directions] = fit.basis.to(state.basis)
        state.directions.fill_(fit.directions)
        state.acc_before.fill_(fit.accuracy_before)
        state.acc_after.fill_(fit.accuracy_after)
        state.rank1_acc_before.fill_(last_sep.accuracy())
        state.rank1_acc_after.fill_(last_sep.accuracy(direction))
        state.examples.fill_(len(real))
        state.fitted.fill_(True)

    def _chunked_features(self, images: torch.Tensor, view: str) -> torch.Tensor:
        with eval_mode(self.d):
            return torch.cat([self.d.features(images[i:i + CHUNK], view) for i in range(0, len(images), CHUNK)])

    def report(self) -> dict:
        s = self.projection if hasattr(self, "projection") else None
        if s is None or not bool(s.fitted):
            return {}
        return {
            "inlp_view": self.options["inlp_view"],
            "inlp_directions_removed": int(s.directions),
            "real_fake_acc_before": round(float(s.acc_before), 4),
            "real_fake_acc_after": round(float(s.acc_after), 4),
            "rank1_real_fake_acc_before": round(float(s.rank1_acc_before), 4),
            "rank1_real_fake_acc_after": round(float(s.rank1_acc_after), 4),
            "real_fake_examples": int(s.examples),
        }

    # -- using --------------------------------------------------------
    @torch.no_grad()
    def features(self, x: torch.Tensor, view: str) -> torch.Tensor:
        if view in D_VIEWS:
            return super().features(x, view)
        # projections in float32 even under bf16 autocast: removed directions must stay removed
        with torch.autocast(device_type=x.device.type, enabled=False):
            if view == "d-last-rank1":
                return project_out(super().features(x, "d-last"), self.d.real_fake_direction()[:, None])
            if view == self.inlp_view_name:
                if not bool(self.projection.fitted):
                    raise RuntimeError("the INLP projection is fitted in after_training, which has not run")
                return project_out(super().features(x, self.options["inlp_view"]), self.projection.active_basis())
        raise ValueError(f"unknown ortho view {view!r}; views: {', '.join(self.feature_views())}")
