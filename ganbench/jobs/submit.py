"""Submitting work: requests built from names and option strings, keyed, skipped when stored, executed.

The command line (``run``, ``sweep``, ``reproduce``, ``show``) and any script
use these; they raise :class:`~ganbench.system.errors.UsageError` for a user
error and never print or exit: :class:`Outcome` says what happened and which
exit code it deserves.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

from ganbench.api.options import check_repeated, split_assignments
from ganbench.plugins import get_registry
from ganbench.store.guard import check_cache_dir
from ganbench.store.jsonl import StoreWriteError, append_rows, read_rows
from ganbench.store.keys import covers, request_key, row_key
from ganbench.system.errors import UsageError


def route_options(kind: str, names: list[str], assignments: list[tuple[str, str]], flag: str) -> dict[str, dict[str, str]]:
    """Route ``knn.k=1`` to knn, and an unprefixed ``k=1`` to every plugin named that declares ``k``."""
    registry = get_registry()
    routed = {n: {} for n in names}
    for key, value in assignments:
        owner, dot, name = key.partition(".")
        if dot:  # option names hold no dots: this names its plugin
            if owner not in routed:
                raise UsageError(f"{flag} {key + '=' + value!r:.80}: {kind} {owner!r:.40} is not among --{kind} "
                                 f"{', '.join(names)}.")
            check_repeated(routed[owner], name, value, flag, f"{owner}.{name} (or {name})")
            continue
        takers = [n for n in names if any(o.name == key for o in registry.get(kind, n).options)]
        for n in takers or names[:1]:  # no taker: the first plugin reports the unknown option
            check_repeated(routed[n], key, value, flag, f"{n}.{key} (or {key})")
    return routed


def build_jobs(models, datasets, probes, seeds, model_opts, probe_opts, dataset_opts, cache_dir, views, **settings):
    """One job per (model, dataset, seed), every name and option checked before anything loads."""
    from ganbench.jobs.job import Job, ProbeRequest, resolve

    cache_dir = str(check_cache_dir(cache_dir))  # '~/x' checked and written the same; $GANBENCH_CACHE named as such
    models, probes = list(dict.fromkeys(models)), list(dict.fromkeys(probes))
    routed_probe = route_options("probe", probes, split_assignments(probe_opts, "--probe-opt"), "--probe-opt")
    routed_model = route_options("model", models, split_assignments(model_opts, "--model-opt"), "--model-opt")
    jobs = [
        Job(model=m, dataset=d, probes=[ProbeRequest(p, routed_probe[p]) for p in probes], model_options=routed_model[m],
            dataset_options=dict(split_assignments(dataset_opts, "--dataset-opt")), seed=seed,
            cache_dir=cache_dir, views=list(views) or None, **settings)
        for m in models for d in dict.fromkeys(datasets) for seed in dict.fromkeys(seeds)
    ]
    for job in jobs:
        resolve(job)
    return jobs


def failure_signature(row: dict) -> tuple:
    return (row.get("status"), row.get("feature_view"), row.get("metric"), row.get("error"))


def latest_failures(stored: list[dict]) -> dict[str, set[tuple]]:
    """For each request whose latest run (in store order) did not succeed: the signatures of its non-ok rows."""
    latest: dict[str, str] = {}
    for row in stored:
        if key := row_key(row):
            latest[key] = row["run_id"]
    failures: dict[str, set[tuple]] = {}
    for row in stored:
        key = row_key(row)
        if key and row["run_id"] == latest[key] and row["status"] != "ok":
            failures.setdefault(key, set()).add(failure_signature(row))
    return failures


@dataclass
class Stored:
    """What a store holds, by request key (recomputed from each row's fields: rows of every schema count)."""

    views: dict[str, set] = field(default_factory=dict)  # key -> the views with ok rows (None: a probe without views)
    diverged: dict[str, dict] = field(default_factory=dict)  # key -> one row, where the latest run diverged

    def has(self, key: str, asked_views: list | None) -> bool:
        """An ok row for every view asked: a run of every view answers a request for some."""
        return key in self.views and covers(self.views[key], asked_views)

    @property
    def done(self) -> set[str]:
        return set(self.views)


def stored_requests(results_dir: str) -> Stored:
    """The requests a store answers (ok rows, by view) and those whose latest run diverged; a sweep or a
    recipe skips both."""
    rows = read_rows(results_dir, warn=False)
    stored = Stored()
    latest: dict[str, list[dict]] = {}
    for row in rows:
        key = row_key(row)
        if key is None:
            continue
        if row["status"] == "ok":
            stored.views.setdefault(key, set()).add(row.get("feature_view"))
        if key in latest and latest[key][0]["run_id"] != row["run_id"]:
            latest[key] = []
        latest.setdefault(key, []).append(row)
    stored.diverged = {k: rows_[0] for k, rows_ in latest.items()
                       if k not in stored.views and any(r["status"] == "diverged" for r in rows_)}
    return stored


def request_keys(job) -> list[str]:
    """The key of each of the job's (job, probe) requests (:mod:`ganbench.store.keys`): the data by content,
    so the job's dataset is opened (once per process: the job's run reuses it)."""
    from ganbench.jobs.job import load_dataset, resolve
    from ganbench.jobs.preparation import schedule_plan

    resolved = resolve(job)
    dataset = load_dataset(job, resolved)
    plan = schedule_plan(job, resolved, dataset)
    spec = resolved.model_spec
    return [request_key(model=spec.name, model_version=spec.version, model_config=resolved.model_config,
                        dataset=dataset.name, dataset_fingerprint=dataset.fingerprint, seed=job.seed, schedule=plan,
                        at_epoch=job.at_epoch, bn_stats=job.bn_stats, probe=pspec.name, probe_version=pspec.version,
                        probe_config=popts)
            for pspec, popts in resolved.probes]


def asked_views(job, pspec) -> list | None:
    """The views a request asks of a probe: ``--view``, else every view of the model; ``None`` for a probe
    that needs no features (it has one row per metric, whatever the views)."""
    from ganbench.jobs.job import resolve

    if "features" not in pspec.requires:
        return None
    if job.views:
        return list(dict.fromkeys(job.views))
    resolved = resolve(job)
    if resolved.model_spec.views is not None:
        return list(resolved.model_spec.views)
    model = resolved.model if resolved.model is not None else resolved.model_spec.factory(**resolved.model_options)
    return list(model.feature_views())


def _known_keys(job) -> list[str] | None:
    """The job's request keys, or ``None`` where they cannot be worked out: its dataset is not found, or its
    model cannot be built -- running the job says why, in its rows or in one line."""
    try:
        return request_keys(job)
    except Exception:
        return None


def pending(job, stored: Stored):
    """``job`` cut to its requests that the store does not answer (``None`` when nothing is left); a job whose
    keys cannot be worked out is left whole."""
    from dataclasses import replace

    from ganbench.jobs.job import resolve

    keys = _known_keys(job)
    if keys is None:
        return job
    resolved = resolve(job)
    keep = [i for i, (pspec, _) in enumerate(resolved.probes)
            if not (stored.has(keys[i], asked_views(job, pspec)) or keys[i] in stored.diverged)]
    if not keep:
        return None
    if len(keep) == len(job.probes):
        return job
    cut = replace(job, probes=[job.probes[i] for i in keep])
    cut._resolution = replace(resolved, probes=[resolved.probes[i] for i in keep])
    return cut


@dataclass
class Outcome:
    """What running a list of jobs produced, and the exit code it deserves."""

    rows: list[dict] = field(default_factory=list)  # every row, stored or not
    repeated: list[dict] = field(default_factory=list)  # failed rows equal to the latest stored failure: not appended
    unsaved: list[StoreWriteError] = field(default_factory=list)  # appends that went to a side file
    refused: list = field(default_factory=list)  # jobs refused for a user error when they started (a sweep)
    skipped: int = 0  # requests already stored

    @property
    def stored(self) -> int:
        return len(self.rows) - len(self.repeated)

    @property
    def refused_requests(self) -> int:
        return sum(len(job.probes) for job in self.refused)

    @property
    def exit_code(self) -> int:
        """2 when a job was refused, else 1 when a request failed or rows were not stored, else 0."""
        if self.refused:
            return 2
        return 1 if self.unsaved or any(r["status"] == "failed" for r in self.rows) else 0

    def summary(self) -> str:
        """Requests (job, probe) done, skipped and failed."""
        status: dict[str, str] = {}
        for row in self.rows:
            key = row.get("job_key") or id(row)
            if row["status"] != "ok" or key not in status:
                status[key] = row["status"] if status.get(key, "ok") == "ok" else status[key]
        failed = sum(s == "failed" for s in status.values())
        diverged = sum(s == "diverged" for s in status.values())
        done = len(status) - failed - diverged
        return f"Summary: {done} done, {self.skipped} skipped, {failed + diverged} failed ({diverged} diverged)."


def execute(jobs, executor: str, results_dir: str, *, skipped: int = 0, keep_going: bool = False,
            report: Callable[[str], None] = lambda message: None) -> Outcome:
    """Run ``jobs`` on ``executor`` and append their rows to the store as they come.

    A failure identical to the latest stored one of the same request (same
    job_key, status, view, metric and error) is not appended again. With
    ``keep_going`` (a sweep), a job refused for a user error (its dataset not
    found, a label budget it cannot meet) is noted in the outcome and the other
    jobs run. ``report`` receives each error line as it happens.
    """
    runner = get_registry().get("executor", executor).factory()
    outcome = Outcome(skipped=skipped)
    previous = latest_failures(read_rows(results_dir, warn=False))

    def on_rows(rows):
        new = [r for r in rows if r["status"] == "ok" or failure_signature(r) not in previous.get(row_key(r), ())]
        outcome.repeated.extend(r for r in rows if r not in new)
        outcome.rows.extend(rows)
        try:
            append_rows(results_dir, new)
        except StoreWriteError as exc:  # the rows are in a side file; later jobs still run
            report(f"Error: {exc}")
            outcome.unsaved.append(exc)

    if not keep_going:
        runner.run(jobs, on_rows)
        return outcome

    def on_refused(job, error):
        report(f"Error: {job.model} on {job.dataset}, seed {job.seed}, not run: {error}")
        outcome.refused.append(job)

    if "on_refused" in inspect.signature(runner.run).parameters:
        runner.run(jobs, on_rows, on_refused=on_refused)
        return outcome
    for job in jobs:  # an executor without on_refused: one job at a time, so one refusal stops no other job
        try:
            runner.run([job], on_rows)
        except UsageError as exc:
            on_refused(job, exc)
    return outcome


def pending_jobs(jobs, results_dir: str):
    """``(left, skipped, diverged_rows)``: the jobs with requests still to run (each cut to those requests),
    how many requests are stored, and one stored row of each asked request whose model diverged."""
    stored = stored_requests(results_dir)
    left = [j for j in (pending(job, stored) for job in jobs) if j is not None]
    skipped = sum(len(j.probes) for j in jobs) - sum(len(j.probes) for j in left)
    diverged = [stored.diverged[k] for job in jobs for k in (_known_keys(job) or ()) if k in stored.diverged]
    return left, skipped, diverged
