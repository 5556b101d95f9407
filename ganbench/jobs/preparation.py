"""Train or load a job's model (cache, snapshots, `trains_as`), ready to give features and samples."""

from __future__ import annotations

import contextlib
import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors.torch import load_file, save_file

from ganbench.system.cache_files import CacheFile, atomic_write
from ganbench.api.data import Dataset
from ganbench.system.device import resolve_device
from ganbench.system.errors import UsageError
from ganbench.system.install_check import stop_if_broken_install
from ganbench.api.model import Model
from ganbench.plugins import get_registry
from ganbench.api.options import resolve_options
from ganbench.jobs.training import (SNAPSHOT_EPOCHS, TrainOutcome, Trainer, TrainSettings, model_key, planned_schedule,
                                   real_sample, set_seed)
from ganbench.jobs.job import Job, Resolved
from ganbench.jobs.features import FeatureSource, _log


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


def prepare_loaded(job: Job, resolved: Resolved, dataset: Dataset, log: Callable[[str], None] = _log) -> PreparedModel:
    """Build ``job``'s model on the loaded ``dataset`` and train it (or load it).

    Honours ``job.at_epoch`` (a snapshot of the full run's training, never
    trained for) and a spec's ``trains_as`` (another model's training reused).
    Raises :class:`UsageError` before anything trains for a bad request.
    """
    spec = resolved.model_spec
    device = resolve_device(job.device)
    model = resolved.take_model()
    set_seed(job.seed)
    if model is None:
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


def schedule_plan(job: Job, resolved: Resolved, dataset: Dataset) -> dict:
    """The schedule a job's rows will carry (epochs, step limit, batch size; ``{}`` for a model that does not
    train), known before anything trains: a part of the job's request keys."""
    spec, options = resolved.model_spec, resolved.model_options
    if spec.trains_as is not None:
        base_name, base_options = spec.trains_as(dict(options))
        spec = get_registry().get("model", base_name)
        options = {**resolve_options(spec.options, {}, f"model '{base_name}'"), **base_options}
        model = spec.factory(**options)
    else:
        model = resolved.model if resolved.model is not None else spec.factory(**options)
        if not model.trains:
            return {}
    settings = TrainSettings(job.epochs, job.max_steps, job.batch_size, job.checkpoint_every)
    epochs, batch_size, max_steps = planned_schedule(model, dataset.info(), settings)
    return {"epochs": epochs, "max_steps": max_steps, "batch_size": batch_size}


def _key(spec, options: dict, dataset: Dataset, seed: int, schedule: dict | None) -> str:
    return model_key({"model": spec.name, "version": spec.version, "config": options, "dataset": dataset.fingerprint,
                      "seed": seed, "schedule": schedule})


def _trainer(spec, options: dict, model, dataset: Dataset, device, job: Job, log) -> Trainer:
    settings = TrainSettings(job.epochs, job.max_steps, job.batch_size, job.checkpoint_every)
    trainer = Trainer(model, dataset, device, job.seed, settings, folder=None, log=log)
    # the folder is known only once the schedule is part of the key
    trainer.folder = Path(job.cache_dir) / "models" / f"{spec.name}-{_key(spec, options, dataset, job.seed, trainer.schedule())}"
    return trainer


def trainer_for(job: Job, resolved: Resolved, dataset: Dataset, log: Callable[[str], None] = _log) -> Trainer:
    """The :class:`Trainer` that :func:`prepare_loaded` trains ``job``'s model with (its ``folder`` named by
    the model's key), built but not run: for a tool that places a model trained elsewhere where
    ``ganbench run`` finds it (``benchmarks/gpu/paper_width.py``), or reads one. The model is built and
    set up as for training; nothing is trained or loaded. Not for a ``trains_as`` model, whose weights
    live in the other model's folder."""
    spec = resolved.model_spec
    if spec.trains_as is not None:
        raise UsageError(f"Model '{spec.name}' trains as another model: its trained weights live in that model's folder.")
    device = resolve_device(job.device)
    set_seed(job.seed)
    model = spec.factory(**resolved.model_options)
    model.setup(dataset.info(), device)
    return _trainer(spec, resolved.model_config, model, dataset, device, job, log)


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
