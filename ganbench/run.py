"""One job: train (or load) a model on a dataset, run probes on it, emit rows.

A :class:`Job` holds only names and option strings, so it can be checked on
the machine that submits it (:func:`resolve`, every user error raised before
anything trains) and run anywhere the plugins are installed
(:func:`run_job`). Rows go to ``on_rows`` after each (probe, view), so a
crash later in the job never loses a finished figure.
"""

from __future__ import annotations

import contextlib
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
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from . import __version__
from . import bn_stats as bn
from .cache_files import CacheFile, atomic_write, tensors_digest
from .data import Dataset, fit_back, to_model_input, to_uint8
from .datasets.open import open_dataset, resolve_dataset
from .device import FEATURE_PRECISION, float32_math, memory_format, resolve_device
from .errors import UsageError
from .install_check import stop_if_broken_install
from .job_keys import request_key
from .model import Model
from .paths import dedup_path
from .plugin_checks import PluginOutputError, checked_features, checked_samples
from .plugins import get_registry
from .options import resolve_options
from . import predictions
from .probe import MAX_METRIC_NAME, Metric, MetricError, ProbeContext, check_metric
from .schema import SCHEMA_VERSION
from .training import SNAPSHOT_EPOCHS, TrainOutcome, Trainer, TrainSettings, model_key, real_sample, set_seed

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
    at_epoch: int | None = None  # probe the end-of-epoch snapshot of the full run's training
    bn_stats: str = "train-images"  # batch-norm statistics of the features: train-images | running


@dataclass
class Resolved:
    model_spec: Any
    model_options: dict
    probes: list[tuple[Any, dict]]
    dataset_spec: Any
    dataset_argument: str | None
    dataset_options: dict
    model_facts: dict = field(default_factory=dict)  # Model.config_facts(): e.g. a features file's sha256
    model_label: str | None = None  # Model.label(): the name its rows are shown under

    @property
    def model_config(self) -> dict:
        """The row's ``model_config``: every option, and the facts the model derives from them."""
        return {**self.model_options, **self.model_facts}


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
    model = _model_for_checks(mspec, mopts)
    if model is not None:
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
    dspec, dargument, dopts = resolve_dataset(job.dataset, job.dataset_options)
    if job.views and model is not None:
        views = model.feature_views()
        for view in job.views:
            if view not in views:
                raise UsageError(f"Model '{mspec.name}' has no feature view '{view}'. Views: {', '.join(views) or 'none'}.")
    facts, label = _identity(model)
    return Resolved(mspec, mopts, probes, dspec, dargument, dopts, facts, label)


def _identity(model) -> tuple[dict, str | None]:
    """A model's optional ``config_facts()`` and ``label()`` (see :class:`ganbench.Model`)."""
    facts = getattr(model, "config_facts", None)
    label = getattr(model, "label", None)
    label = label() if callable(label) else None
    return (dict(facts()) if callable(facts) else {}), (label if isinstance(label, str) and label.strip() else None)


def _model_for_checks(mspec, options: dict):
    """The model object, built cheaply (networks come later, in ``setup``), to check the
    request against; ``None`` when its factory raises -- that becomes the job's failed rows."""
    try:
        return mspec.factory(**options)
    except UsageError:  # the options refused by the model itself (a features file that is not there)
        raise
    except Exception:
        return None


def job_key(job: Job, resolved: Resolved, probe_index: int) -> str:
    """Hash of what one (job, probe) asks for, known before any data loads (:func:`ganbench.job_keys.request_key`).

    A sweep skips the requests whose ``ok`` rows already carry this key.
    """
    pspec, popts = resolved.probes[probe_index]
    return request_key(job, resolved.model_spec, resolved.model_config, resolved.dataset_options, pspec, popts)


def pending(job: Job, done_keys: set[str]) -> Job | None:
    """``job`` without the probes whose rows are stored (``None`` when nothing is left)."""
    resolved = resolve(job)
    left = [req for i, req in enumerate(job.probes) if job_key(job, resolved, i) not in done_keys]
    if not left:
        return None
    return replace(job, probes=left)


