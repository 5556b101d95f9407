"""The training loop shared by every model, with the checkpoint cache.

A trained model lives in ``<cache>/models/<model>-<key>/`` where ``key`` hashes
everything that determines its weights (model, version, options, dataset
fingerprint, seed, schedule):

- ``weights.safetensors`` -- the final weights; present = training finished
- ``checkpoint.pt``       -- the last periodic checkpoint (weights, optimizer
  state, step, RNG states), read back with ``torch.load(weights_only=True)``
- ``meta.json``           -- status, steps, seconds, and under ``files`` the size
  and sha256 of ``weights.safetensors`` / ``checkpoint.pt`` as written
- ``log.jsonl``           -- the step statistics (losses, D(x), D(G(z)), images/s),
  flushed to disk at every checkpoint and cut back to the checkpoint's step on resume
- ``snapshots/epoch-NNNN.safetensors`` -- the weights at the end of epochs
  1, 2, 5, 10, 20, 50, ... (:data:`SNAPSHOT_EPOCHS`) before the last, for
  learning curves without retraining, each with its digest in
  ``epoch-NNNN.safetensors.digest.json`` (:class:`ganbench.system.cache_files.CacheFile`)

Data order is a function of (seed, epoch) alone and the global RNG state is
checkpointed, so on the CPU a resumed run ends with exactly the weights of an
uninterrupted one.

A damaged entry (a truncated or altered checkpoint or weights file, one whose
size or sha256 differs from ``meta.json``, or one that does not load; a
``meta.json`` whose fields are not of the types written here) is
reported in one line, renamed ``<name>.damaged-<time>`` and rebuilt: training
starts again (from the start, since only the last checkpoint is kept).
Weights whose tensor names or shapes are not the model's are not damaged: the
model's networks changed (a plugin renamed its modules without bumping its
version); they are set aside the same way with a line saying so. Stale
``*.tmp`` files left by a crash or a full disk are removed.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import load_file, save_file

from ganbench.system.cache_files import CacheFile, DamagedEntry, atomic_write, digest_problem, file_digest, meta_problem, set_aside
from ganbench.api.data import Dataset, to_model_input
from ganbench.system.device import autocast, memory_format, training_memory_format
from ganbench.system.disk import disk_full
from ganbench.system.errors import DivergedError
from ganbench.store.keys import stable_hash
from ganbench.api.model import Batch, Model
from ganbench.system.progress import Progress


@dataclass(frozen=True)
class TrainSettings:
    """How long and how carefully to train. ``None`` = the model's default schedule."""

    epochs: int | None = None
    max_steps: int | None = None
    batch_size: int | None = None
    checkpoint_every: int = 200
    saturation_patience: int = 2000
    saturation_eps: float = 1e-3


@dataclass
class TrainOutcome:
    status: str  # ok | diverged
    steps: int
    seconds: float
    schedule: dict
    source: str  # trained | resumed | cache | untrained
    error: str | None = None
    # Seconds over every session of this training (a resumed run adds the earlier sessions' time,
    # kept in the checkpoint); None where an earlier session did not record it.
    total_seconds: float | None = None
    resumed_from: int | None = None  # the checkpoint's step when this session resumed one


# Epochs whose end-of-epoch weights are kept: 1, 2 and 5 times powers of ten.
SNAPSHOT_EPOCHS = tuple(m * 10 ** k for k in range(5) for m in (1, 2, 5))


def model_key(parts: dict) -> str:
    """Hash of everything that determines a trained model's weights."""
    return stable_hash(parts)


def set_seed(seed: int) -> None:
    torch.manual_seed(seed)


DISK_FULL_FIX = ("Free space there, or pass another --cache-dir, and run the command again: training resumes from "
                 "its last checkpoint.")
# the shared cache-file rules, with the training's own advice for a full disk
_atomic_write = functools.partial(atomic_write, disk_full_fix=DISK_FULL_FIX)


class NetworkChanged(DamagedEntry):
    """Weights whose tensor names or shapes are not the model's: its networks changed, the file is sound."""


def planned_schedule(model: Model, info, settings: "TrainSettings") -> tuple[int, int, int | None]:
    """``(epochs, batch_size, max_steps)`` of a training: the settings asked for, the model's defaults for the
    rest, the batch at most the training split. Request keys and the trainer both use this one rule."""
    default = model.default_schedule(info)
    batch_size = min(settings.batch_size or default.batch_size, info.n_train)
    epochs = settings.epochs if settings.epochs is not None else default.epochs
    return epochs, batch_size, settings.max_steps


