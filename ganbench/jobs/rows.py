"""The result rows of a job: the fields every row shares, one (probe, view)'s row, failure rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import torch

from ganbench import __version__
from ganbench.api.data import Dataset
from ganbench.api.probe import Metric
from ganbench.store.schema import SCHEMA_VERSION
from ganbench.jobs.training import TrainOutcome
from ganbench.jobs.job import Job, Resolved, resolve
from ganbench.store.keys import row_key


def _row_base(job: Job, resolved: Resolved, dataset: Dataset, key: str, device, run_id: str) -> dict:
    spec = resolved.model_spec
    return {
        "schema_version": SCHEMA_VERSION, "run_id": run_id, "created_at": None, "ganbench_version": __version__,
        "model": spec.name, "model_version": spec.version, "model_config": resolved.model_config,
        "model_config_hash": key, "trains_on_labels": spec.trains_on_labels, "model_label": resolved.model_label or spec.name,
        "dataset": dataset.name, "dataset_fingerprint": dataset.fingerprint, "seed": job.seed,
        "at_epoch": job.at_epoch, "bn_stats": job.bn_stats, "device": str(device), "torch_version": torch.__version__,
    }


def _training_details(outcome: TrainOutcome) -> dict:
    """How long the whole training took, over every session (``train_seconds`` is this call's share)."""
    details = {}
    if outcome.total_seconds is not None:
        details["total_seconds"] = round(outcome.total_seconds, 3)
    if outcome.resumed_from is not None:
        details["resumed_from_step"] = outcome.resumed_from
    return details


@dataclass(frozen=True)
class RowContext:
    """What every row of one probe in a job shares: the job's fields, the probe, the training, the details."""

    base: dict
    pspec: Any
    popts: dict
    outcome: TrainOutcome
    extra: dict = field(default_factory=dict)
    model_category: str | None = None  # the model spec's category (gan, generative, baseline)


@dataclass(frozen=True)
class ProbeOutcome:
    """How one (probe, view) ended: its status, and its metric or error."""

    status: str
    error: str | None = None
    view: str | None = None
    metric: Metric | None = None
    seconds: float = 0.0
    feature_dim: int | None = None


def _row(context: RowContext, result: ProbeOutcome) -> dict:
    metric, outcome = result.metric, context.outcome
    row = dict(context.base)
    row.update({
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "feature_config": context.base.get("feature_config"),  # null where no view was extracted
        "probe": context.pspec.name, "probe_version": context.pspec.version, "probe_config": context.popts,
        "feature_view": result.view, "feature_dim": result.feature_dim,
        "labels_used": metric.labels_used if metric else None,
        "metric": metric.name if metric else None, "value": metric.value if metric else None,
        "stderr": metric.stderr if metric else None,
        "higher_is_better": metric.higher_is_better if metric else None,
        "target": metric.target if metric else None,
        "n_train": metric.n_train if metric else None, "n_test": metric.n_test if metric else None,
        "train_seconds": round(outcome.seconds, 3), "probe_seconds": round(result.seconds, 3),
        "schedule": outcome.schedule, "status": result.status, "error": result.error,
        "details": {**context.extra, **_spec_facts(context), **(metric.details if metric else {})},
    })
    row["job_key"] = row_key(row)  # every field of the key is in the row: the one rule, for new rows and old
    return row


def _spec_facts(context: RowContext) -> dict:
    """What the leaderboard needs of the model's and the probe's specs, kept in the row so that a store's
    leaderboard reads the same whichever plugins are installed where it is made."""
    facts = {"model_category": context.model_category} if context.model_category else {}
    facts["probe_headline"] = list(context.pspec.headline)
    facts["probe_named_in_metric"] = list(context.pspec.named_in_metric)
    return facts


def failed_row(context: RowContext, error: str, status: str = "failed", view: str | None = None,
               metric: str | None = None, seconds: float = 0.0) -> dict:
    """The row of a request that did not succeed: every failure path of a job builds its rows here.

    ``status`` is ``failed`` or ``diverged``; ``metric`` names the one metric
    that failed, when the others of its probe were stored.
    """
    row = _row(context, ProbeOutcome(status, error, view=view, seconds=seconds))
    row["metric"] = metric
    return row


def job_failure_rows(job: Job, error: str, run_id: str | None = None, base: dict | None = None,
                     skip_keys: frozenset[str] = frozenset(), outcome: TrainOutcome | None = None,
                     extra: dict | None = None) -> list[dict]:
    """One row per probe of ``job`` (but those whose job_key is in ``skip_keys``) for a failure outside any
    probe: the model could not be built or trained (``outcome``: ``failed`` or ``diverged``), or an
    executor lost the job. Fields that need the dataset or the model stay null when ``base`` is not given.
    """
    resolved = resolve(job)
    run_id = run_id or uuid.uuid4().hex[:12]
    if base is None:
        spec = resolved.model_spec
        base = {"schema_version": SCHEMA_VERSION, "run_id": run_id, "created_at": None, "ganbench_version": __version__,
                "model": spec.name, "model_version": spec.version, "model_config": resolved.model_config,
                "model_config_hash": None, "trains_on_labels": spec.trains_on_labels,
                "model_label": resolved.model_label or spec.name, "dataset": job.dataset,
                "dataset_fingerprint": None, "seed": job.seed, "at_epoch": job.at_epoch, "bn_stats": job.bn_stats,
                "device": job.device, "torch_version": torch.__version__}
    outcome = outcome or TrainOutcome("failed", 0, 0.0, {}, "none", error)
    rows = []
    for pspec, popts in resolved.probes:
        context = RowContext(dict(base), pspec, popts, outcome, extra or {}, model_category=resolved.model_spec.category)
        row = failed_row(context, error, status=outcome.status if outcome.status != "ok" else "failed")
        if row["job_key"] not in skip_keys:
            rows.append(row)
    return rows