def load_dataset(job: Job, resolved: Resolved) -> Dataset:
    dataset = open_dataset(resolved.dataset_spec, resolved.dataset_argument, resolved.dataset_options, job.data_root,
                           job.cache_dir)
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
    """Extracts (and caches on disk) a model's features of one view, in float32.

    ``bn_stats``: ``train-images`` (default) normalises every batch-norm layer
    the view reaches with statistics recomputed on the real training images
    (:mod:`ganbench.bn_stats`), in :meth:`embed` and so in every split and in
    ``ProbeContext.embed``; ``running`` uses the layers' running statistics.
    ``cache`` is the folder for the model's weights as loaded; files go to a
    subfolder named by the weights' digest (new weights never reuse old
    features) and by everything else that changes features (batch-norm mode,
    precision, device type), so e.g. a CPU row never reuses GPU features.
    Every batch ``features()`` returns is checked (:mod:`ganbench.plugin_checks`);
    cache files carry a digest and a damaged one is set aside and rebuilt
    (:mod:`ganbench.cache_files`). Call :meth:`weights_changed` after changing
    the model's weights once features were used.
    """

    def __init__(self, model, dataset: Dataset, device: torch.device, cache: Path | None,
                 bn_stats: str = "train-images", log: Callable[[str], None] = None, plugin: str | None = None):
        if bn_stats not in bn.MODES:
            raise UsageError(f"Bad --bn-stats {bn_stats!r}: expected one of {', '.join(bn.MODES)}.")
        self.model, self.dataset, self.device, self.bn_stats = model, dataset, device, bn_stats
        self.log = log or _log
        self.plugin = plugin or type(model).__name__
        self._base = cache
        self._digest: str | None = None
        self._memo: dict[tuple[str, str], np.ndarray] = {}  # the current view's splits only
        self._stats: dict[str, dict] = {}
        self._dims: dict[str, int] = {}
        self.progress = False  # a tqdm bar per extraction (quiet when stderr is not a terminal)

    @property
    def cache(self) -> Path | None:
        """The folder of these weights' files (``None``: nothing is cached)."""
        if self._base is None:
            return None
        if self._digest is None:
            self._digest = tensors_digest(self.model.state_tensors())
        return self._base.with_name(f"{self._base.name}-{self._digest}") / \
            f"{self.bn_stats}-{FEATURE_PRECISION}-{self.device.type}"

    def weights_changed(self) -> None:
        """The model's weights changed (e.g. ``after_training`` fitted a projection): forget what came from the old."""
        if self._base is None:
            self._memo, self._stats, self._dims = {}, {}, {}
            return
        digest = tensors_digest(self.model.state_tensors())
        if digest != self._digest:
            self._digest = digest
            self._memo, self._stats, self._dims = {}, {}, {}

    def config(self, view: str) -> dict:
        """How ``view``'s features are extracted: the row's ``feature_config``."""
        given = getattr(self.model, "feature_config", None)
        given = given(view) if callable(given) else None
        if given is not None:  # precomputed features say how they were made
            return dict(given)
        if self.bn_stats == "running":
            mode = "running" if bn.batch_norm_layers(self.model) else "none"
        else:
            mode = "train-images" if self.statistics(view) else "none"
        return {"bn_stats": mode, "precision": FEATURE_PRECISION, "device": self.device.type}

    # -- batch-norm statistics ------------------------------------------
    def statistics(self, view: str) -> dict[str, bn.LayerStats]:
        """The recomputed statistics of every batch-norm layer ``view`` reaches (empty: none)."""
        if view not in self._stats:
            self._stats[view] = self._load_or_recompute(view)
        return self._stats[view]

    def _load_or_recompute(self, view: str) -> dict[str, bn.LayerStats]:
        if not bn.batch_norm_layers(self.model):
            return {}
        file = None if self.cache is None else CacheFile(self.cache / f"bn-{view}.safetensors", self.log,
                                                         what="warning: batch-norm statistics")
        if file is not None:
            stats = file.read(bn.load, lambda loaded: bn.problem(self.model, loaded))
            if stats is not None:
                return stats
        model = self.model
        inputs = bn.batches(self.dataset.train_x, lambda x: to_model_input(x, model.image_size, model.value_range, self.device))
        with float32_math(self.device):
            stats = bn.recompute(model, view, inputs)
        if file is not None and bn.problem(model, stats) is None:  # non-finite statistics are never kept
            file.write(lambda tmp: bn.save(stats, Path(tmp)))
        return stats

    def bn_context(self, view: str):
        """While active, ``model.features(x, view)`` uses this source's batch-norm statistics."""
        if self.bn_stats == "running":
            return contextlib.nullcontext()
        return bn.applied(self.model, self.statistics(view))

    # -- features ---------------------------------------------------------
    @torch.no_grad()
    def embed(self, images: torch.Tensor, view: str) -> np.ndarray:
        """uint8 ``(N, C, H, W)`` -> float32 ``(N, D)`` features of ``view``; every batch checked."""
        fmt = memory_format(self.device)
        chunks, dim = [], None
        starts = range(0, len(images), FEATURE_BATCH)
        if self.progress:
            starts = tqdm(starts, desc=f"features '{view}'", unit="batch", disable=None, leave=False)
        with float32_math(self.device), self.bn_context(view):
            for start in starts:
                x = to_model_input(images[start:start + FEATURE_BATCH], self.model.image_size, self.model.value_range, self.device)
                f = checked_features(self.model.features(x.contiguous(memory_format=fmt), view), len(x), view,
                                     self.plugin, dim)
                dim = f.shape[1]
                chunks.append(f.float().cpu().numpy())
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def split(self, split: str, view: str) -> np.ndarray:
        if (view, split) not in self._memo:
            self._memo = {k: v for k, v in self._memo.items() if k[0] == view}
            self._memo[(view, split)] = self._load_or_extract(split, view)
        return self._memo[(view, split)]

    def dimension(self, view: str) -> int:
        if view not in self._dims:
            given = self._precomputed("test", view)
            sample = given if given is not None else self.embed(self.dataset.test_x[:2], view)
            self._dims[view] = int(sample.shape[1])
        return self._dims[view]

    def _cache_problem(self, feats: np.ndarray, split: str, view: str) -> str | None:
        rows = len(self.dataset.split(split)[0])
        expected = (rows, self.dimension(view))
        if feats.dtype != np.float32 or feats.shape != expected:
            return f"holds {feats.dtype} {feats.shape}, expected float32 {expected}"
        if not np.isfinite(feats).all():
            return "holds non-finite values"
        return None

    def _precomputed(self, split: str, view: str) -> np.ndarray | None:
        """The model's own features of the split (``Model.split_features``), or None: extract them."""
        given = getattr(self.model, "split_features", None)
        return given(split, view) if callable(given) else None

    def _load_or_extract(self, split: str, view: str) -> np.ndarray:
        given = self._precomputed(split, view)
        if given is not None:
            return given
        file = None if self.cache is None else CacheFile(self.cache / f"{view}-{split}.npy", self.log, what="warning: feature cache")
        if file is not None:
            feats = file.read(lambda p: np.load(p, allow_pickle=False),
                              lambda loaded: self._cache_problem(loaded, split, view), then="extracting the features again")
            if feats is not None:
                return feats
        feats = self.embed(self.dataset.split(split)[0], view)
        if file is not None:
            file.write(lambda tmp: _save_npy(tmp, feats))
        return feats


