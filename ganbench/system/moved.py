"""Old import paths of the modules that moved when the package was laid out by concept.

``import ganbench.testing`` (and every other path below) keeps working: the
module is the one at its new path, and a :class:`DeprecationWarning` names that
path. Old package names whose modules are all gone (``ganbench.models``,
``ganbench.probes``) import as empty packages, so that ``ganbench.models.dcgan``
still resolves. ``ganbench.store``, ``ganbench.cli`` and ``ganbench.jobs`` are
packages now; each forwards the old module's names itself.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED = {
    "ganbench.bn_stats": "ganbench.jobs.bn_stats",
    "ganbench.builtin.acgan": "ganbench.builtin.models.acgan",
    "ganbench.builtin.baselines": "ganbench.builtin.models.baselines",
    "ganbench.builtin.bigan": "ganbench.builtin.models.bigan",
    "ganbench.builtin.cifar10": "ganbench.builtin.datasets.cifar10",
    "ganbench.builtin.dcgan": "ganbench.builtin.models.dcgan",
    "ganbench.builtin.fashion_mnist": "ganbench.builtin.datasets.fashion_mnist",
    "ganbench.builtin.features": "ganbench.builtin.models.features",
    "ganbench.builtin.folder": "ganbench.builtin.datasets.folder",
    "ganbench.builtin.gan_options": "ganbench.builtin.models.gan_options",
    "ganbench.builtin.hash_settings": "ganbench.builtin.probes.memorization.hash_settings",
    "ganbench.builtin.kmeans": "ganbench.builtin.models.kmeans",
    "ganbench.builtin.knn": "ganbench.builtin.probes.knn",
    "ganbench.builtin.lsun": "ganbench.builtin.datasets.lsun",
    "ganbench.builtin.memorization": "ganbench.builtin.probes.memorization",
    "ganbench.builtin.mnist": "ganbench.builtin.datasets.mnist",
    "ganbench.builtin.ortho": "ganbench.builtin.models.ortho",
    "ganbench.builtin.quality": "ganbench.builtin.probes.quality",
    "ganbench.builtin.svhn": "ganbench.builtin.datasets.svhn",
    "ganbench.builtin.svm": "ganbench.builtin.probes.svm",
    "ganbench.cache_files": "ganbench.system.cache_files",
    "ganbench.compare": "ganbench.reports.compare",
    "ganbench.compare_cli": "ganbench.cli.compare",
    "ganbench.data": "ganbench.api.data",
    "ganbench.datasets.cifar10": "ganbench.builtin.datasets.cifar10.loader",
    "ganbench.datasets.commands": "ganbench.cli.data",
    "ganbench.datasets.fashion_mnist": "ganbench.builtin.datasets.fashion_mnist.loader",
    "ganbench.datasets.folder": "ganbench.builtin.datasets.folder.loader",
    "ganbench.datasets.idx_datasets": "ganbench.builtin.datasets.idx_datasets",
    "ganbench.datasets.lsun": "ganbench.builtin.datasets.lsun.loader",
    "ganbench.datasets.mnist": "ganbench.builtin.datasets.mnist.loader",
    "ganbench.datasets.svhn": "ganbench.builtin.datasets.svhn.loader",
    "ganbench.dedup_lists": "ganbench.jobs.dedup_lists",
    "ganbench.device": "ganbench.system.device",
    "ganbench.disk": "ganbench.system.disk",
    "ganbench.errors": "ganbench.system.errors",
    "ganbench.escape": "ganbench.reports.escape",
    "ganbench.executors": "ganbench.jobs.executors",
    "ganbench.executors.local": "ganbench.jobs.executors.local",
    "ganbench.executors.ray_executor": "ganbench.jobs.executors.ray_executor",
    "ganbench.export": "ganbench.cli.export",
    "ganbench.feature_files": "ganbench.store.feature_files",
    "ganbench.features": "ganbench.jobs.features",
    "ganbench.hookspecs": "ganbench.api.hookspecs",
    "ganbench.install_check": "ganbench.system.install_check",
    "ganbench.job_keys": "ganbench.store.keys",
    "ganbench.leaderboard": "ganbench.reports.leaderboard",
    "ganbench.leaderboard_cli": "ganbench.cli.leaderboard",
    "ganbench.leaderboard_formats": "ganbench.reports.formats",
    "ganbench.leaderboard_marks": "ganbench.reports.compare",
    "ganbench.leaderboard_table": "ganbench.reports.leaderboard_table",
    "ganbench.model": "ganbench.api.model",
    "ganbench.models.acgan": "ganbench.builtin.models.acgan.model",
    "ganbench.models.baselines": "ganbench.builtin.models.baselines.model",
    "ganbench.models.bigan": "ganbench.builtin.models.bigan.model",
    "ganbench.models.common": "ganbench.builtin.models.common",
    "ganbench.models.dcgan": "ganbench.builtin.models.dcgan.model",
    "ganbench.models.dcgan_nets": "ganbench.builtin.models.dcgan.nets",
    "ganbench.models.features": "ganbench.builtin.models.features.model",
    "ganbench.models.kmeans": "ganbench.builtin.models.kmeans.model",
    "ganbench.models.ortho": "ganbench.builtin.models.ortho.model",
    "ganbench.models.projections": "ganbench.builtin.models.ortho.projections",
    "ganbench.options": "ganbench.api.options",
    "ganbench.outputs": "ganbench.store.guard",
    "ganbench.paths": "ganbench.system.paths",
    "ganbench.pictures": "ganbench.reports.pictures",
    "ganbench.plugin_checks": "ganbench.jobs.plugin_checks",
    "ganbench.predictions": "ganbench.store.predictions",
    "ganbench.preparation": "ganbench.jobs.preparation",
    "ganbench.probe": "ganbench.api.probe",
    "ganbench.probes.copying_test": "ganbench.builtin.probes.memorization.copying_test",
    "ganbench.probes.dedup": "ganbench.builtin.probes.memorization.dedup",
    "ganbench.probes.knn": "ganbench.builtin.probes.knn.probe",
    "ganbench.probes.linear_svm": "ganbench.builtin.probes.svm.solver",
    "ganbench.probes.memorization": "ganbench.builtin.probes.memorization.probe",
    "ganbench.probes.memorization_hash": "ganbench.builtin.probes.memorization.hashing",
    "ganbench.probes.memorization_neighbours": "ganbench.builtin.probes.memorization.neighbours",
    "ganbench.probes.quality": "ganbench.builtin.probes.quality.probe",
    "ganbench.probes.quality_classifier": "ganbench.builtin.probes.quality.classifier",
    "ganbench.probes.quality_metrics": "ganbench.builtin.probes.quality.metrics",
    "ganbench.probes.quality_spaces": "ganbench.builtin.probes.quality.spaces",
    "ganbench.probes.svm": "ganbench.builtin.probes.svm.probe",
    "ganbench.progress": "ganbench.system.progress",
    "ganbench.recipes.commands": "ganbench.cli.reproduce",
    "ganbench.references": "ganbench.reports.references",
    "ganbench.registry": "ganbench.api.registry",
    "ganbench.registry_names": "ganbench.api.registry_names",
    "ganbench.rows": "ganbench.jobs.rows",
    "ganbench.run": "ganbench.jobs.run",
    "ganbench.schema": "ganbench.store.schema",
    "ganbench.show": "ganbench.cli.show",
    "ganbench.splits": "ganbench.api.splits",
    "ganbench.testing": "ganbench.api.testing",
    "ganbench.text_tables": "ganbench.reports.tables",
    "ganbench.training": "ganbench.jobs.training",
}
GONE_PACKAGES = frozenset({"ganbench.models", "ganbench.probes"})


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module path only after every other finder failed, and hands out the new module."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, self, is_package=fullname == "ganbench.executors")
        if fullname in GONE_PACKAGES:
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        if spec.name in GONE_PACKAGES:
            return None  # an empty package: its old submodules are found here too
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} is deprecated: the module moved to {new}", DeprecationWarning, stacklevel=2)
        return importlib.import_module(new)

    def exec_module(self, module):
        pass


def install() -> None:
    """Put the finder last on ``sys.meta_path`` (once): real modules always win."""
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
