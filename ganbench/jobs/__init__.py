"""Jobs: submitting requests (build, key, skip, execute) and the pipeline of one job (prepare the
model, train, extract features, run the probes, write the rows), with the executors.

The old ``ganbench.jobs.<name>`` names (now in :mod:`.job`) still work with a DeprecationWarning.
"""

from __future__ import annotations

import importlib
import warnings



def __getattr__(name: str):
    module = importlib.import_module("ganbench.jobs.job")
    if name.startswith("__") or not hasattr(module, name):
        raise AttributeError(f"module 'ganbench.jobs' has no attribute {name!r}")
    warnings.warn(f"ganbench.jobs.{name} is deprecated: use ganbench.jobs.job.{name}", DeprecationWarning, stacklevel=2)
    return getattr(module, name)