def _save_npy(path: str, array: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.save would add ".npy" to a path not ending in it
        np.save(f, array, allow_pickle=False)


def generator_for(model, dataset: Dataset, device: torch.device, plugin: str | None = None) -> Callable[[int, int], torch.Tensor]:
    """``generate(n, seed)`` -> uint8 ``(n, C, H, W)`` at the dataset's size; every batch
    ``sample`` returns is checked (shape, finite, within ``value_range``) and a bad one names ``plugin``.

    Samples are drawn in float32 like features (no bf16 autocast, no TF32): bf16's
    8-bit mantissa moves pixels by whole grey levels, which FID, the memorization
    probes and the augment classifier would then measure as the model's."""

    @torch.no_grad()
    def generate(n: int, seed: int) -> torch.Tensor:
        g = torch.Generator(device=device).manual_seed(seed)
        _, h, w = dataset.image_shape
        out = []
        for start in range(0, n, FEATURE_BATCH):
            m = min(FEATURE_BATCH, n - start)
            with float32_math(device):
                x = checked_samples(model.sample(m, g), m, dataset.image_shape[0], model.value_range,
                                    plugin or type(model).__name__)
            out.append(fit_back(to_uint8(x, model.value_range), h, w))
        return torch.cat(out)

    return generate


def _row_base(job: Job, resolved: Resolved, dataset: Dataset, key: str, device, run_id: str) -> dict:
    spec = resolved.model_spec
    return {
        "schema_version": SCHEMA_VERSION, "run_id": run_id, "created_at": None, "ganbench_version": __version__,
        "model": spec.name, "model_version": spec.version, "model_config": resolved.model_config,
        "model_config_hash": key, "trains_on_labels": spec.trains_on_labels, "model_label": resolved.model_label or spec.name,
        "dataset": dataset.name, "dataset_fingerprint": dataset.fingerprint, "seed": job.seed,
        "device": str(device), "torch_version": torch.__version__,
    }


def _training_details(outcome: TrainOutcome) -> dict:
    """How long the whole training took, over every session (``train_seconds`` is this call's share)."""
    details = {}
    if outcome.total_seconds is not None:
        details["total_seconds"] = round(outcome.total_seconds, 3)
    if outcome.resumed_from is not None:
        details["resumed_from_step"] = outcome.resumed_from
    return details


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


@dataclass
class PreparedModel:
    """A model trained (or loaded) for a job, ready to give features and samples.

    ``model`` is in eval mode on ``device``; ``outcome`` says how it was
    obtained (status ``ok`` or not, steps, seconds, source); ``folder`` is its
    cache folder and ``key`` the hash naming it; ``features`` extracts (and
    caches) its features with the job's batch-norm statistics, in float32.
    """

    model: Any
    dataset: Dataset
    device: torch.device
    outcome: TrainOutcome
    folder: Path
    resolved: Resolved
    key: str
    features: FeatureSource | None = None
    snapshot_epoch: int | None = None


def prepare_model(job: Job, log: Callable[[str], None] = _log,
                  check: Callable[[Dataset], None] | None = None) -> PreparedModel:
    """Resolve ``job``, load its dataset, build its model and train it (or load it).

    Honours ``job.at_epoch`` (a snapshot of the full run's training, never
    trained for) and a spec's ``trains_as`` (another model's training reused).
    ``check(dataset)`` runs once the dataset is loaded, before anything trains.
    Raises :class:`UsageError` before anything trains for a bad request.
    """
    resolved = resolve(job)
    if job.bn_stats not in bn.MODES:
        raise UsageError(f"Bad --bn-stats {job.bn_stats!r}: expected one of {', '.join(bn.MODES)}.")
    spec = resolved.model_spec
    dataset = load_dataset(job, resolved)
    if check is not None:
        check(dataset)  # e.g. a probe's label budget larger than a class: refused before training, not after
    device = resolve_device(job.device)
    set_seed(job.seed)
    model = spec.factory(**resolved.model_options)
    model.setup(dataset.info(), device)
    bind = getattr(model, "bind_dataset", None)
    if callable(bind):
        bind(dataset)  # e.g. a features file's labels checked against the dataset's, before any probe
    if job.at_epoch is not None and not model.trains and spec.trains_as is None:
        raise UsageError(f"--at-epoch {job.at_epoch}: model '{spec.name}' does not train, so it has no snapshots. Leave --at-epoch out.")
    if spec.trains_as is not None:
        return _prepare_through(spec, job, resolved, model, dataset, device, log)
    if not model.trains:
        key = _key(spec, resolved.model_config, dataset, job.seed, None)
        folder = Path(job.cache_dir) / "models" / f"{spec.name}-{key}"
        outcome = TrainOutcome("ok", 0, 0.0, {}, "untrained")
        prepared = _prepared(job, resolved, model, dataset, device, outcome, folder, key, log)
        if fits_without_training(model):
            _load_or_fit(prepared, job.seed, log)
        return prepared
    trainer = _trainer(spec, resolved.model_config, model, dataset, device, job, log)
    key, folder = _key(spec, resolved.model_config, dataset, job.seed, trainer.schedule()), trainer.folder
    if job.at_epoch is None:
        outcome = _train(trainer, log)
        return _prepared(job, resolved, model, dataset, device, outcome, folder, key, log)
    outcome, from_snapshot = _load_snapshot(trainer, job.at_epoch, log)
    prepared = _prepared(job, resolved, model, dataset, device, outcome, folder, key, log)
    if from_snapshot:
        _fit_after_training(prepared, job.seed)
    return prepared


def _key(spec, options: dict, dataset: Dataset, seed: int, schedule: dict | None) -> str:
    return model_key({"model": spec.name, "version": spec.version, "config": options, "dataset": dataset.fingerprint,
                      "seed": seed, "schedule": schedule})


def _trainer(spec, options: dict, model, dataset: Dataset, device, job: Job, log) -> Trainer:
    settings = TrainSettings(job.epochs, job.max_steps, job.batch_size, job.checkpoint_every)
    trainer = Trainer(model, dataset, device, job.seed, settings, folder=None, log=log)
    # the folder is known only once the schedule is part of the key
    trainer.folder = Path(job.cache_dir) / "models" / f"{spec.name}-{_key(spec, options, dataset, job.seed, trainer.schedule())}"
    return trainer


def _prepared(job, resolved, model, dataset, device, outcome, folder, key, log) -> PreparedModel:
    model.train(False)
    weights = "final" if job.at_epoch is None else f"epoch-{job.at_epoch:04d}"
    cache = folder / "features" / weights if model.cache_features else None
    features = FeatureSource(model, dataset, device, cache, job.bn_stats, log, plugin=resolved.model_spec.name)
    return PreparedModel(model, dataset, device, outcome, folder, resolved, key, features, job.at_epoch)


def _load_snapshot(trainer: Trainer, epoch: int, log) -> tuple[TrainOutcome, bool]:
    """Load the weights at the end of ``epoch``; ``(outcome, True)`` when they came from a
    snapshot (``after_training`` has not run on them), ``False`` for the final weights."""
    steps = epoch * trainer.steps_per_epoch
    final = steps == trainer.total_steps and trainer.weights_path.exists()
    path = trainer.weights_path if final else trainer.snapshot_path(epoch)
    if not path.exists():
        have = ", ".join(map(str, trainer.snapshot_epochs())) or "none"
        done = f"; final weights: epoch {trainer.total_steps // max(trainer.steps_per_epoch, 1)}" if trainer.weights_path.exists() else ""
        raise UsageError(
            f"--at-epoch {epoch}: no snapshot at {path} (snapshots kept: epochs {have}{done}). Run the same command without "
            f"--at-epoch first to train; snapshots are kept at epochs {', '.join(map(str, SNAPSHOT_EPOCHS[:6]))}, ... before the last."
        )
    tensors = trainer.read_weights(path, meta_checked=final)
    if tensors is None:  # damaged, set aside and named in one line: only training again rebuilds it
        raise UsageError(f"--at-epoch {epoch}: the weights at {path} were damaged (moved aside). To get them back, "
                         f"delete {trainer.folder} and run the same command without --at-epoch to train again.")
    trainer.model.load_state_tensors(tensors)
    log(f"Loaded the epoch-{epoch} weights from {path} (no training).")
    return TrainOutcome("ok", steps, 0.0, trainer.schedule(steps), "snapshot"), not final


def _fit_after_training(prepared: PreparedModel, seed: int) -> None:
    """``model.after_training`` on the training images, with the features' batch-norm statistics
    (those of the model's first view), so what it fits matches the features it is used on."""
    model = prepared.model
    views = list(model.feature_views())
    set_seed(seed)  # what it draws is repeatable
    real = real_sample(model, prepared.dataset, seed, prepared.device)
    context = prepared.features.bn_context(views[0]) if views else contextlib.nullcontext()
    with context:
        model.after_training(real)
    model.train(False)
    prepared.features.weights_changed()


def fits_without_training(model) -> bool:
    """A model that does not train but fits something on real images (``after_training`` overridden,
    e.g. ``kmeans``): the core fits it once and caches its state tensors like trained weights."""
    return not model.trains and type(model).after_training is not Model.after_training


def _load_or_fit(prepared: PreparedModel, seed: int, log) -> None:
    """The fitted state from ``<folder>/weights.safetensors``, else ``after_training`` on the training
    images and the state saved there (atomically); an unreadable or mismatching file is fitted again."""
    model, weights = prepared.model, prepared.folder / "weights.safetensors"
    if weights.exists():
        try:
            tensors = load_file(str(weights), device=str(prepared.device))
            expected = {k: tuple(v.shape) for k, v in model.state_tensors().items()}
            if {k: tuple(v.shape) for k, v in tensors.items()} != expected:
                raise ValueError("its tensors do not match the model's")
            model.load_state_tensors(tensors)
            model.train(False)
            log(f"Loaded the fitted model from {weights} (no fitting).")
            return
        except Exception as exc:  # safetensors raises several types on damaged bytes
            log(f"warning: {weights} does not load ({type(exc).__name__}: {exc}); fitting again.")
    started = time.perf_counter()
    _fit_after_training(prepared, seed)
    prepared.folder.mkdir(parents=True, exist_ok=True)
    tmp = weights.with_name(weights.name + ".tmp")
    save_file({k: v.detach().contiguous() for k, v in model.state_tensors().items()}, str(tmp))
    tmp.replace(weights)
    log(f"Fitted in {time.perf_counter() - started:.1f} s; saved to {weights}.")


def _prepare_through(spec, job: Job, resolved: Resolved, model, dataset: Dataset, device, log) -> PreparedModel:
    """A ``trains_as`` model: train (or load) the other model in its own folder, copy its
    networks in, fit this model's own part (cached in this model's folder)."""
    base_name, base_options = spec.trains_as(dict(resolved.model_options))
    base_spec = get_registry().get("model", base_name)
    base_options = {**resolve_options(base_spec.options, {}, f"model '{base_name}'"), **base_options}
    set_seed(job.seed)  # the same initialisation as a run of the other model
    base = base_spec.factory(**base_options)
    base.setup(dataset.info(), device)
    trainer = _trainer(base_spec, base_options, base, dataset, device, job, log)
    if job.at_epoch is None:
        outcome = _train(trainer, log)
    else:
        outcome = _load_snapshot(trainer, job.at_epoch, log)[0]
    key = model_key({"model": spec.name, "version": spec.version, "config": resolved.model_options,
                     "trains_as": trainer.folder.name, "at_epoch": job.at_epoch, "bn_stats": job.bn_stats})
    folder = Path(job.cache_dir) / "models" / f"{spec.name}-{key}"
    prepared = _prepared(job, resolved, model, dataset, device, outcome, folder, key, log)
    if outcome.status != "ok":
        return prepared
    weights = CacheFile(folder / "weights.safetensors", log, require_digest=False)  # older entries have no digest
    tensors = weights.read(lambda p: load_file(str(p), device=str(device)), lambda t: _tensors_problem(model, t),
                           then="fitting it again")
    if tensors is not None:
        model.load_state_tensors(tensors)
        log(f"Loaded the fitted model from {weights.path} (trained as '{base_name}' in {trainer.folder}).")
        model.train(False)
        prepared.features.weights_changed()
        return prepared
    theirs = base.modules()
    for name, module in model.modules().items():
        if name in theirs:
            module.load_state_dict(theirs[name].state_dict())
    _fit_after_training(prepared, job.seed)
    weights.write(lambda p: save_file({k: v.detach().contiguous() for k, v in model.state_tensors().items()}, p))
    trained_as = json.dumps({"model": base_name, "options": base_options, "folder": str(trainer.folder)}, default=str)
    atomic_write(folder / "trained_as.json", lambda p: Path(p).write_text(trained_as))
    return prepared


def _tensors_problem(model, tensors: dict) -> str | None:
    """Why saved ``tensors`` are not ``model``'s (names, shapes or non-finite values), or ``None``."""
    expected = {k: tuple(v.shape) for k, v in model.state_tensors().items()}
    found = {k: tuple(v.shape) for k, v in tensors.items()}
    if found != expected:
        names = sorted(set(found) ^ set(expected)) or sorted(k for k in found if found[k] != expected[k])
        return f"its tensors do not match the model's ({', '.join(names[:3])})"
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    return f"non-finite values in {', '.join(bad[:3])}" if bad else None


def run_job(job: Job, on_rows: Callable[[list[dict]], None], log: Callable[[str], None] = _log) -> list[dict]:
    """Train or load the model, run every probe on every view; return all rows.

    A user error (a missing dataset, a bad device) raises :class:`UsageError`
    before anything trains. Any other failure (a model plugin's factory,
    setup or training raising, a probe's factory or run raising or returning
    something that is not a list of valid metrics) becomes ``failed`` rows of
    the probes it concerns, so the other probes and jobs go on.
    """
    resolved = resolve(job)
    probes = [_build_probe(pspec, popts) for pspec, popts in resolved.probes]
    run_id = uuid.uuid4().hex[:12]
    try:
        prepared = prepare_model(job, log, check=lambda data: check_probes(
            [p for p in probes if not isinstance(p, Exception)], data))
    except UsageError:
        raise
    except (Exception, SystemExit) as exc:  # a model plugin calling sys.exit fails its job, not the run
        stop_if_broken_install(exc)
        log(traceback.format_exc())
        rows = job_failure_rows(job, f"model setup failed: {type(exc).__name__}: {exc}", run_id=run_id)
        on_rows(rows)
        return rows
    model, dataset, device, outcome, resolved = prepared.model, prepared.dataset, prepared.device, prepared.outcome, prepared.resolved
    views = list(dict.fromkeys(job.views or model.feature_views()))  # --view d --view d: probed once
    base = _row_base(job, resolved, dataset, prepared.key, device, run_id)
    extra = {}
    if outcome.status == "ok":
        try:
            report = model.report()
            extra = {"model": report, "dataset": dataset.notes} if (report or dataset.notes) else {}
        except Exception as exc:
            log(traceback.format_exc())
            outcome = replace(outcome, status="failed", error=f"model failed after training: {type(exc).__name__}: {exc}")
    if job.at_epoch is not None:
        extra["snapshot_epoch"] = job.at_epoch
    if training := _training_details(outcome):
        extra["training"] = training
    if outcome.status != "ok":
        rows = [_row({**base, "job_key": job_key(job, resolved, i)}, p, o, None, None, outcome, 0.0, outcome.status,
                     outcome.error, None, extra) for i, (p, o) in enumerate(resolved.probes)]
        on_rows(rows)
        return rows
    features = prepared.features
    generate = generator_for(model, dataset, device, plugin=resolved.model_spec.name) if "generator" in resolved.model_spec.capabilities else _no_generator
    artifacts = Path(job.cache_dir) / "artifacts" / run_id
    all_rows = []
    for index, ((pspec, popts), probe) in enumerate(zip(resolved.probes, probes)):
        base["job_key"] = job_key(job, resolved, index)
        if isinstance(probe, Exception):
            detail = _describe(probe, log)
            log(f"Probe '{pspec.name}' could not be built: {detail}")
            rows = [_row(base, pspec, popts, None, None, outcome, 0.0, "failed", f"probe setup failed: {detail}", None, extra)]
            on_rows(rows)
            all_rows += rows
            continue
        for view in views if "features" in pspec.requires else [None]:
            base["feature_config"] = None if view is None else _feature_config(features, view, log)
            ctx = ProbeContext(
                dataset=dataset, view=view, seed=job.seed, device=device, artifacts_dir=artifacts / pspec.name,
                model=model, _features=lambda split, v=view: features.split(split, v),
                _embed=lambda images, v=view: features.embed(images, v), _generate=generate, log=log,
                cache_dir=Path(job.cache_dir),
            )
            # the batch-norm statistics also in details, where readers of one row look first
            view_extra = {**extra, "features": base["feature_config"]} if base["feature_config"] else extra
            rows = _run_probe(probe, pspec, popts, ctx, base, outcome, view_extra, log)
            on_rows(rows)
            all_rows += rows
    return all_rows


def job_failure_rows(job: Job, error: str, run_id: str | None = None, base: dict | None = None,
                     skip_keys: frozenset[str] = frozenset()) -> list[dict]:
    """One ``failed`` row per probe of ``job`` (but those whose job_key is in ``skip_keys``).

    For failures outside any probe; usable where only the job is known (an
    executor whose task died): fields that need the dataset or the model stay null.
    """
    resolved = resolve(job)
    run_id = run_id or uuid.uuid4().hex[:12]
    if base is None:
        spec = resolved.model_spec
        base = {"schema_version": SCHEMA_VERSION, "run_id": run_id, "ganbench_version": __version__,
                "model": spec.name, "model_version": spec.version, "model_config": resolved.model_config,
                "model_config_hash": None, "trains_on_labels": spec.trains_on_labels,
                "model_label": resolved.model_label or spec.name, "dataset": job.dataset,
                "dataset_fingerprint": None, "seed": job.seed, "device": job.device, "torch_version": torch.__version__}
    outcome = TrainOutcome("failed", 0, 0.0, {}, "none", error)
    rows = []
    for index, (pspec, popts) in enumerate(resolved.probes):
        key = job_key(job, resolved, index)
        if key not in skip_keys:
            rows.append(_row({**base, "job_key": key}, pspec, popts, None, None, outcome, 0.0, "failed", error, None, {}))
    return rows


def _feature_config(features: FeatureSource, view: str, log) -> dict | None:
    """The row's ``feature_config``; a failure here is the probe's to report (it extracts next)."""
    try:
        return features.config(view)
    except Exception as exc:
        log(f"Could not work out how view '{view}' is extracted: {type(exc).__name__}: {exc}")
        return None


def _train(trainer: Trainer, log) -> TrainOutcome:
    """Train; a crash inside a model plugin becomes ``failed`` rows, not a lost job."""
    try:
        return trainer.run()
    except UsageError:  # a full disk: one line, and the run stops
        raise
    except (Exception, SystemExit) as exc:
        stop_if_broken_install(exc)
        log(traceback.format_exc())
        return TrainOutcome("failed", 0, 0.0, trainer.schedule(0), "trained", f"training failed: {type(exc).__name__}: {exc}")


def _build_probe(pspec, popts):
    """The probe plugin, or the exception its factory raised (it becomes a failed row later);
    a UsageError -- options the probe refuses -- stops the job before anything trains."""
    try:
        return pspec.factory(**popts)
    except UsageError:
        raise
    except (Exception, SystemExit) as exc:
        return exc


def _describe(exc: Exception, log) -> str:
    """One line for a row's error; the traceback goes to the log unless it is a user error."""
    if isinstance(exc, (UsageError, PluginOutputError)):
        return str(exc)
    if isinstance(exc, SystemExit):
        return f"the plugin called sys.exit({exc.code!r}); a plugin returns its results or raises, it never ends the run"
    log("".join(traceback.format_exception(exc)))
    return f"{type(exc).__name__}: {exc}"


def _run_probe(probe, pspec, popts, ctx, base, outcome, extra, log) -> list[dict]:
    """The probe's rows on one view: its valid metrics ``ok``, each invalid one (or a crash) ``failed``."""
    began = time.perf_counter()

    def failed(error: str, metric_name=None) -> dict:
        log(f"Probe '{pspec.name}' failed on view {ctx.view}: {error}")
        row = _row(base, pspec, popts, ctx.view, None, outcome, time.perf_counter() - began, "failed", error, None, extra)
        row["metric"] = metric_name
        return row

    try:
        metrics = probe.run(ctx)
    except (Exception, SystemExit) as exc:  # one failing probe (even one calling sys.exit) must not lose the others' rows
        stop_if_broken_install(exc)
        return [failed(_describe(exc, log))]
    seconds = time.perf_counter() - began
    if not isinstance(metrics, (list, tuple)):
        return [failed(f"probe '{pspec.name}' returned a {type(metrics).__name__}, expected a list of ganbench.Metric")]
    dim = None
    if ctx.view is not None:
        try:
            dim = int(ctx.features("test")[0].shape[1])
        except Exception as exc:
            log(f"Probe '{pspec.name}' on view '{ctx.view}': the feature dimension is unknown ({type(exc).__name__}: {exc})")
        log(f"{pspec.name} on view '{ctx.view}' ({dim} dimensions): {seconds:.1f} s")
    rows = []
    for position, metric in enumerate(metrics):
        try:
            checked = check_metric(metric)
        except Exception as exc:  # MetricError, or anything else one metric raises: only that metric fails
            name = getattr(metric, "name", None)
            name = name if isinstance(name, str) and name.strip() and len(name) <= MAX_METRIC_NAME else None
            label = f"metric '{name}'" if name else f"item {position}"
            why = str(exc) if isinstance(exc, MetricError) else f"{type(exc).__name__}: {str(exc)[:200]}"
            rows.append(failed(f"probe '{pspec.name}' {label}: {why}", name))
            continue
        row = _row(base, pspec, popts, ctx.view, checked, outcome, seconds, "ok", None, dim, extra)
        if checked.predictions is not None:
            try:  # written beside the store by append_rows, before the row
                row[predictions.PENDING_KEY] = predictions.pending(checked.predictions, ctx.dataset)
            except predictions.PredictionsError as exc:
                rows.append(failed(f"probe '{pspec.name}' metric '{checked.name}': {exc}", checked.name))
                continue
        rows.append(row)
    if not rows:
        rows.append(failed(f"probe '{pspec.name}' returned no metrics"))
    return rows


def _no_generator(n: int, seed: int):
    raise UsageError("this model has no generator")

