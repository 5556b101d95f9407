"""The key that names a request (one probe of one job) in the result store, by content, without torch.

A request is stored when an ``ok`` row carries its key. The key hashes what
determines the figures and nothing else:

- the model: name, version and configuration (every option, and the facts the
  model derives from them, such as a features file's digest);
- the data, **by content**: the dataset's family (``mnist``, ``lsun-bedroom``;
  a ``folder:<path>`` dataset is ``folder``) and the fingerprint of its decoded
  tensors (``dataset_fingerprint``, the same on every machine for the same
  files, whatever folder they sit in and whether they are gzipped);
- the seed and the planned schedule (epochs, step limit, batch size: the
  model's defaults filled in, so ``--epochs 25`` and a default of 25 are one
  request), the snapshot (``--at-epoch``) and the batch-norm statistics;
- the probe: name, version and configuration.

Views are not part of it: each row names its view, and a request for some
views is stored when rows of those views are (:func:`covers`). The device is
not part of it either: a row made on a GPU counts on a laptop.

Every field of the key is in the row itself, so :func:`row_key` recomputes
any row's key -- rows written before keys were by content (schema 1 and 2,
whose ``job_key`` hashed the data root as written) are recognised the same
way, without rewriting the store.
"""

from __future__ import annotations

import hashlib
import json

KEY_VERSION = 2
DEFAULT_BN_STATS = "train-images"


def stable_hash(parts: dict) -> str:
    """16 hex digits of the sha256 of ``parts`` as sorted JSON."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def dataset_family(name: str) -> str:
    """The dataset's name without a place: ``folder:/home/me/imgs`` is ``folder`` (its content decides)."""
    return "folder" if str(name).startswith("folder:") else str(name)


def schedule_plan(schedule: dict | None) -> dict:
    """The planned part of a schedule (what was asked, defaults filled in), without the steps it reached."""
    schedule = schedule or {}
    return {k: schedule.get(k) for k in ("epochs", "max_steps", "batch_size")} if schedule else {}


def request_key(*, model: str, model_version: str, model_config: dict, dataset: str, dataset_fingerprint: str | None,
                seed: int, schedule: dict | None, at_epoch: int | None, bn_stats: str | None, probe: str,
                probe_version: str, probe_config: dict) -> str:
    """The key of one request (see the module docstring)."""
    return stable_hash({
        "key_version": KEY_VERSION,
        "model": model, "model_version": str(model_version), "model_config": model_config,
        "dataset": dataset_family(dataset), "dataset_fingerprint": dataset_fingerprint,
        "seed": seed, "schedule": schedule_plan(schedule), "at_epoch": at_epoch,
        "bn_stats": bn_stats or DEFAULT_BN_STATS,
        "probe": probe, "probe_version": str(probe_version), "probe_config": probe_config,
    })


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def row_key(row: dict) -> str | None:
    """The key of the request a row answers, from the row's own fields; ``None`` for a row too damaged to tell.

    Rows of schema 1 and 2 have no ``at_epoch`` and ``bn_stats`` fields: the snapshot is in
    ``details.snapshot_epoch`` and the statistics in ``feature_config`` -- where it says ``none`` (a model
    without batch norm, whatever was asked) or nothing, the request had the default.
    """
    try:
        details = _dict(row.get("details"))
        at_epoch = row["at_epoch"] if "at_epoch" in row else details.get("snapshot_epoch")
        bn_stats = row.get("bn_stats")
        if "bn_stats" not in row:
            used = (_dict(row.get("feature_config")).get("bn_stats") or _dict(details.get("features")).get("bn_stats"))
            bn_stats = used if used not in (None, "none") else DEFAULT_BN_STATS
        return request_key(
            model=row["model"], model_version=row.get("model_version"), model_config=_dict(row.get("model_config")),
            dataset=row["dataset"], dataset_fingerprint=row.get("dataset_fingerprint"), seed=row.get("seed"),
            schedule=_dict(row.get("schedule")), at_epoch=at_epoch, bn_stats=bn_stats, probe=row["probe"],
            probe_version=row.get("probe_version"), probe_config=_dict(row.get("probe_config")))
    except (KeyError, TypeError):
        return None


def covers(stored_views: set, asked_views: list | None) -> bool:
    """Whether rows of ``stored_views`` answer a request for ``asked_views`` (``None``: a probe without views)."""
    return asked_views is None or set(asked_views) <= set(stored_views)
