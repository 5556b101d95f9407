"""Registration of ``features``: score features computed elsewhere (implementation:
:mod:`ganbench.builtin.models.features.model`; the file layout: :mod:`ganbench.store.feature_files`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.api.registry import ModelSpec

FEATURES_OPTIONS = [
    Option("path", "str", "", "the features file (.npz or .safetensors): written by `ganbench features export`, "
           "or arrays train, train_labels, test, test_labels of your own (README: Bring your own features)"),
    Option("name", "str", "", "the name its rows are shown under on the leaderboard (default: 'features')"),
]

# without a file; with one, the view is the one it was exported from (`pixels`, `d`, ...)
FEATURES_VIEWS = {"features": "the file's features (a file `ganbench features export` wrote: named by its view)"}


@hookimpl
def register_models(register):
    register(ModelSpec(
        "features", "ganbench.builtin.models.features.model:FeaturesFile",
        "features read from a file (ganbench's export or your own numpy arrays), scored by any feature probe",
        version="1", options=FEATURES_OPTIONS,
        views=FEATURES_VIEWS, category="baseline",
    ))
