"""One job's flow: check it, load its dataset, train or load its model, run each probe on each view, emit rows.

A :class:`Job` holds only names and option strings, so it can be checked on
the machine that submits it (:func:`resolve`, every user error raised before
anything trains) and run anywhere the plugins are installed
(:func:`run_job`). Rows go to ``on_rows`` after each (probe, view), so a
crash later in the job never loses a finished figure. The steps live in
:mod:`ganbench.jobs.job`, :mod:`ganbench.jobs.features`, :mod:`ganbench.jobs.preparation`
and :mod:`ganbench.jobs.rows`; their public names are re-exported here.
"""

from __future__ import annotations

import time
import traceback
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Callable

from ganbench.jobs import bn_stats as bn
from ganbench.api.data import Dataset
from ganbench.system.errors import UsageError
from ganbench.system.install_check import stop_if_broken_install
from ganbench.jobs.plugin_checks import PluginOutputError
from ganbench.api.probe import MAX_METRIC_NAME, MetricError, ProbeContext, check_metric
from ganbench.store import predictions
# Re-exported: tests, plugins and other modules import these from ganbench.jobs.run, and tests
# monkeypatch ``load_dataset`` and ``generator_for`` here, so the flow below calls them through this module.
from ganbench.jobs.dedup_lists import drop_duplicates, read_drop_list  # noqa: F401
from ganbench.jobs.features import FEATURE_BATCH, FeatureSource, _log, _save_npy, generator_for  # noqa: F401
from ganbench.jobs.job import (MAX_SEED, Job, ProbeRequest, Resolved, check_probes, check_settings, check_trains,  # noqa: F401
                   load_dataset, resolve)
from ganbench.jobs.preparation import PreparedModel, fits_without_training, prepare_loaded  # noqa: F401
from ganbench.jobs.rows import ProbeOutcome, RowContext, _row, _row_base, _training_details, failed_row, job_failure_rows  # noqa: F401


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
    dataset = load_dataset(job, resolved)
    if check is not None:
        check(dataset)  # e.g. a probe's label budget larger than a class: refused before training, not after
    return prepare_loaded(job, resolved, dataset, log)


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
        rows = job_failure_rows(job, outcome.error, run_id=run_id, base=base, outcome=outcome, extra=extra)
        on_rows(rows)
        return rows
    features = prepared.features
    generate = generator_for(model, dataset, device, plugin=resolved.model_spec.name) if "generator" in resolved.model_spec.capabilities else _no_generator
    artifacts = Path(job.cache_dir) / "artifacts" / run_id
    all_rows = []
    for (pspec, popts), probe in zip(resolved.probes, probes):
        if isinstance(probe, Exception):
            detail = _describe(probe, log)
            log(f"Probe '{pspec.name}' could not be built: {detail}")
            rows = [failed_row(RowContext(dict(base), pspec, popts, outcome, extra, resolved.model_spec.category),
                               f"probe setup failed: {detail}")]
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
            context = RowContext(dict(base), pspec, popts, outcome, view_extra, resolved.model_spec.category)
            rows = _run_probe(probe, ctx, context, log)
            on_rows(rows)
            all_rows += rows
    return all_rows



def _feature_config(features: FeatureSource, view: str, log) -> dict | None:
    """The row's ``feature_config``; a failure here is the probe's to report (it extracts next)."""
    try:
        return features.config(view)
    except Exception as exc:
        log(f"Could not work out how view '{view}' is extracted: {type(exc).__name__}: {exc}")
        return None



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


def _run_probe(probe, ctx: ProbeContext, context: RowContext, log) -> list[dict]:
    """The probe's rows on one view: its valid metrics ``ok``, each invalid one (or a crash) ``failed``."""
    pspec = context.pspec
    began = time.perf_counter()

    def failed(error: str, metric_name=None) -> dict:
        log(f"Probe '{pspec.name}' failed on view {ctx.view}: {error}")
        return failed_row(context, error, view=ctx.view, metric=metric_name, seconds=time.perf_counter() - began)

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
        outside = pspec.outside_range(checked.name, checked.value)
        if outside:  # an accuracy of 5.0 is a bug of the probe, never a figure
            rows.append(failed(f"probe '{pspec.name}' metric '{checked.name}': the value {outside}, the range its "
                               f"probe declares (ProbeSpec.ranges)", checked.name))
            continue
        row = _row(context, ProbeOutcome("ok", view=ctx.view, metric=checked, seconds=seconds, feature_dim=dim))
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
