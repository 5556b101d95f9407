"""ganbench: a plugin-based benchmark harness for GAN representation learning.

The public API for plugin authors is what this module exports (``__all__``;
docs/plugins.md documents every name). Names backed by torch (``Model``,
``Dataset``, ``Batch``, ...) are imported on first access (PEP 562), so that
``import ganbench`` -- and with it ``ganbench --help`` and ``ganbench list`` --
does not import torch.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

from ganbench.system.errors import DataError, DivergedError, UsageError  # noqa: E402
from ganbench.api.hookspecs import hookimpl  # noqa: E402
from ganbench.api.options import Option  # noqa: E402
from ganbench.api.registry import DatasetSpec, ExecutorSpec, ModelSpec, ProbeSpec  # noqa: E402

from ganbench.system import moved as _moved  # noqa: E402

_moved.install()  # old module paths keep working, with a DeprecationWarning

# name -> module that defines it, imported on first access
_LAZY = {
    "Batch": ".api.model",
    "Model": ".api.model",
    "Schedule": ".api.model",
    "DataInfo": ".api.data",
    "Dataset": ".api.data",
    "Metric": ".api.probe",
    "Probe": ".api.probe",
    "ProbeContext": ".api.probe",
    "label_budget": ".api.splits",
    "load_dataset": ".datasets.open",
    "validation_split": ".api.splits",
}

__all__ = [
    "__version__",
    "hookimpl",
    "Batch",
    "DataError",
    "DataInfo",
    "Dataset",
    "DatasetSpec",
    "DivergedError",
    "ExecutorSpec",
    "Metric",
    "Model",
    "ModelSpec",
    "Option",
    "Probe",
    "ProbeContext",
    "ProbeSpec",
    "Schedule",
    "UsageError",
    "label_budget",
    "load_dataset",
    "validation_split",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ganbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
