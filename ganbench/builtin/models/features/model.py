"""``features``: a model whose features are read from a file instead of computed.

The file (:mod:`ganbench.store.feature_files`) holds float features and integer
labels of both splits in the dataset's order, and optionally the metadata
``ganbench features export`` writes. Before any probe runs the labels are
checked against the dataset's, split by split and value by value, and a
file exported from another copy of the data (its ``dataset_fingerprint``)
is refused, each in one line. The file's sha256 joins the options in the
row's ``model_config`` (and so the cache and job keys), so two files never
share a leaderboard cell; ``name`` is the label the rows are shown under.

Features reach probes exactly as the file holds them (float32); the row's
``feature_config`` is the exporter's, when the metadata records one.
"""

from __future__ import annotations

import numpy as np

from ganbench.store import feature_files
from ganbench.builtin.models.features import FEATURES_VIEWS
from ganbench.system.errors import UsageError
from ganbench.api.model import Model

OWN_VIEW = "features"  # the view of a file that names none


class FeaturesFile(Model):
    """Features of the dataset's own examples, from a file. ``features(x)`` of other images is refused."""

    trains = False
    cache_features = False  # the file is the cache
    value_range = (0.0, 1.0)

    def __init__(self, path: str = "", name: str = ""):
        super().__init__(path=path, name=name)
        self.header = feature_files.read_metadata(path) if path else None
        self.file = None

    # -- identity -----------------------------------------------------
    @property
    def view(self) -> str:
        view = self.header.metadata.get("view") if self.header else None
        return view if isinstance(view, str) and view else OWN_VIEW

    def feature_views(self):
        if self.header is None:
            return dict(FEATURES_VIEWS)
        source = self.header.metadata.get("model")
        where = f"model '{source}'" if isinstance(source, str) else "your own model"
        return {self.view: f"features of {where}, read from {self.options['path'] or 'a file'}"}

    def config_facts(self):
        return {"sha256": self.header.sha256} if self.header else {}

    def label(self):
        return self.options["name"] or None

    # -- the dataset ----------------------------------------------------
    def setup(self, info, device):
        if self.header is None:
            raise UsageError("Model 'features' needs the file to read: --model-opt path=FILE (.npz or .safetensors; "
                             "README: Bring your own features).")

    def bind_dataset(self, dataset) -> None:
        found = feature_files.read(self.header.path)
        check_dataset(found, dataset)
        self.file = found

    def split_features(self, split, view):
        if self.file is None:
            raise RuntimeError("FeaturesFile.split_features before bind_dataset")
        return np.ascontiguousarray(self.file.arrays[split], dtype=np.float32)

    def feature_config(self, view):
        config = self.header.metadata.get("feature_config") if self.header else None
        return dict(config) if isinstance(config, dict) else {"source": "file"}  # the exporter's, else unknown

    def features(self, x, view):
        raise UsageError(f"Model 'features' holds features of the dataset's own examples only "
                         f"({self.options['path']}); it cannot compute features of other images.")


def check_dataset(found: feature_files.FeatureFile, dataset) -> None:
    """The file's rows are the dataset's examples: same copy of the data, same labels in the same order."""
    path, meta = found.path, found.metadata
    fingerprint = meta.get("dataset_fingerprint")
    if fingerprint and fingerprint != dataset.fingerprint:
        named = meta.get("dataset", "?")
        raise UsageError(f"Features file {path} was exported from dataset '{named}' (fingerprint {fingerprint}), "
                         f"not from '{dataset.name}' (fingerprint {dataset.fingerprint}): run with --dataset {named} "
                         f"and the export's --dataset-opt / --data-root.")
    for split in feature_files.SPLITS:
        theirs = found.arrays[f"{split}_labels"]
        ours = dataset.split(split)[1].numpy()
        if len(theirs) != len(ours):
            raise UsageError(f"Features file {path}: '{split}_labels' has {len(theirs):,} labels, dataset "
                             f"'{dataset.name}' has {len(ours):,} {split} examples. The file must hold every example "
                             f"of both splits, in the dataset's order.")
        wrong = np.flatnonzero(theirs.astype(np.int64) != ours)
        if len(wrong):
            first = int(wrong[0])
            raise UsageError(f"Features file {path}: '{split}_labels' differ from dataset '{dataset.name}''s at "
                             f"{len(wrong):,} of {len(ours):,} rows (first: row {first}, file {theirs[first]}, dataset "
                             f"{ours[first]}). The rows must be the dataset's examples in its order.")