class Trainer:
    """Trains ``model`` on ``dataset`` into ``folder`` (see module docstring)."""

    def __init__(self, model: Model, dataset: Dataset, device: torch.device, seed: int,
                 settings: TrainSettings, folder: Path | None, log: Callable[[str], None] = print):
        self.model, self.dataset, self.device, self.seed = model, dataset, device, seed
        self.settings, self.log = settings, log
        self.folder = Path(folder) if folder is not None else None
        self._seconds_before: float | None = 0.0  # training seconds of earlier sessions (from the checkpoint)
        self._began = time.perf_counter()
        self.epochs, self.batch_size, _ = planned_schedule(model, dataset.info(), settings)
        self.steps_per_epoch = len(dataset.train_x) // self.batch_size
        total = self.epochs * self.steps_per_epoch
        self.total_steps = total if settings.max_steps is None else min(total, settings.max_steps)

    def schedule(self, steps: int | None = None) -> dict:
        return {"epochs": self.epochs, "max_steps": self.settings.max_steps, "batch_size": self.batch_size,
                "steps": self.total_steps if steps is None else steps}

    # -- the cache ----------------------------------------------------
    @property
    def weights_path(self) -> Path:
        return self.folder / "weights.safetensors"

    @property
    def checkpoint_path(self) -> Path:
        return self.folder / "checkpoint.pt"

    @property
    def log_path(self) -> Path:
        return self.folder / "log.jsonl"

    def _meta(self) -> dict | None:
        path = self.folder / "meta.json"
        if not path.exists():
            return None
        try:
            meta = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            self._set_aside(path, f"unreadable ({type(exc).__name__})")
            return None
        problem = meta_problem(meta)
        if problem:
            self._set_aside(path, problem)
            return None
        return meta

    def _write_meta(self, meta: dict) -> None:
        _atomic_write(self.folder / "meta.json", lambda p: Path(p).write_text(json.dumps(meta, indent=1)))

    def _write_outcome(self, outcome: TrainOutcome, files: dict | None = None) -> None:
        self._write_meta({**asdict(outcome), "files": files or {}})

    # -- damaged entries ----------------------------------------------
    def _set_aside(self, path: Path, why: str) -> None:
        """Report a damaged cache file in one line and rename it out of the way (kept for inspection)."""
        set_aside(path, why, self.log)

    def _set_aside_changed(self, path: Path, why: str) -> None:
        """Weights of another network (a plugin changed its modules without a version bump): not damage."""
        set_aside(path, f"{why}: the model's networks changed since it was saved (bump the plugin's version "
                        f"when they change)", self.log, then="training the new network", what="Cached weights")

    @staticmethod
    def _verify(path: Path, meta: dict | None) -> None:
        """Raise DamagedEntry when ``path`` differs from every digest ``meta`` records for it."""
        recorded = ((meta or {}).get("files") or {}).get(path.name)
        if not recorded:
            return  # written before digests were recorded: loading it is the only check
        accepted = [d for d in (recorded if isinstance(recorded, list) else [recorded]) if isinstance(d, dict)]
        if not accepted:
            return
        problem = digest_problem(file_digest(path), accepted)
        if problem:
            raise DamagedEntry(problem)

    def _check_tensors(self, tensors: dict) -> None:
        """Raise DamagedEntry unless ``tensors`` has exactly the model's names and shapes (checked before loading)."""
        expected = {k: tuple(v.shape) for k, v in self.model.state_tensors().items()}
        found = {k: tuple(v.shape) for k, v in tensors.items()}
        if found != expected:
            names = sorted(set(found) ^ set(expected)) or sorted(k for k in found if found[k] != expected[k])
            raise NetworkChanged(f"its tensors do not match the model's ({', '.join(names[:3])})")

    def _remove_stale_temporaries(self) -> None:
        for folder in (self.folder, self.folder / "snapshots"):
            if folder.is_dir():
                for tmp in folder.glob("*.tmp"):
                    tmp.unlink(missing_ok=True)

    # -- entry point --------------------------------------------------
    def run(self) -> TrainOutcome:
        self._remove_stale_temporaries()
        meta = self._meta()
        if meta is not None and meta.get("status") == "diverged":
            self.log(f"Training of this model diverged before ({meta.get('error')}); not retrying. Delete {self.folder} to retry.")
            known = {f.name for f in fields(TrainOutcome)}
            return TrainOutcome(**{**{k: v for k, v in meta.items() if k in known}, "seconds": 0.0, "source": "cache",
                                   "resumed_from": None})
        if self.weights_path.exists():
            loaded = self._load_weights(meta)
            if loaded is not None:
                return loaded
        self.folder.mkdir(parents=True, exist_ok=True)
        start = self._resume(meta)
        self._cut_log(start)
        self._began = began = time.perf_counter()
        resumed_from = start or None
        try:
            steps = self._loop(start)
        except OSError as exc:  # the step log's writes: a full disk is said in one line
            if (full := disk_full(exc, self.log_path, DISK_FULL_FIX)) is not None:
                raise full from None
            raise
        except DivergedError as exc:
            elapsed = time.perf_counter() - began
            outcome = TrainOutcome("diverged", exc.args[1], elapsed, self.schedule(exc.args[1]), "trained",
                                   exc.args[0], self._total_seconds(elapsed), resumed_from)
            self._write_outcome(outcome)
            self.log(f"Training diverged: {exc.args[0]}")
            return outcome
        self.model.after_training(self._real_sample())
        files = {}
        _atomic_write(self.weights_path, lambda p: save_file(_contiguous(self.model.state_tensors()), p),
                      before_replace=lambda tmp: files.update({self.weights_path.name: file_digest(tmp)}))
        elapsed = time.perf_counter() - began
        outcome = TrainOutcome("ok", steps, elapsed, self.schedule(steps), "resumed" if start else "trained",
                               None, self._total_seconds(elapsed), resumed_from)
        self._write_outcome(outcome, files)
        self.checkpoint_path.unlink(missing_ok=True)
        return outcome

    def _load_weights(self, meta: dict | None) -> TrainOutcome | None:
        """The cached trained model, or ``None`` (after setting a damaged file aside) when it must be rebuilt."""
        try:
            self._verify(self.weights_path, meta)
            try:
                tensors = load_file(str(self.weights_path), device=str(self.device))
            except Exception as exc:  # safetensors raises several types on damaged bytes
                raise DamagedEntry(f"does not load ({type(exc).__name__})") from None
            self._check_tensors(tensors)
        except NetworkChanged as exc:
            self._set_aside_changed(self.weights_path, str(exc))
            return None
        except DamagedEntry as exc:
            self._set_aside(self.weights_path, str(exc))
            return None
        self.model.load_state_tensors(tensors)
        self.log(f"Loaded the trained model from {self.weights_path} (no training).")
        steps = meta["steps"] if meta and isinstance(meta.get("steps"), int) else self.total_steps
        return TrainOutcome("ok", steps, 0.0, self.schedule(steps), "cache", None, _recorded_total_seconds(meta))

    def _read_checkpoint(self, meta: dict | None) -> dict:
        """The checkpoint's state, checked against its digest and the model before anything is restored."""
        self._verify(self.checkpoint_path, meta)
        try:
            state = torch.load(self.checkpoint_path, map_location=self.device, weights_only=True)
        except Exception as exc:  # a truncated zip, unpickling errors: many types
            raise DamagedEntry(f"does not load ({type(exc).__name__})") from None
        needed = {"step", "weights", "optimizers", "rng_cpu"}
        if not isinstance(state, dict) or not needed <= set(state):
            raise DamagedEntry("it lacks the step, weights, optimizers or RNG state")
        if not isinstance(state["weights"], dict) or set(state["optimizers"]) != set(self.model.optimizers()):
            raise DamagedEntry("its weights or optimizers do not match the model")
        self._check_tensors(state["weights"])
        step = state["step"]
        if not isinstance(step, int) or not 0 < step < self.total_steps:
            raise DamagedEntry(f"its step {step!r} is outside this run's 1 to {self.total_steps - 1}")
        return state

    def _total_seconds(self, elapsed: float | None = None) -> float | None:
        """Training seconds over every session (this one's ``elapsed`` so far), or None if an earlier one's are unknown."""
        if self._seconds_before is None:
            return None
        return self._seconds_before + (time.perf_counter() - self._began if elapsed is None else elapsed)

    def _resume(self, meta: dict | None = None) -> int:
        self._seconds_before = 0.0
        if not self.checkpoint_path.exists():
            return 0
        try:
            state = self._read_checkpoint(meta)
        except NetworkChanged as exc:
            self._set_aside_changed(self.checkpoint_path, str(exc))
            return 0
        except DamagedEntry as exc:
            self._set_aside(self.checkpoint_path, str(exc))
            return 0
        self.model.load_state_tensors(state["weights"])
        for name, opt in self.model.optimizers().items():
            opt.load_state_dict(state["optimizers"][name])
        torch.set_rng_state(state["rng_cpu"].cpu())
        if self.device.type == "cuda" and "rng_cuda" in state:
            torch.cuda.set_rng_state(state["rng_cuda"].cpu(), self.device)
        self.log(f"Resuming training from step {state['step']} of {self.total_steps} ({self.checkpoint_path}).")
        seconds = state.get("seconds")  # absent from checkpoints written before sessions were timed
        self._seconds_before = float(seconds) if isinstance(seconds, float) else None
        return int(state["step"])

    def _save_checkpoint(self, step: int) -> None:
        state = {
            "step": step,
            "weights": self.model.state_tensors(),
            "optimizers": {name: opt.state_dict() for name, opt in self.model.optimizers().items()},
            "rng_cpu": torch.get_rng_state(),
        }
        if (total := self._total_seconds()) is not None:
            state["seconds"] = total
        if self.device.type == "cuda":
            state["rng_cuda"] = torch.cuda.get_rng_state(self.device)
        _atomic_write(self.checkpoint_path, lambda p: torch.save(state, p),
                      before_replace=lambda tmp: self._record_checkpoint(step, tmp))

    def _record_checkpoint(self, step: int, tmp: Path) -> None:
        """Record the new checkpoint's digest before it replaces the old one; the old digest stays
        accepted too, so a kill between the two writes leaves a checkpoint that still verifies."""
        files = {}
        if self.checkpoint_path.exists():
            files[self.checkpoint_path.name] = [file_digest(tmp), file_digest(self.checkpoint_path)]
        else:
            files[self.checkpoint_path.name] = [file_digest(tmp)]
        self._write_meta({"status": "training", "steps": step, "files": files})

    def _cut_log(self, step: int) -> None:
        """Keep only the log lines of steps up to ``step`` (what the checkpoint holds), whole lines only."""
        if not self.log_path.exists():
            return
        kept = []
        with open(self.log_path, "rb") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    break  # a torn last line
                logged = record.get("step") if isinstance(record, dict) else None
                if not line.endswith(b"\n") or not isinstance(logged, int) or logged > step:
                    break
                kept.append(line)
        _atomic_write(self.log_path, lambda p: Path(p).write_bytes(b"".join(kept)))

    def snapshot_path(self, epoch: int) -> Path:
        return self.folder / "snapshots" / f"epoch-{epoch:04d}.safetensors"

    def snapshot_file(self, epoch: int) -> CacheFile:
        """The snapshot with its digest (snapshots written before digests were recorded have none)."""
        return CacheFile(self.snapshot_path(epoch), self.log, require_digest=False)

    def _save_snapshot(self, epoch: int) -> None:
        self.snapshot_file(epoch).write(lambda p: save_file(_contiguous(self.model.state_tensors()), p))

    def read_weights(self, path: Path, meta_checked: bool = False) -> dict | None:
        """The tensors of a snapshot (or, ``meta_checked``, the final weights, verified against ``meta.json``),
        checked against the model; ``None`` after setting a damaged file aside in one line."""
        def check(tensors: dict) -> str | None:
            try:
                self._check_tensors(tensors)
            except DamagedEntry as exc:
                return str(exc)
            return None

        def load(p: Path) -> dict:
            return load_file(str(p), device=str(self.device))

        if meta_checked:
            try:
                self._verify(path, self._meta())
                tensors = load(path)
            except Exception as exc:
                why = str(exc) if isinstance(exc, DamagedEntry) else f"does not load ({type(exc).__name__})"
                self._set_aside(path, why)
                return None
            problem = check(tensors)
            if problem:
                self._set_aside(path, problem)
                return None
            return tensors
        return CacheFile(path, self.log, require_digest=False).read(load, check, then="it cannot be rebuilt without training")

    # -- the loop -----------------------------------------------------
    def _order(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        return torch.randperm(len(self.dataset.train_x), generator=g)

    def _loop(self, start: int) -> int:
        images = self.dataset.train_x.to(self.device)  # held on the device, uint8
        labels = self.dataset.train_y.to(self.device)
        fmt = training_memory_format(self.device, bool(getattr(self.model, "channels_last_on_cpu", False)))
        self._set_layout(fmt)
        self.model.plan(self.total_steps)
        self.model.train(True)
        saturated = 0
        order, order_epoch = None, -1
        log_file = open(self.log_path, "a")
        bar = Progress(self.total_steps, start, f"train {type(self.model).__name__}", "step")  # plain lines in a log
        tick, tick_step = time.perf_counter(), start
        try:
            for step in range(start, self.total_steps):
                epoch, i = divmod(step, self.steps_per_epoch)
                if epoch != order_epoch:
                    order, order_epoch = self._order(epoch).to(self.device), epoch
                idx = order[i * self.batch_size:(i + 1) * self.batch_size]
                x = to_model_input(images[idx], self.model.image_size, self.model.value_range, self.device)
                with autocast(self.device):
                    stats = self._train_step(Batch(x.contiguous(memory_format=fmt), labels[idx]), step)
                stats = _numbers(stats, type(self.model).__name__)
                bad = [k for k, v in stats.items() if not math.isfinite(v)]
                if bad:
                    raise DivergedError(f"non-finite {', '.join(bad)} at step {step}", step)
                saturated = saturated + 1 if self._saturated(stats) else 0
                if saturated >= self.settings.saturation_patience:
                    raise DivergedError(f"discriminator saturated (D(x) > {1 - self.settings.saturation_eps}, D(G(z)) < {self.settings.saturation_eps}) for {saturated} steps, at step {step}", step)
                done = step + 1
                now = time.perf_counter()
                rate = (done - tick_step) * self.batch_size / max(now - tick, 1e-9)
                log_file.write(json.dumps({"step": done, **stats, "images_per_s": round(rate, 1)}) + "\n")
                bar.set_postfix({**{k: f"{v:.3f}" for k, v in stats.items()}, "img/s": f"{rate:.0f}"}, refresh=False)
                bar.update(1)
                if done % 20 == 0:
                    tick, tick_step = now, done
                if done % self.settings.checkpoint_every == 0 and done < self.total_steps:
                    log_file.flush()  # the log on disk reaches at least the checkpoint's step
                    os.fsync(log_file.fileno())
                    self._save_checkpoint(done)
                if done % self.steps_per_epoch == 0 and done // self.steps_per_epoch in SNAPSHOT_EPOCHS and done < self.total_steps:
                    self._save_snapshot(done // self.steps_per_epoch)
        finally:
            bar.close()
            log_file.close()
            self._set_layout(memory_format(self.device))  # what follows (features) runs in the features' layout
        self.model.train(False)
        return self.total_steps

    def _set_layout(self, fmt: torch.memory_format) -> None:
        for module in self.model.modules().values():
            module.to(memory_format=fmt)

    def _train_step(self, batch: Batch, step: int) -> dict:
        """The model's step; a ``DivergedError(message)`` it raises gets the step attached."""
        try:
            return self.model.train_step(batch)
        except DivergedError as exc:
            if len(exc.args) >= 2:
                raise
            raise DivergedError(f"{exc.args[0] if exc.args else 'the model reported divergence'} at step {step}", step) from exc

    def _saturated(self, stats: dict) -> bool:
        eps = self.settings.saturation_eps
        return "d_real" in stats and "d_fake" in stats and stats["d_real"] > 1 - eps and stats["d_fake"] < eps

    def _real_sample(self) -> torch.Tensor:
        return real_sample(self.model, self.dataset, self.seed, self.device)

    def snapshot_epochs(self) -> list[int]:
        """Epochs whose snapshot file exists in this training's folder."""
        return sorted(int(p.stem.partition("-")[2]) for p in (self.folder / "snapshots").glob("epoch-*.safetensors"))


def real_sample(model: Model, dataset: Dataset, seed: int, device: torch.device, n: int = 10_000) -> torch.Tensor:
    """Up to ``n`` training images drawn by ``seed``, as model input on ``device``: what
    ``Model.after_training`` is given."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(dataset.train_x), generator=g)[:n]
    return to_model_input(dataset.train_x[idx], model.image_size, model.value_range, device)


def _numbers(stats, model: str) -> dict[str, float]:
    """``train_step``'s statistics as floats; a value that is not one number names its key."""
    if not isinstance(stats, dict):
        raise TypeError(f"{model}.train_step returned a {type(stats).__name__}, expected a dict of numbers")
    out = {}
    for key, value in stats.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError, RuntimeError, OverflowError):
            shape = getattr(value, "shape", None)
            kind = f"{type(value).__module__}.{type(value).__name__}".replace("builtins.", "")
            raise TypeError(f"{model}.train_step statistic {key!r} is a {kind}"
                            f"{f' of shape {tuple(shape)}' if shape is not None else ''}, expected one number "
                            f"(use .item() for a 0-d tensor or array)") from None
    return out


def _recorded_total_seconds(meta: dict | None) -> float | None:
    """The whole training's seconds from ``meta.json``; an older entry has them only if trained in one session."""
    if not meta:
        return None
    if isinstance(meta.get("total_seconds"), (int, float)):
        return float(meta["total_seconds"])
    if meta.get("source") == "trained" and isinstance(meta.get("seconds"), (int, float)):
        return float(meta["seconds"])
    return None


def _contiguous(tensors: dict) -> dict:
    return {k: v.detach().contiguous() for k, v in tensors.items()}
