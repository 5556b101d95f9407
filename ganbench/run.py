"""One job: train (or load) a model on a dataset, run probes on it, emit rows.

A :class:`Job` holds only names and option strings, so it can be checked on
the machine that submits it (:func:`resolve`, every user error raised before
anything trains) and run anywhere the plugins are installed
(:func:`run_job`). Rows go to ``on_rows`` after each (probe, view), so a
crash later in the job never loses a finished figure.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from . import __version__
from .data import Dataset, fit_back, to_model_input, to_uint8
from .datasets.cache import decode_cache_in
from .device import autocast, memory_format, resolve_device
from .errors import UsageError
from .paths import dedup_path
from .plugins import get_registry
from .options import resolve_options
from .probe import Metric, ProbeContext
from .schema import SCHEMA_VERSION
from .training import TrainOutcome, Trainer, TrainSettings, model_key, set_seed

FEATURE_BATCH = 500


@dataclass
class ProbeRequest:
    name: str
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class Job:
    """Everything that defines one run of one model on one dataset with one seed."""

    model: str
    dataset: str
    probes: list[ProbeRequest]
    model_options: dict[str, str] = field(default_factory=dict)
    dataset_options: dict[str, str] = field(default_factory=dict)
    seed: int = 0
    data_root: str | None = None
    cache_dir: str = ".ganbench-cache"
    device: str = "auto"
    views: list[str] | None = None
    epochs: int | None = None
    max_steps: int | None = None
    batch_size: int | None = None
    checkpoint_every: int = 200
    dedup: bool = False


@dataclass
class Resolved:
    model_spec: Any
    model_options: dict
    probes: list[tuple[Any, dict]]
    dataset_spec: Any
    dataset_argument: str | None
    dataset_options: dict


MAX_SEED = 2**32 - 1  # numpy's and CUDA's generators take 32-bit seeds


def check_settings(job: Job) -> None:
    """The job's own numbers and device, checked before any plugin is asked."""
    if isinstance(job.seed, bool) or not isinstance(job.seed, int) or not 0 <= job.seed <= MAX_SEED:
        raise UsageError(f"Bad --seed {job.seed!r}: expected an integer from 0 to {MAX_SEED}.")
    for flag, value, least in (("--epochs", job.epochs, 0), ("--max-steps", job.max_steps, 0),
                               ("--batch-size", job.batch_size, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
            raise UsageError(f"Bad {flag} {value!r}: expected an integer of at least {least}.")
    if isinstance(job.checkpoint_every, bool) or not isinstance(job.checkpoint_every, int) or job.checkpoint_every < 1:
        raise UsageError(f"Bad --checkpoint-every {job.checkpoint_every!r}: expected an integer of at least 1.")
    resolve_device(job.device)


def check_trains(job: Job, mspec, model) -> None:
    """A model that trains is never stored untrained because of a zero-length schedule."""
    if not getattr(model, "trains", True):
        return
    for flag, value in (("--epochs", job.epochs), ("--max-steps", job.max_steps)):
        if value == 0:
            raise UsageError(f"{flag} 0: model '{mspec.name}' trains, and 0 would store it untrained. "
                             f"Give at least 1, or leave {flag} out for the model's own schedule.")


def resolve(job: Job) -> Resolved:
    """Look up every name and parse every option; raise UsageError on the first problem."""
    check_settings(job)
    reg = get_registry()
    mspec = reg.get("model", job.model)
    mopts = resolve_options(mspec.options, job.model_options, f"model '{mspec.name}'")
    model = mspec.factory(**mopts)  # cheap: networks are built later, by setup()
    check_trains(job, mspec, model)
    probes = []
    for req in job.probes:
        pspec = reg.get("probe", req.name)
        missing = pspec.requires - mspec.capabilities
        if missing:
            raise UsageError(
                f"Probe '{pspec.name}' needs a model with {', '.join(sorted(missing))}; model '{mspec.name}' "
                f"offers {', '.join(sorted(mspec.capabilities))}. Pick a model that has it (see `ganbench list models`)."
            )
        probes.append((pspec, resolve_options(pspec.options, req.options, f"probe '{pspec.name}'")))
    dspec = reg.get("dataset", job.dataset)
    dopts = resolve_options(dspec.options, job.dataset_options, f"dataset '{job.dataset}'")
    if job.views:
        views = model.feature_views()
        for view in job.views:
            if view not in views:
                raise UsageError(f"Model '{mspec.name}' has no feature view '{view}'. Views: {', '.join(views) or 'none'}.")
    return Resolved(mspec, mopts, probes, dspec, dspec.match(job.dataset), dopts)


def job_key(job: Job, resolved: Resolved, probe_index: int) -> str:
    """Hash of what one (job, probe) asks for, known before any data loads.

    A sweep skips the requests whose ``ok`` rows already carry this key.
    """
    pspec, popts = resolved.probes[probe_index]
    return model_key({
        "model": resolved.model_spec.name, "model_version": resolved.model_spec.version,
        "model_options": resolved.model_options, "dataset": job.dataset, "dataset_options": resolved.dataset_options,
        "data_root": job.data_root, "dedup": job.dedup, "seed": job.seed, "epochs": job.epochs,
        "max_steps": job.max_steps, "batch_size": job.batch_size, "views": job.views,
        "probe": pspec.name, "probe_version": pspec.version, "probe_options": popts,
    })


def pending(job: Job, done_keys: set[str]) -> Job | None:
    """``job`` without the probes whose rows are stored (``None`` when nothing is left)."""
    resolved = resolve(job)
    left = [req for i, req in enumerate(job.probes) if job_key(job, resolved, i) not in done_keys]
    if not left:
        return None
    return replace(job, probes=left)


def load_dataset(job: Job, resolved: Resolved) -> Dataset:
    with decode_cache_in(Path(job.cache_dir)):  # decoded datasets live under the run's --cache-dir
        dataset = resolved.dataset_spec.loader(job.data_root, resolved.dataset_argument, **resolved.dataset_options)
    if job.dedup:
        dataset = drop_duplicates(dataset, job.cache_dir)
    return dataset


def check_probes(probes: list, dataset: Dataset) -> None:
    """Each probe's optional ``check(info)`` against the loaded dataset, before anything trains."""
    info = dataset.info()
    for probe in probes:
        check = getattr(probe, "check", None)
        if callable(check):
            check(info)


def read_drop_list(path: Path, n_train: int) -> list[int]:
    """The validated ``drop`` list of a dedup file: distinct integer indices into the training split."""
    redo = "Delete it and run `ganbench dedup` again with the same --cache-dir."
    try:
        drop = json.loads(path.read_text())["drop"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"Damaged duplicate list {path}: expected JSON with a \"drop\" list "
                         f"({type(exc).__name__}). {redo}") from None
    if not isinstance(drop, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in drop):
        raise UsageError(f"Damaged duplicate list {path}: \"drop\" must be a list of integers. {redo}")
    bad = next((i for i in drop if not 0 <= i < n_train), None)
    if bad is not None:
        raise UsageError(f"Damaged duplicate list {path}: index {bad} is outside the training split "
                         f"(0 to {n_train - 1}). {redo}")
    if len(set(drop)) != len(drop):
        raise UsageError(f"Damaged duplicate list {path}: it repeats indices. {redo}")
    return drop


def drop_duplicates(dataset: Dataset, cache_dir: str) -> Dataset:
    """The dataset without the training images that ``ganbench dedup`` listed to drop."""
    path = dedup_path(Path(cache_dir), dataset.name, dataset.fingerprint)
    if not path.exists():
        raise UsageError(f"No duplicate list for dataset '{dataset.name}' (fingerprint {dataset.fingerprint}) at {path}. "
                         f"Run `ganbench dedup --dataset {dataset.name}` first, with the same --cache-dir.")
    drop = read_drop_list(path, len(dataset.train_x))
    keep = torch.ones(len(dataset.train_x), dtype=torch.bool)
    keep[torch.as_tensor(drop, dtype=torch.long)] = False
    return Dataset(f"{dataset.name}+dedup", dataset.train_x[keep].contiguous(), dataset.train_y[keep], dataset.test_x,
                   dataset.test_y, dataset.classes, source=dataset.source,
                   notes={**dataset.notes, "dedup_dropped": len(drop), "dedup_list": str(path)})


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class FeatureSource:
    """Extracts (and caches on disk) a model's features of one view."""

    def __init__(self, model, dataset: Dataset, device: torch.device, cache: Path | None):
        self.model, self.dataset, self.device, self.cache = model, dataset, device, cache
        self._memo: dict[tuple[str, str], np.ndarray] = {}  # the current view's splits only

    @torch.no_grad()
    def embed(self, images: torch.Tensor, view: str) -> np.ndarray:
        fmt = memory_format(self.device)
        chunks = []
        for start in range(0, len(images), FEATURE_BATCH):
            x = to_model_input(images[start:start + FEATURE_BATCH], self.model.image_size, self.model.value_range, self.device)
            with autocast(self.device):
                f = self.model.features(x.contiguous(memory_format=fmt), view)
            chunks.append(f.float().cpu().numpy())
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def split(self, split: str, view: str) -> np.ndarray:
        if (view, split) not in self._memo:
            self._memo = {k: v for k, v in self._memo.items() if k[0] == view}
            self._memo[(view, split)] = self._load_or_extract(split, view)
        return self._memo[(view, split)]

    def _load_or_extract(self, split: str, view: str) -> np.ndarray:
        path = None if self.cache is None else self.cache / f"{view}-{split}.npy"
        if path is not None and path.exists():
            return np.load(path, allow_pickle=False)
        feats = self.embed(self.dataset.split(split)[0], view)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp.npy")
            np.save(tmp, feats, allow_pickle=False)
            tmp.replace(path)
        return feats


def generator_for(model, dataset: Dataset, device: torch.device) -> Callable[[int, int], torch.Tensor]:
    """``generate(n, seed)`` -> uint8 ``(n, C, H, W)`` at the dataset's size."""

    @torch.no_grad()
    def generate(n: int, seed: int) -> torch.Tensor:
        g = torch.Generator(device=device).manual_seed(seed)
        _, h, w = dataset.image_shape
        out = []
        for start in range(0, n, FEATURE_BATCH):
            with autocast(device):
                x = model.sample(min(FEATURE_BATCH, n - start), g)
            out.append(fit_back(to_uint8(x, model.value_range), h, w))
        return torch.cat(out)

    return generate


def _row_base(job: Job, resolved: Resolved, dataset: Dataset, key: str, device, run_id: str) -> dict:
    spec = resolved.model_spec
    return {
        "schema_version": SCHEMA_VERSION, "run_id": run_id, "created_at": None, "ganbench_version": __version__,
        "model": spec.name, "model_version": spec.version, "model_config": resolved.model_options,
        "model_config_hash": key, "trains_on_labels": spec.trains_on_labels,
        "dataset": dataset.name, "dataset_fingerprint": dataset.fingerprint, "seed": job.seed,
        "device": str(device), "torch_version": torch.__version__,
    }


def _row(base: dict, pspec, popts: dict, view, metric: Metric | None, outcome: TrainOutcome, probe_seconds: float,
         status: str, error: str | None, feature_dim, extra: dict) -> dict:
    row = dict(base)
    row.update({
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "probe": pspec.name, "probe_version": pspec.version, "probe_config": popts,
        "feature_view": view, "feature_dim": feature_dim,
        "labels_used": metric.labels_used if metric else None,
        "metric": metric.name if metric else None, "value": metric.value if metric else None,
        "stderr": metric.stderr if metric else None,
        "higher_is_better": metric.higher_is_better if metric else None,
        "target": metric.target if metric else None,
        "n_train": metric.n_train if metric else None, "n_test": metric.n_test if metric else None,
        "train_seconds": round(outcome.seconds, 3), "probe_seconds": round(probe_seconds, 3),
        "schedule": outcome.schedule, "status": status, "error": error,
        "details": {**extra, **(metric.details if metric else {})},
    })
    return row


def run_job(job: Job, on_rows: Callable[[list[dict]], None], log: Callable[[str], None] = _log) -> list[dict]:
    """Train or load the model, run every probe on every view; return all rows."""
    resolved = resolve(job)
    dataset = load_dataset(job, resolved)
    probes = [pspec.factory(**popts) for pspec, popts in resolved.probes]
    check_probes(probes, dataset)  # e.g. a label budget larger than a class: before training, not after
    device = resolve_device(job.device)
    set_seed(job.seed)
    model = resolved.model_spec.factory(**resolved.model_options)
    views = list(job.views or model.feature_views())
    model.setup(dataset.info(), device)
    settings = TrainSettings(job.epochs, job.max_steps, job.batch_size, job.checkpoint_every)
    cache = Path(job.cache_dir)
    trainer = Trainer(model, dataset, device, job.seed, settings, folder=None, log=log) if model.trains else None
    key = model_key({
        "model": resolved.model_spec.name, "version": resolved.model_spec.version, "config": resolved.model_options,
        "dataset": dataset.fingerprint, "seed": job.seed, "schedule": trainer.schedule() if trainer else None,
    })
    folder = cache / "models" / f"{resolved.model_spec.name}-{key}"
    run_id = uuid.uuid4().hex[:12]
    base = _row_base(job, resolved, dataset, key, device, run_id)
    if trainer is not None:
        trainer.folder = folder  # known only once the schedule is part of the key
        outcome = _train(trainer, log)
    else:
        outcome = TrainOutcome("ok", 0, 0.0, {}, "untrained")
    model.train(False)
    extra = {"model": model.report(), "dataset": dataset.notes} if (model.report() or dataset.notes) else {}
    all_rows = []
    if outcome.status != "ok":
        rows = [_row({**base, "job_key": job_key(job, resolved, i)}, p, o, None, None, outcome, 0.0, outcome.status,
                     outcome.error, None, extra) for i, (p, o) in enumerate(resolved.probes)]
        on_rows(rows)
        return rows
    feature_cache = folder / "features" if model.cache_features else None
    features = FeatureSource(model, dataset, device, feature_cache)
    generate = generator_for(model, dataset, device) if "generator" in resolved.model_spec.capabilities else _no_generator
    artifacts = Path(job.cache_dir) / "artifacts" / run_id
    for index, ((pspec, popts), probe) in enumerate(zip(resolved.probes, probes)):
        base["job_key"] = job_key(job, resolved, index)
        for view in views if "features" in pspec.requires else [None]:
            ctx = ProbeContext(
                dataset=dataset, view=view, seed=job.seed, device=device, artifacts_dir=artifacts / pspec.name,
                model=model, _features=lambda split, v=view: features.split(split, v),
                _embed=lambda images, v=view: features.embed(images, v), _generate=generate, log=log,
                cache_dir=cache,
            )
            rows = _run_probe(probe, pspec, popts, ctx, base, outcome, extra, log)
            on_rows(rows)
            all_rows += rows
    return all_rows


def _train(trainer: Trainer, log) -> TrainOutcome:
    """Train; a crash inside a model plugin becomes ``failed`` rows, not a lost job."""
    try:
        return trainer.run()
    except Exception as exc:
        log(traceback.format_exc())
        return TrainOutcome("failed", 0, 0.0, trainer.schedule(0), "trained", f"training failed: {type(exc).__name__}: {exc}")


def _run_probe(probe, pspec, popts, ctx, base, outcome, extra, log) -> list[dict]:
    began = time.perf_counter()
    try:
        metrics = probe.run(ctx)
    except Exception as exc:  # one failing probe must not lose the others' rows
        detail = str(exc) if isinstance(exc, UsageError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, UsageError):
            log(traceback.format_exc())
        log(f"Probe '{pspec.name}' failed on view {ctx.view}: {detail}")
        return [_row(base, pspec, popts, ctx.view, None, outcome, time.perf_counter() - began, "failed", detail, None, extra)]
    seconds = time.perf_counter() - began
    dim = None
    if ctx.view is not None:
        dim = int(ctx.features("test")[0].shape[1])
        log(f"{pspec.name} on view '{ctx.view}' ({dim} dimensions): {seconds:.1f} s")
    return [_row(base, pspec, popts, ctx.view, m, outcome, seconds, "ok", None, dim, extra) for m in metrics]


def _no_generator(n: int, seed: int):
    raise UsageError("this model has no generator")

