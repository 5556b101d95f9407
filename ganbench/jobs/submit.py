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
    """For each job_key whose latest run (in store order) did not succeed: the signatures of its non-ok rows."""
    latest: dict[str, str] = {}
    for row in stored:
        if row.get("job_key"):
            latest[row["job_key"]] = row["run_id"]
    failures: dict[str, set[tuple]] = {}
    for row in stored:
        key = row.get("job_key")
        if key and row["run_id"] == latest[key] and row["status"] != "ok":
            failures.setdefault(key, set()).add(failure_signature(row))
    return failures


def stored_requests(results_dir: str) -> tuple[set[str], dict[str, dict]]:
    """``(done, diverged)``: the job keys with ``ok`` rows in the store, and those whose latest run
    diverged (key -> one of its rows); a sweep or a recipe skips both."""
    stored = read_rows(results_dir, warn=False)
    latest: dict[str, list[dict]] = {}
    for row in stored:
        key = row.get("job_key")
        if key:
            if key in latest and latest[key][0]["run_id"] != row["run_id"]:
                latest[key] = []
            latest.setdefault(key, []).append(row)
    done = {r["job_key"] for r in stored if r["status"] == "ok" and r.get("job_key")}
    diverged = {k: rows[0] for k, rows in latest.items() if k not in done and any(r["status"] == "diverged" for r in rows)}
    return done, diverged


def job_keys(job) -> list[str]:
    """The store key of each of the job's (job, probe) requests."""
    from ganbench.jobs.job import job_key, resolve

    resolved = resolve(job)
    return [job_key(job, resolved, i) for i in range(len(job.probes))]


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
        new = [r for r in rows if r["status"] == "ok" or failure_signature(r) not in previous.get(r.get("job_key"), ())]
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
    from ganbench.jobs.job import pending

    done, diverged = stored_requests(results_dir)
    left = [j for j in (pending(job, done | set(diverged)) for job in jobs) if j is not None]
    skipped = sum(len(j.probes) for j in jobs) - sum(len(j.probes) for j in left)
    asked = {k for job in jobs for k in job_keys(job)}
    return left, skipped, [row for k, row in diverged.items() if k in asked]
