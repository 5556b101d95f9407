"""The leaderboard: result rows pivoted into comparable tables, one per dataset.

:func:`build_tables` turns the store's rows into :class:`Table` objects that
the formats in :mod:`ganbench.reports.formats` print.

- One table per dataset copy (dataset name + fingerprint of its bytes).
- Columns: one per (probe, metric) -- those of probes that score features
  (rows with a feature view: svm, knn) first, then those of probes of samples
  (quality, memorization, augment); each probe's headline metrics
  (``ProbeSpec.headline``, as the rows record it, else as the installed probe
  declares it; every metric of a probe that names none, or that is neither
  recorded nor installed), or the metrics ``--metric`` globs select. Read
  from the rows, the columns do not depend on the plugins installed. The table's
  headline column (the first headline figure with a published figure
  beside it, else the first column) comes first and is marked.
- Rows: model x feature view. Rows whose model version, model options,
  training schedule, feature extraction (``feature_config``) or probe
  settings differ never share a cell; the row label says how long a trained
  model trained (``25 epochs``) and in words what else differs
  (``width=16``; probe settings other than the column's usual ones as
  ``svm standardize=True``), so configurations never become new columns.
- Cells: mean ± std over seeds with the number of seeds (``n=1`` said as
  such; a single seed of a label-budget figure shows the spread over its
  label draws instead, labelled so). A seed run twice shows the row standing
  for it (:mod:`ganbench.store.standing`: the newest ``created_at``, then the later line). ``‡`` flags an SVM whose C was chosen at the edge of its grid.
- Best: only among trained GAN rows (models whose ``ModelSpec.category`` is
  "gan", as the rows record it; not baselines, not other models such as a VAE,
  not models trained on labels, not published figures), and only when a paired test
  (:mod:`ganbench.reports.compare`: McNemar or a bootstrap from the per-example
  predictions, else Welch over seeds) says the top row beats the runner-up
  with p < 0.05; otherwise the rows not shown to differ from the top one
  are marked tied.
- Sections: trained models, then baselines (models that do not train, such
  as raw pixels or an untrained discriminator, and models declared baselines), then published figures from
  :mod:`ganbench.reports.references` (``references.csv``).
- Failed and diverged runs are counted per row (a ``failed`` column).
- Rows of training snapshots (``ganbench run --at-epoch E``) are left out
  unless asked for, except for a schedule still training (no row of its
  final weights yet): its newest snapshot stands for it, labelled
  ``epoch E of N epochs``. Shown, snapshots never share a cell with the
  final weights.
- Rows of a probe's older versions are left out once the same table (dataset
  copy) holds rows of a newer one for the same metric, model, view and training (a
  new version measures differently: its figures do not compare with the
  old); rows no newer version has reached yet stay, in their version's own
  column (``svm acc (v2)``); ``all_versions`` shows every version.
"""

from __future__ import annotations

import json
import math
from fnmatch import fnmatchcase
from typing import Callable, Sequence

import pandas as pd

from ganbench.api.registry import MODEL_CATEGORIES
from ganbench.reports.compare import LEADERBOARD_RESAMPLES as RESAMPLES, best_marks
from ganbench.store.standing import newest_version, standing, version_order
from ganbench.reports.references import Reference, add_references, load_references  # noqa: F401 -- importable from here as before
from ganbench.reports.leaderboard_table import (  # noqa: F401 -- the table's data model, importable from here as before
    LABEL_MARK, GRID_EDGE_MARK, TIED_MARK, SECTIONS, SECTION_TITLES, Column, Cell, Row, Table,
)


