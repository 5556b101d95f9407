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

from .errors import DataError, DivergedError, UsageError  # noqa: E402
from .hookspecs import hookimpl  # noqa: E402
from .options import Option  # noqa: E402
from .registry import DatasetSpec, ExecutorSpec, ModelSpec, ProbeSpec  # noqa: E402

# name -> module that defines it, imported on first access
_LAZY = {
    "Batch": ".model",
    "Model": ".model",
    "Schedule": ".model",
    "DataInfo": ".data",
    "Dataset": ".data",
    "Metric": ".probe",
    "Probe": ".probe",
    "ProbeContext": ".probe",
    "label_budget": ".splits",
    "load_dataset": ".datasets.commands",
    "validation_split": ".splits",
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
