"""The feature spaces of the ``quality`` probe, and how each is named in the rows.

A space turns uint8 images ``(N, C, H, W)`` at the dataset's size into
float32 features ``(N, D)``. Three kinds (option ``space``):

- ``classifier``: see :mod:`ganbench.builtin.probes.quality.classifier`; named
  ``classifier:lenet`` or ``classifier:resnet``.
- ``inception``: torchvision's Inception-v3 with the FID weights
  (``pt_inception-2015-12-05``) read from a local file; the 2048-d pool3
  features; images resized to 299 (bilinear) and replicated to 3 channels,
  pixels in [-1, 1], the pooling of the FID network's blocks as in
  pytorch-fid. Named ``inception:pool3``. Nothing is ever downloaded.
- ``model:NAME:VIEW``: the feature view ``VIEW`` of a registered model that
  does not train (``random-d``, ``pixels``), built on the dataset with seed
  0 (so every run gets the same space). Named as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ganbench.api.data import to_model_input
from ganbench.system.errors import UsageError

EMBED_BATCH = 250
INCEPTION_SIZE = 299
FID_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FID_WEIGHTS


@dataclass
class FeatureSpace:
    """``embed``: uint8 ``(N, C, H, W)`` -> float32 ``(N, D)``; ``name`` and ``details`` go into every row."""

    name: str
    embed: Callable[[torch.Tensor], np.ndarray]
    details: dict = field(default_factory=dict)


def parse_space(text: str) -> tuple[str, str | None, str | None]:
    """``classifier`` / ``inception`` / ``model:NAME:VIEW`` -> (kind, model name, view); UsageError otherwise."""
    if text in ("classifier", "inception"):
        return text, None, None
    kind, _, rest = text.partition(":")
    name, _, view = rest.partition(":")
    if kind == "model" and name and view:
        return "model", name, view
    raise UsageError(f"Bad value {text!r} for option 'space' of probe 'quality': expected classifier, inception "
                     f"or model:NAME:VIEW (e.g. model:random-d:d).")


# -- model:NAME:VIEW -----------------------------------------------------------------------------

def check_model_space(name: str, view: str) -> None:
    """Refuse, in one line and before training, a model that is unknown, trains, or lacks ``view``."""
    from ganbench.plugins import get_registry

    spec = get_registry().get("model", name)
    model = spec.factory()
    if getattr(model, "trains", True):
        raise UsageError(f"space=model:{name}:{view}: model '{name}' trains, and the quality probe only uses models "
                         f"that do not (their space is fixed by the dataset alone), e.g. model:random-d:d.")
    views = model.feature_views()
    if view not in views:
        raise UsageError(f"space=model:{name}:{view}: model '{name}' has no feature view '{view}'. "
                         f"Views: {', '.join(views) or 'none'}.")


def model_space(name: str, view: str, info, device: torch.device) -> FeatureSpace:
    from ganbench.plugins import get_registry

    spec = get_registry().get("model", name)
    model = spec.factory()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(0)
        model.setup(info, device)
    model.train(False)

    @torch.no_grad()
    def embed(images: torch.Tensor) -> np.ndarray:
        chunks = [model.features(to_model_input(images[i:i + EMBED_BATCH], model.image_size, model.value_range,
                                                device), view).float().cpu().numpy()
                  for i in range(0, len(images), EMBED_BATCH)]
        return np.concatenate(chunks)

    return FeatureSpace(f"model:{name}:{view}", embed, {"space_model_version": spec.version, "space_seed": 0})


# -- inception ------------------------------------------------------------------------------------

def _missing_weights(path: str, why: str) -> UsageError:
    where = f"at {path}" if path else "(no inception_weights=PATH given)"
    return UsageError(f"space=inception needs the FID Inception weights {where}: {why}. Download {FID_WEIGHTS} "
                      f"(the pt_inception-2015-12-05 FID weights, {FID_WEIGHTS_URL}) on a machine with internet, "
                      f"copy it here and pass --probe-opt inception_weights=/path/to/{FID_WEIGHTS}.")


def read_inception_state(path: str) -> dict[str, torch.Tensor]:
    """The state dict in ``path`` (.safetensors, or a .pth/.pt read with ``weights_only=True``); UsageError when unreadable."""
    if not path:
        raise _missing_weights(path, "no file named")
    file = Path(path).expanduser()
    if not file.is_file():
        raise _missing_weights(str(file), "no such file")
    try:
        if file.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(file))
        else:
            state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # any damaged or foreign file: the user fixes it by fetching the right one
        raise _missing_weights(str(file), f"unreadable ({type(exc).__name__})") from None
    if not isinstance(state, dict) or "fc.weight" not in state or "Mixed_7c.branch_pool.conv.weight" not in state:
        raise _missing_weights(str(file), "not an Inception-v3 state dict")
    return state


def _fid_pool(x: torch.Tensor) -> torch.Tensor:
    # The TensorFlow FID network averages without counting the zero padding.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


def _fid_blocks():
    """Subclasses of torchvision's Inception blocks with the FID network's pooling (as pytorch-fid's)."""
    from torchvision.models import inception as tv

    class FIDInceptionA(tv.InceptionA):
        def _forward(self, x):
            b5 = self.branch5x5_2(self.branch5x5_1(x))
            b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
            return [self.branch1x1(x), b5, b3, self.branch_pool(_fid_pool(x))]

    class FIDInceptionC(tv.InceptionC):
        def _forward(self, x):
            b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
            d = x
            for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                          self.branch7x7dbl_5):
                d = layer(d)
            return [self.branch1x1(x), b7, d, self.branch_pool(_fid_pool(x))]

    class FIDInceptionE(tv.InceptionE):
        max_pool = False  # the last block (Mixed_7c) max-pools in the FID network

        def _forward(self, x):
            b3 = self.branch3x3_1(x)
            b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
            d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
            pooled = F.max_pool2d(x, 3, 1, 1) if self.max_pool else _fid_pool(x)
            return [self.branch1x1(x), b3, d, self.branch_pool(pooled)]

    class FIDInceptionE2(FIDInceptionE):
        max_pool = True

    return {"Mixed_5b": FIDInceptionA, "Mixed_5c": FIDInceptionA, "Mixed_5d": FIDInceptionA,
            "Mixed_6b": FIDInceptionC, "Mixed_6c": FIDInceptionC, "Mixed_6d": FIDInceptionC,
            "Mixed_6e": FIDInceptionC, "Mixed_7b": FIDInceptionE, "Mixed_7c": FIDInceptionE2}