# -- describing differences -------------------------------------------------
def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _plain(value, short: bool = False) -> str:
    """``value`` in a header's words; ``short`` writes a list of more than four as its ends and length."""
    if isinstance(value, (list, tuple)):
        if short and len(value) > 4:
            return f"{_plain(value[0])}…{_plain(value[-1])} ({len(value)} values)"
        return ",".join(_plain(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if value is None:
        return "none"
    return str(value)


def differences(variants: Sequence[dict]) -> list[str]:
    """For each variant, ``key=value`` for the keys whose values are not the same in all."""
    keys = sorted({k for v in variants for k in v})
    varying = [k for k in keys if len({_canonical(v.get(k, "<absent>")) for v in variants}) > 1]

    def describe(short: bool) -> list[str]:
        return [", ".join(f"{k}={_plain(v[k], short)}" if k in v else f"no {k}" for k in varying) for v in variants]

    full, short = describe(False), describe(True)
    # long grids are shortened unless that makes two different variants read the same
    return short if len(set(short)) == len(set(full)) else full


# -- selecting metrics ------------------------------------------------------
def _installed_probe(probe: str):
    """The installed probe's spec, or None when it is not installed."""
    from ganbench.system.errors import RegistryError
    from ganbench.plugins import get_registry

    try:
        return get_registry().get("probe", probe)
    except (RegistryError, KeyError):
        return None


def registry_headline(probe: str) -> Sequence[str]:
    """The installed probe's headline metrics; empty (all) when it is not installed."""
    spec = _installed_probe(probe)
    return tuple(spec.headline) if spec else ()


def metric_filter(patterns: Sequence[str] | None, all_metrics: bool,
                  headline: Callable[[str], Sequence[str]] | None = None) -> Callable[[str, str], bool]:
    """``keep(probe, metric)``: the ``--metric`` globs, else every metric, else each probe's headline
    (``headline(probe)``; by default the headline its rows record, else the installed probe's: see
    :class:`SpecFacts`, which :func:`build_tables` gives it)."""
    memo: dict[str, Sequence[str]] = {}
    lookup = headline or registry_headline

    def keep(probe: str, metric: str) -> bool:
        if patterns:
            globs = patterns
        elif all_metrics:
            return True
        else:
            if probe not in memo:
                memo[probe] = lookup(probe)
            globs = memo[probe]
            if not globs:
                return True
        return any(fnmatchcase(metric, g) for g in globs)

    keep.uses_headline = not patterns and not all_metrics
    keep.headline_given = headline is not None
    return keep


# -- what the plugins' specs say, as the rows record it ------------------------
class SpecFacts:
    """What the leaderboard needs of the plugins' specs -- each probe's headline metrics, the options its metric
    names spell, each model's category -- as the rows record them (``details.probe_headline``,
    ``details.probe_named_in_metric``, ``details.model_category``, written since ganbench records them), else as
    the installed plugin says: a store's leaderboard then reads the same whichever plugins are installed where it
    is made. Which probes score features is read from the rows alone (a row with a feature view)."""

    def __init__(self, records: Sequence[dict]):
        self._headline: dict[str, tuple] = {}
        self.scores_features = {r["probe"] for r in records if r.get("feature_view")}
        for r in sorted(records, key=lambda r: (version_order(r.get("probe_version")), str(r.get("created_at")))):
            recorded = _dict(r.get("details")).get("probe_headline")
            if isinstance(recorded, list):  # the newest version's, the newest row's
                self._headline[r["probe"]] = tuple(str(p) for p in recorded)

    def headline(self, probe: str) -> Sequence[str]:
        return self._headline[probe] if probe in self._headline else registry_headline(probe)


def model_category(r: dict) -> str:
    """``gan``, ``generative`` or ``baseline``: the category the row records, else the installed model's, else
    ``gan`` (a model not installed is given the benefit, as before categories were recorded)."""
    recorded = _dict(r.get("details")).get("model_category")
    if recorded in MODEL_CATEGORIES:
        return recorded
    from ganbench.system.errors import RegistryError
    from ganbench.plugins import get_registry

    try:
        return get_registry().get("model", r["model"]).category
    except (RegistryError, KeyError):
        return "gan"


# -- building the tables ----------------------------------------------------
def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def snapshot_epoch(r: dict):
    """The epoch of the training snapshot a row probed (``ganbench run --at-epoch``), else None."""
    return _dict(r.get("details")).get("snapshot_epoch")


def trained_for(schedule: dict) -> str | None:
    """A schedule in words: ``25 epochs``, ``20 steps``, ``20 steps of 25 epochs``."""
    def count(n, unit):
        return f"{n} {unit}" + ("" if n == 1 else "s")

    epochs, steps = schedule.get("epochs"), schedule.get("max_steps")
    if steps is not None:
        return count(steps, "step") + (f" of {count(epochs, 'epoch')}" if epochs else "")
    return count(epochs, "epoch") if epochs else None


STILL_TRAINING = "_still_training"  # a snapshot row standing for its schedule, which has no final row yet
SHOWING_SNAPSHOTS = "_showing_snapshots"  # --snapshots: every snapshot row shown, each labelled at_epoch


def _row_identity(r: dict, probe_settings: str = "") -> tuple:
    schedule = {k: v for k, v in _dict(r.get("schedule")).items() if k not in ("steps", "epochs", "max_steps")}
    trained = trained_for(_dict(r.get("schedule")))
    if trained:
        schedule["trained"] = trained
    features = {f"features.{k}": v for k, v in _dict(r.get("feature_config")).items()}
    variant = {"version": r.get("model_version"), **_dict(r.get("model_config")), **schedule, **features}
    if r.get(STILL_TRAINING) is not None:  # stands for its schedule; "trained" says the epoch
        variant["trained"] = f"epoch {r[STILL_TRAINING]} of {trained}"
    elif schedule and r.get(SHOWING_SNAPSHOTS):  # a snapshot of a training is not its final weights: never one cell
        epoch = snapshot_epoch(r)
        variant["at_epoch"] = "final" if epoch is None else epoch
        if epoch is not None and trained:  # said in the label even when every row of the model is that snapshot
            variant["trained"] = f"epoch {epoch} of {trained}"
    # a named row (`--model features --model-opt name=X`) never joins plugin X's row; the label says which is which
    label, variant["plugin"] = model_label(r), r["model"]
    return (label, r.get("feature_view") or "", _canonical(variant), probe_settings), variant


def model_label(r: dict) -> str:
    """The name a row is shown under: its ``model_label`` (the name a features file was given), else its model."""
    label = r.get("model_label")
    return label if isinstance(label, str) and label else r["model"]


def _training(r: dict) -> tuple:
    """One training: dataset copy, model, version, options and schedule (not the steps trained so far)."""
    schedule = {k: v for k, v in _dict(r.get("schedule")).items() if k != "steps"}
    return (r["dataset"], r.get("dataset_fingerprint"), r["model"], r.get("model_version"),
            _canonical(_dict(r.get("model_config"))), _canonical(schedule))


def _training_key(r: dict) -> tuple:
    """What a snapshot's figure stands for: the training, view, extraction, probe, its settings and metric."""
    return _training(r) + (r.get("feature_view"), _canonical(r.get("feature_config")), r["probe"],
                           r.get("probe_version"), _canonical(_column_config(r)), r.get("metric"))


def still_training(rows: Sequence[dict], key: Callable[[dict], tuple] = _training_key,
                   finished_by: Callable[[dict], tuple] | None = None) -> list[tuple[dict, int]]:
    """``(row, epoch)`` of the snapshot rows that stand for a schedule still training: those of the newest
    ``--at-epoch`` snapshot of each ``key`` whose ``finished_by`` (default: ``key``; the leaderboard: the
    training itself, whatever was probed) has no row of the final weights (``ok`` rows only).
    The leaderboard and ``benchmarks/fidelity_table.py`` show these in place of the missing final row."""
    ok = [r for r in rows if r.get("status") == "ok"]
    finished_by = finished_by or key
    finished = {finished_by(r) for r in ok if snapshot_epoch(r) is None}
    newest: dict[tuple, int] = {}
    for r in ok:
        epoch, k = snapshot_epoch(r), key(r)
        if epoch is not None and finished_by(r) not in finished:
            newest[k] = max(newest.get(k, epoch), epoch)
    return [(r, snapshot_epoch(r)) for r in ok if snapshot_epoch(r) is not None and newest.get(key(r)) == snapshot_epoch(r)]


def _section(r: dict) -> str:
    """Models that do not train (their rows carry no schedule) and models declared baselines are baselines."""
    schedule = r.get("schedule")
    return "baseline" if (isinstance(schedule, dict) and not schedule) or model_category(r) == "baseline" else "model"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _records(frame: pd.DataFrame) -> list[dict]:
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return records


def build_tables(frame: pd.DataFrame, keep: Callable[[str, str], bool] | None = None,
                 references: Sequence[Reference] = (), snapshots: bool = False,
                 all_versions: bool = False, store_dir=None, resamples: int = RESAMPLES) -> list[Table]:
    """The leaderboard's tables (see the module docstring).

    ``snapshots``: also show rows of training snapshots (``--at-epoch``, the
    learning curves), each apart from the final weights (``at_epoch=5``);
    by default they are left out and each table's notes count them.
    ``all_versions``: also show rows of a probe's older versions; by default
    only its newest version in the store is shown and the notes count the rest.
    ``store_dir``: the store's folder, where the rows' per-example predictions
    are (the paired tests behind "best" fall back to seeds without them).
    """
    keep = keep or metric_filter(None, True)
    records = _records(frame) if len(frame) else []
    facts = SpecFacts(records)
    if getattr(keep, "uses_headline", False) and not getattr(keep, "headline_given", True):
        keep = metric_filter(None, False, headline=facts.headline)
    hidden: dict[tuple, int] = {}
    if not snapshots:
        standing = {id(r): epoch for r, epoch in still_training(records, finished_by=_training)}
        records = _leave_out(records, lambda r: snapshot_epoch(r) is not None and id(r) not in standing, hidden)
        records = [{**r, STILL_TRAINING: standing[id(r)]} if id(r) in standing else r for r in records]
    else:
        records = [{**r, SHOWING_SNAPSHOTS: True} for r in records]
    older: dict[tuple, int] = {}
    if not all_versions:
        current = {id(r) for r in newest_version(records, key=_version_scope)}
        records = _leave_out(records, lambda r: id(r) not in current, older)
    tables = []
    copies: dict[str, list[str]] = {}
    for r in records:
        fps = copies.setdefault(r["dataset"], [])
        if r.get("dataset_fingerprint") not in fps:
            fps.append(r.get("dataset_fingerprint"))
    for dataset in sorted(copies):
        for fingerprint in copies[dataset]:
            rows = [r for r in records if r["dataset"] == dataset and r.get("dataset_fingerprint") == fingerprint]
            split = _test_split(rows)
            if len(copies[dataset]) == 1 and split is None:
                title = dataset
            else:
                title = f"{dataset} ({f'test={split}, ' if split else ''}data {str(fingerprint)[:8]})"
            table = _build_table(dataset, str(fingerprint), title, rows, keep,
                                 [ref for ref in references if ref.dataset == dataset], store_dir, resamples, facts)
            if hidden.get((dataset, fingerprint)):
                table.notes.append(f"{hidden[(dataset, fingerprint)]} row(s) of training snapshots (--at-epoch) "
                                   f"not shown; ganbench leaderboard --snapshots shows them")
            if older.get((dataset, fingerprint)):
                table.notes.append(f"{older[(dataset, fingerprint)]} row(s) of older probe versions not shown "
                                   f"(superseded by newer rows in the store); ganbench leaderboard --all-versions "
                                   f"shows them")
            if table.columns or table.has_failures:
                tables.append(table)
    return tables


def _leave_out(records: list[dict], hide: Callable[[dict], bool], counts: dict[tuple, int]) -> list[dict]:
    """``records`` without those ``hide`` picks, counted per copy of the data in ``counts``."""
    kept = []
    for r in records:
        if hide(r):
            where = (r["dataset"], r.get("dataset_fingerprint"))
            counts[where] = counts.get(where, 0) + 1
        else:
            kept.append(r)
    return kept


def _version_scope(r: dict) -> tuple:
    """What a probe's newest version supersedes the older rows of: one metric of one model, view and training on one
    dataset copy (its table), whatever the probe's other settings -- a new version run on CIFAR-10, on another model
    or for another figure (all labels, not 100 per class) hides nothing else. Rows no newer version has reached
    keep their own column."""
    schedule = {k: v for k, v in _dict(r.get("schedule")).items() if k != "steps"}
    return (r["dataset"], r.get("dataset_fingerprint"), r["probe"], r.get("metric"), model_label(r), r["model"],
            r.get("model_version"), _canonical(_dict(r.get("model_config"))), _canonical(schedule),
            r.get("feature_view"), _canonical(_dict(r.get("feature_config"))), snapshot_epoch(r))


def _test_split(rows: list[dict]) -> str | None:
    """A copy's test split when it is not the official one (``--dataset-opt test=heldout``)."""
    for r in rows:
        split = _dict(_dict(r.get("details")).get("dataset")).get("test_split")
        if split and split != "official":
            return str(split)
    return None


def _build_table(dataset, fingerprint, title, records, keep, references, store_dir=None,
                 resamples: int = RESAMPLES, facts: SpecFacts | None = None) -> Table:
    facts = facts or SpecFacts(records)
    figures = [r for r in records if r["status"] == "ok" and _is_number(r.get("value")) and r.get("metric")]
    kept = {r["probe"] for r in figures if keep(r["probe"], r["metric"])}
    # a probe whose rows hold none of its headline metrics (an older version, other settings) shows them all
    fallback = getattr(keep, "uses_headline", False)
    ok = [r for r in figures if keep(r["probe"], r["metric"]) or (fallback and r["probe"] not in kept)]
    columns = _columns(ok, facts)
    by_key = {c.key: c for c in columns}
    rows: dict[tuple, Row] = {}
    variants: dict[tuple, list] = {}

    def settings(r) -> str:
        column = by_key.get(_column_key(r))
        return _settings_text(column, r) if column is not None else ""

    def row_for(r) -> Row:
        identity, variant = _row_identity(r, settings(r))
        if identity not in rows:
            rows[identity] = Row(_section(r), identity[0], r.get("feature_view") or "samples",
                                 trains_on_labels=bool(r.get("trains_on_labels")), trained=variant.get("trained", ""),
                                 probe_settings=identity[3], category=model_category(r))
            variants.setdefault(identity[:2], []).append((identity, variant))
        row = rows[identity]
        key = r.get("model_config_hash")
        if key and key not in row.model_keys:
            row.model_keys.append(key)
        return row

    # A seed run more than once shows the row standing for it (ganbench.store.standing); seeds are then averaged.
    latest = standing(ok, key=lambda r: (_row_identity(r, settings(r))[0], _column_key(r), r.get("seed")))
    behind: dict[tuple, list[dict]] = {}
    refused: list[tuple[dict, str]] = []  # standing rows whose value lies outside their metric's declared range
    for (identity, ckey, _), r in latest.items():
        row_for(r)
        why = outside_declared_range(r)
        if why:  # never a figure, nor an older row in its place: the seed's row is this one
            refused.append((r, why))
            continue
        behind.setdefault((identity, ckey), []).append(r)
    for (identity, ckey), records_of_cell in behind.items():
        rows[identity].cells[ckey] = _cell(records_of_cell)
    _count_failures(records, row_for, [r for r, _ in refused])
    for group in variants.values():  # the label says what sets a row apart; "trained" it says always
        unsaid = [{k: x for k, x in v.items() if k != "trained" and not (k == "at_epoch" and "trained" in v)}
                  for _, v in group]
        for (identity, _), text in zip(group, differences(unsaid)):
            rows[identity].differs = text
    built = list(rows.values())
    marks = best_marks(columns, built, store_dir, resamples)  # the paired tests, before the table exists
    for index, key in marks.best:
        built[index].cells[key].best = True
    for index, key in marks.tied:
        built[index].cells[key].tied = True
    untested = [c for c in columns if c.key in marks.untested]
    ordered = sorted(built, key=lambda r: (SECTIONS.index(r.section), r.model, r.view, r.trained, r.differs,
                                                   r.probe_settings))
    columns = _headline_first(columns, references, facts.headline)
    table = Table(dataset, fingerprint, title, columns, ordered)
    if untested:
        table.notes.append("No best marked in " + ", ".join(c.title.replace("headline: ", "") for c in untested)
                           + ": the top two trained rows cannot be told apart by a test (one seed each, without "
                           "per-example predictions); more seeds or a re-run that keeps predictions can")
    if refused:
        shown = "; ".join(f"{model_label(r)} {r['probe']} {r['metric']} seed {r.get('seed')}: {why}"
                          for r, why in refused[:3]) + ("; …" if len(refused) > 3 else "")
        table.notes.append(f"{len(refused)} figure(s) not shown: outside the range their probe declares ({shown}); "
                           f"the store was edited or damaged there; the failed column counts them as out of range")
    add_references(table, references)
    return table


def outside_declared_range(r: dict) -> str | None:
    """Why the row's value cannot be a figure of its metric (the installed probe's ``ProbeSpec.ranges``), else None
    (also when the probe is not installed or declares no range)."""
    spec = _installed_probe(r["probe"])
    return spec.outside_range(r["metric"], r.get("value")) if spec is not None else None


def _cell(records: list[dict]) -> Cell:
    """The figure of one row and column from its rows (one per seed)."""
    values = pd.Series([float(r["value"]) for r in records], dtype=float)
    cell = Cell(float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else None, len(values),
                records=records)
    details = [_dict(r.get("details")) for r in records]
    edges = sorted({str(d["c_at_grid_edge"]) for d in details if d.get("c_at_grid_edge")})
    cell.grid_edge = "/".join(edges) or None
    draws = details[0].get("draws")
    if len(records) == 1 and isinstance(draws, int) and draws > 1:  # one seed: the spread over its label draws
        spread = details[0].get("std")
        if not _is_number(spread) and _is_number(records[0].get("stderr")):
            spread = records[0]["stderr"] * math.sqrt(draws)
        if _is_number(spread):
            cell.draws, cell.draw_std = draws, float(spread)
    return cell


def _settings_text(column: Column, r: dict) -> str:
    """``svm standardize=True``: the row's probe settings where they differ from the column's usual ones."""
    config = _column_config(r)
    if _canonical(config) == _canonical(column.probe_config):
        return ""
    return f"{r['probe']} {differences([column.probe_config, config])[1]}"


def _headline_first(columns: list[Column], references: Sequence[Reference],
                    headline: Callable[[str], Sequence[str]] = registry_headline) -> list[Column]:
    """The table's headline column first, marked: the first column (probes that score features first) holding
    its probe's first headline figure (knn's 1-NN L2 accuracy, svm's accuracy) with a published figure beside
    it -- the paper's own measure: svm on CIFAR-10, 1-NN on MNIST -- else the first holding such a figure,
    else the first column."""
    if not columns:
        return columns
    published = {(ref.probe, ref.metric) for ref in references}

    def is_first_headline(c: Column) -> bool:
        patterns = headline(c.probe)
        return bool(patterns) and fnmatchcase(c.metric, patterns[0])

    firsts = [c for c in columns if is_first_headline(c)]
    chosen = next((c for c in firsts if (c.probe, c.metric) in published), firsts[0] if firsts else columns[0])
    chosen.headline = True
    return [chosen] + [c for c in columns if c is not chosen]


def registry_named_in_metric(probe: str) -> frozenset:
    """The installed probe's options spelled in its metric names; none when it is not installed."""
    spec = _installed_probe(probe)
    return frozenset(spec.named_in_metric) if spec else frozenset()


def registry_work_only(probe: str) -> frozenset:
    """The installed probe's options that change only its work, not its figures; none when it is not installed."""
    spec = _installed_probe(probe)
    return frozenset(getattr(spec, "work_only", ())) if spec else frozenset()


def _column_config(r: dict) -> dict:
    """The probe options that set a column or a row apart: not those its metric's name already spells (as the
    row records them, else as the installed probe says), nor those that change only the probe's work."""
    recorded = _dict(r.get("details")).get("probe_named_in_metric")
    named = frozenset(recorded) if isinstance(recorded, list) else registry_named_in_metric(r["probe"])
    named |= registry_work_only(r["probe"])
    return {k: v for k, v in _dict(r.get("probe_config")).items() if k not in named}


def _column_key(r: dict) -> tuple:
    return (r["probe"], r["metric"], str(r.get("probe_version")))


def _columns(ok: list[dict], facts: SpecFacts | None = None) -> list[Column]:
    """One column per (probe, metric, version); its ``probe_config`` is the settings most of its rows used
    (ties: the first in sorted order), against which the other rows' labels say what differs."""
    found: dict[tuple, Column] = {}
    configs: dict[tuple, dict[str, int]] = {}
    for r in ok:
        key = _column_key(r)
        if key not in found:
            target = r.get("target")
            found[key] = Column(r["probe"], r["metric"], str(r.get("probe_version")), {},
                                higher_is_better=r.get("higher_is_better"),
                                target=float(target) if _is_number(target) else None)
        counts = configs.setdefault(key, {})
        config = _canonical(_column_config(r))
        counts[config] = counts.get(config, 0) + 1
    for key, counts in configs.items():
        # the most used settings; on a tie the one setting fewest options apart from the defaults
        found[key].probe_config = json.loads(min(counts, key=lambda c: (-counts[c], len(json.loads(c)), c)))
    groups: dict[tuple, list[Column]] = {}
    for column in found.values():
        groups.setdefault((column.probe, column.metric), []).append(column)
    for group in groups.values():
        described = differences([{"version": c.probe_version} for c in group])
        for column, text in zip(group, described):
            column.differs = text.replace("version=", "v")
    # probes that score features (svm, knn: rows with a feature view), the leaderboard's subject, first; probes
    # of samples (quality, memorization, augment) after them, whether or not the probe is installed here
    scores_features = (facts or SpecFacts(ok)).scores_features
    return sorted(found.values(), key=lambda c: (c.probe not in scores_features, c.probe, c.metric, c.differs))


def _count_failures(records: list[dict], row_for, out_of_range: Sequence[dict] = ()) -> None:
    """Failed and diverged runs counted per row, one per (run, probe, view); figures outside their declared
    range one per (seed, metric)."""
    seen: dict[int, dict[str, set]] = {}
    for r in records:
        if r["status"] in ("failed", "diverged"):
            row = row_for(r)
            seen.setdefault(id(row), {"row": row}).setdefault(r["status"], set()).add(
                (r.get("run_id"), r.get("probe"), r.get("feature_view")))
    for r in out_of_range:
        row = row_for(r)
        seen.setdefault(id(row), {"row": row}).setdefault("out of range", set()).add(
            (r.get("seed"), r.get("probe"), r.get("metric")))
    for entry in seen.values():
        row = entry.pop("row")
        row.failed = ", ".join(f"{len(runs)} {status}" for status, runs in sorted(entry.items()))
