"""The keys that name a request (one probe of one job) in the result store, without torch.

``ganbench sweep`` and ``ganbench reproduce`` skip a request whose ``ok`` rows
carry its key; ``reproduce --dry-run`` computes the same keys without
importing torch (``ganbench.jobs.run.job_key`` is this function on a resolved job).
"""

from __future__ import annotations

import hashlib
import json


def stable_hash(parts: dict) -> str:
    """16 hex digits of the sha256 of ``parts`` as sorted JSON."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def request_key(job, model_spec, model_options: dict, dataset_options: dict, probe_spec, probe_options: dict) -> str:
    """Hash of what one (job, probe) asks for, known before any data loads.

    ``job`` is a :class:`ganbench.Job` (or anything with its fields); the
    options are the parsed ones (defaults filled in). The data root is part of
    it as written: the same data under another folder is another request.
    """
    return stable_hash({
        "model": model_spec.name, "model_version": model_spec.version,
        "model_options": model_options, "dataset": job.dataset, "dataset_options": dataset_options,
        "data_root": job.data_root, "dedup": job.dedup, "seed": job.seed, "epochs": job.epochs,
        "max_steps": job.max_steps, "batch_size": job.batch_size, "views": list(dict.fromkeys(job.views)) if job.views else job.views,  # a repeated --view asks nothing more
        "probe": probe_spec.name, "probe_version": probe_spec.version, "probe_options": probe_options,
        "at_epoch": job.at_epoch, "bn_stats": job.bn_stats,
    })
