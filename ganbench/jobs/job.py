"""What a job asks for (Job, its probes, its resolved plugins), checked before anything loads."""

from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from ganbench.api.data import Dataset
from ganbench.datasets.open import open_dataset, resolve_dataset
from ganbench.system.device import resolve_device
from ganbench.system.errors import UsageError
from ganbench.plugins import get_registry
from ganbench.api.options import resolve_options
from ganbench.jobs.dedup_lists import drop_duplicates


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
    # what resolve() found, kept so that every later step uses the same specs and model object;
    # never sent to another process (an executor there resolves the job again)
    _resolution: Any = field(default=None, init=False, repr=False, compare=False)

    def __getstate__(self):
        return {**self.__dict__, "_resolution": None}


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
    model: Any = field(default=None, repr=False)  # the model object built to check the request, handed to training

    def take_model(self):
        """The model object built while resolving (once: a second preparation builds its own), or None."""
        model, self.model = self.model, None
        return model

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
    """Look up every name and parse every option; raise UsageError on the first problem.

    The model object is built here, once per job (seeded as training seeds it), and the
    resolution is kept on the job: later steps of the same job get it back without
    building anything again.
    """
    if job._resolution is not None:
        return job._resolution
    job._resolution = _resolve(job)
    return job._resolution


def _resolve(job: Job) -> Resolved:
    check_settings(job)
    reg = get_registry()
    mspec = reg.get("model", job.model)
    mopts = resolve_options(mspec.options, job.model_options, f"model '{mspec.name}'")
    model = _model_for_checks(mspec, mopts, job.seed)
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
    return Resolved(mspec, mopts, probes, dspec, dargument, dopts, facts, label, model)


def _identity(model) -> tuple[dict, str | None]:
    """A model's optional ``config_facts()`` and ``label()`` (see :class:`ganbench.Model`)."""
    facts = getattr(model, "config_facts", None)
    label = getattr(model, "label", None)
    label = label() if callable(label) else None
    return (dict(facts()) if callable(facts) else {}), (label if isinstance(label, str) and label.strip() else None)


def _model_for_checks(mspec, options: dict, seed: int):
    """The model object, built cheaply (networks come later, in ``setup``), to check the
    request against; ``None`` when its factory raises -- that becomes the job's failed rows.
    Seeded as training seeds it, so that a model building tensors in its constructor
    gets the same ones as when it is built right before training."""
    from ganbench.jobs.training import set_seed

    set_seed(seed)
    try:
        return mspec.factory(**options)
    except UsageError:  # the options refused by the model itself (a features file that is not there)
        raise
    except Exception:
        return None


# While a sweep or a recipe works out its request keys (the data's content) and then runs the same jobs, the
# datasets it opened stay open: each is read once. Outside `keep_datasets_open()` every load reads the files,
# so data changed on disk between two calls is always seen.
_OPENED: OrderedDict[tuple, Dataset] | None = None
_KEEP_OPEN = 2  # a sweep over datasets alternates between at most a few


@contextmanager
def keep_datasets_open():
    """Within the block, a dataset opened with the same name, options and folder is opened once."""
    global _OPENED
    outer, _OPENED = _OPENED, (_OPENED if _OPENED is not None else OrderedDict())
    try:
        yield
    finally:
        _OPENED = outer


def load_dataset(job: Job, resolved: Resolved) -> Dataset:
    """The job's dataset (``--dedup`` applied); opened once per :func:`keep_datasets_open` block."""
    where = (id(resolved.dataset_spec), resolved.dataset_argument, tuple(sorted(resolved.dataset_options.items())),
             job.data_root, job.cache_dir, job.dedup)
    if _OPENED is not None and where in _OPENED:
        _OPENED.move_to_end(where)
        return _OPENED[where]
    dataset = open_dataset(resolved.dataset_spec, resolved.dataset_argument, resolved.dataset_options, job.data_root,
                           job.cache_dir)
    if job.dedup:
        dataset = drop_duplicates(dataset, job.cache_dir)
    if _OPENED is not None:
        _OPENED[where] = dataset
        while len(_OPENED) > _KEEP_OPEN:
            _OPENED.popitem(last=False)
    return dataset


def check_probes(probes: list, dataset: Dataset) -> None:
    """Each probe's optional ``check(info)`` against the loaded dataset, before anything trains."""
    info = dataset.info()
    for probe in probes:
        check = getattr(probe, "check", None)
        if callable(check):
            check(info)
