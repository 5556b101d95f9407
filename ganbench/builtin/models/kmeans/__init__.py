"""Registration of ``kmeans`` (implementation: :mod:`ganbench.builtin.models.kmeans.model`).

The single-layer K-means features of Coates, Lee & Ng (2011), "An Analysis
of Single-Layer Networks in Unsupervised Feature Learning" (AISTATS): the
baseline the DCGAN paper compares its CIFAR-10 figure with (its Table 1).
The defaults are the paper's and its code's (``kmeans_demo.m``).
"""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.api.registry import ModelSpec

KMEANS_VIEWS = {
    "kmeans": "triangle activations of every patch (stride 1) sum-pooled over the image's four quadrants "
              "(Coates et al. 2011): 4 x centroids dims",
}

KMEANS_OPTIONS = [
    Option("centroids", "int", 1600, "k-means centroids K; features have 4 K dims (the paper: 1,600 -> 77.9% on "
           "CIFAR-10, 4,000 -> 79.6%, its best)", minimum=2, maximum=16384),
    Option("patches", "int", 400_000, "random patches the whitening and k-means are fitted on (the paper: 400,000)",
           minimum=1000),
    Option("patch_size", "int", 6, "receptive field: patch side in pixels (the paper: 6, its best)", minimum=1,
           maximum=16),
    Option("contrast_eps", "float", 10.0, "per-patch normalisation: (p - mean) / sqrt(var + this), on 0-255 pixel "
           "values (their code: 10)", minimum=0.0),
    Option("whiten_eps", "float", 0.1, "ZCA whitening regulariser added to the eigenvalues (their code: 0.1; "
           "0 = exact whitening)", minimum=0.0),
    Option("whiten", "bool", True, "ZCA-whiten the normalised patches (the paper: whitening helps, 77.9% needs it)"),
    Option("iterations", "int", 50, "k-means (FAISS) iterations (their code: 50)", minimum=1, maximum=1000),
]


@hookimpl
def register_models(register):
    register(ModelSpec(
        "kmeans", "ganbench.builtin.models.kmeans.model:KMeansFeatures",
        "K-means features (Coates, Lee & Ng 2011): whitened 6x6 patches, FAISS k-means, triangle activation, "
        "quadrant sum-pooling (baseline)",
        version="1", options=KMEANS_OPTIONS, views=KMEANS_VIEWS, category="baseline",
    ))