def load_inception(path: str, device: torch.device) -> torch.nn.Module:
    """Inception-v3 with the weights in ``path``, returning pool3 ``(B, 2048)`` for ``(B, 3, 299, 299)`` in [-1, 1]."""
    from torchvision.models import inception_v3

    state = {k: v for k, v in read_inception_state(path).items() if not k.startswith("AuxLogits.")}  # unused here
    net = inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=state["fc.weight"].shape[0])
    for name, block in _fid_blocks().items():
        getattr(net, name).__class__ = block  # same parameters, the FID network's pooling
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise _missing_weights(path, f"its tensors do not fit Inception-v3 ({str(exc).splitlines()[0]})") from None
    net.fc = torch.nn.Identity()
    net.dropout = torch.nn.Identity()
    return net.eval().to(device)


def inception_space(path: str, device: torch.device) -> FeatureSpace:
    net = load_inception(path, device)

    @torch.no_grad()
    def embed(images: torch.Tensor) -> np.ndarray:
        chunks = []
        for i in range(0, len(images), EMBED_BATCH):
            x = images[i:i + EMBED_BATCH].to(device).float().div_(127.5).sub_(1.0)
            if x.shape[1] == 1:
                x = x.expand(-1, 3, -1, -1)
            x = F.interpolate(x, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False)
            chunks.append(net(x).float().cpu().numpy())
        return np.concatenate(chunks)

    return FeatureSpace("inception:pool3", embed, {"inception_weights": str(Path(path).expanduser())})
