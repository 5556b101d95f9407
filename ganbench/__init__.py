"""ganbench: a plugin-based benchmark harness for GAN representation learning.

The public API for plugin authors is what this module exports.
"""

__version__ = "0.1.0"

from .data import DataInfo, Dataset  # noqa: E402
from .errors import DataError, DivergedError, UsageError  # noqa: E402
from .hookspecs import hookimpl  # noqa: E402
from .model import Batch, Model, Schedule  # noqa: E402
from .options import Option  # noqa: E402
from .probe import Metric, Probe, ProbeContext  # noqa: E402
from .registry import DatasetSpec, ExecutorSpec, ModelSpec, ProbeSpec  # noqa: E402
from .splits import label_budget, validation_split  # noqa: E402

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
    "validation_split",
]
