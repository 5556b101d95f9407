"""Independent check of ortho's projections on a trained model (benchmarks/models_mnist.md).

The INLP fit scores its own classifiers (logistic regression, thresholds
along spread differences) on held-out halves of the training images it was given. This script asks a different classifier
(scikit-learn's logistic regression) on different data: the MNIST *test*
images, never seen in training or fitting, against fresh generator samples.

Usage: python benchmarks/models_ortho_check.py CACHE_MODEL_FOLDER MNIST_ROOT [width]
"""

from __future__ import annotations

import json
import sys

import numpy as np
import torch
from safetensors.torch import load_file
from sklearn.linear_model import LogisticRegression

from ganbench.api.data import to_model_input
from ganbench.builtin.datasets.mnist.loader import load_mnist
from ganbench.api.options import resolve_options
from ganbench.plugins import get_registry

CHUNK = 500


def features(model, images: torch.Tensor, view: str) -> np.ndarray:
    return torch.cat([model.features(images[i:i + CHUNK], view) for i in range(0, len(images), CHUNK)]).numpy()


def real_fake_accuracy(real: np.ndarray, fake: np.ndarray) -> float:
    """Logistic regression fitted on one half of each, scored on the other half."""
    half = len(real) // 2
    x_fit = np.concatenate([real[:half], fake[:half]])
    x_test = np.concatenate([real[half:], fake[half:]])
    y_fit = np.r_[np.ones(half), np.zeros(half)]
    y_test = np.r_[np.ones(len(real) - half), np.zeros(len(fake) - half)]
    mean, std = x_fit.mean(0), x_fit.std(0) + 1e-6
    clf = LogisticRegression(max_iter=2000, C=1.0).fit((x_fit - mean) / std, y_fit)
    return float(clf.score((x_test - mean) / std, y_test))


def main(folder: str, mnist_root: str, width: str = "16") -> None:
    spec = get_registry().get("model", "ortho")
    model = spec.factory(**resolve_options(spec.options, {"width": width}, "ortho"))
    data = load_mnist(mnist_root)
    model.setup(data.info(), torch.device("cpu"))
    model.load_state_tensors(load_file(f"{folder}/weights.safetensors"))
    model.train(False)
    real = to_model_input(data.test_x, model.image_size, model.value_range, "cpu")
    g = torch.Generator().manual_seed(2024)  # not the fit's samples
    with torch.no_grad():
        fake = torch.cat([model.sample(CHUNK, g) for _ in range(len(real) // CHUNK)])
    out = {"report": model.report(), "examples_per_class": len(real)}
    for view in ("d-last", "d-last-rank1", "d-last-inlp"):
        out[f"logreg_real_fake_acc[{view}]"] = round(real_fake_accuracy(features(model, real, view), features(model, fake, view)), 4)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
