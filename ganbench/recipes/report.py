"""What a recipe costs and what it found: time estimates from the store, and the paper's table.

Both read only the result store's rows (no torch): an estimate scales the
measured ``train_seconds`` / ``probe_seconds`` of the same model, options and
dataset by the steps asked for; the table puts our mean ± std (n seeds) of
each (row, figure) beside the published figure and the gap, as a
:class:`ganbench.reports.leaderboard.Table` that every leaderboard format prints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from statistics import mean, stdev

from ganbench.reports.leaderboard import Cell, Column, Row, Table, outside_declared_range
from ganbench.store.keys import row_key
from ganbench.store.standing import standing


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


# -- time estimates -----------------------------------------------------------
@dataclass
class Estimate:
    seconds: float | None  # None: nothing measured to scale
    text: str
    devices: frozenset = frozenset()  # the devices the figures scaled were measured on


def duration(seconds: float) -> str:
    """``42 s``, ``7 min``, ``3 h 05 min``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


def _device_ok(row: dict, device: str) -> bool:
    return device == "auto" or str(row.get("device", "")).split(":")[0] == device.split(":")[0]


def _same_model(row: dict, request, checked) -> bool:
    return (row.get("model") == checked.model_spec.name and str(row.get("model_version")) == str(checked.model_spec.version)
            and _canonical(row.get("model_config")) == _canonical(checked.model_options)
            and row.get("dataset") == request.dataset and row.get("status") == "ok")


def training_estimate(request, checked, rows: list[dict], device: str) -> Estimate:
    """Seconds per step of the same model, options and dataset (whole trainings, over every session),
    times the steps this request trains."""
    if request.at_epoch is not None:
        return Estimate(0.0, f"no training (the epoch-{request.at_epoch} snapshot of the cached training; "
                             f"refused if that training is not cached)")
    mine = [r for r in rows if _same_model(r, request, checked) and _device_ok(r, device)]
    if mine and all(not r.get("schedule") for r in mine):
        return Estimate(0.0, "no training")
    if not mine and getattr(checked.model_spec, "category", None) == "baseline":  # declared: it is not trained
        return Estimate(0.0, "no training (a baseline)")
    per_step, per_epoch, devices = {}, [], set()  # per_step: one figure per run, however many rows it wrote
    for r in mine:
        schedule, training = _dict(r.get("schedule")), _dict(_dict(r.get("details")).get("training"))
        steps = schedule.get("steps") or 0
        seconds = training.get("total_seconds")
        if seconds is None and "resumed_from_step" not in training:
            seconds = r.get("train_seconds") or None
        if steps and seconds and _dict(r.get("details")).get("snapshot_epoch") is None:
            per_step[r.get("run_id")] = seconds / steps
            devices.add(str(r.get("device")))
            if schedule.get("epochs") and schedule.get("max_steps") is None:
                per_epoch.append(steps / schedule["epochs"])
    steps = _planned_steps(request, per_epoch)
    if not per_step or steps is None:
        return Estimate(None, "training: no measurement" + ("" if per_step else f" of {checked.model_spec.name} "
                                                            f"with these options on {request.dataset}"))
    seconds = steps * mean(per_step.values())
    return Estimate(seconds, f"training ≈ {duration(seconds)} ({steps:,} step{'s' if steps != 1 else ''} on {', '.join(sorted(devices))}; "
                             f"less if cached)", frozenset(devices))


def _planned_steps(request, per_epoch: list[float]) -> int | None:
    epochs_steps = round(request.epochs * mean(per_epoch)) if request.epochs and per_epoch else None
    if request.max_steps is not None:
        return min(request.max_steps, epochs_steps) if epochs_steps else request.max_steps
    return epochs_steps


def probe_estimate(request, checked, probe_index: int, rows: list[dict], device: str) -> Estimate:
    """The measured ``probe_seconds`` of the same probe and options on the same model and dataset, per view."""
    pspec, popts = checked.probes[probe_index]
    runs: dict[tuple, float] = {}
    for r in rows:
        if (_same_model(r, request, checked) and r.get("probe") == pspec.name and _device_ok(r, device)
                and _canonical(r.get("probe_config")) == _canonical(popts)):
            runs[(r.get("run_id"), r.get("feature_view"), str(r.get("device")))] = float(r.get("probe_seconds") or 0.0)
    views = request.views or sorted({view for _, view, _ in runs}) or [None]
    total, devices = 0.0, set()
    for view in views:
        measured = [s for (_, v, dev), s in runs.items() if v == view]
        if not measured:
            return Estimate(None, f"{pspec.name}: no measurement" + (f" on view {view}" if view else ""))
        total += mean(measured)
        devices |= {dev for (_, v, dev) in runs if v == view}
    return Estimate(total, f"{pspec.name} ≈ {duration(total)} ({', '.join(sorted(devices))})", frozenset(devices))


# -- the paper's table ----------------------------------------------------------
class GapCell(Cell):
    def text(self, digits: int = 4) -> str:
        return f"{self.mean:+.{digits}f}"


class FigureColumn(Column):
    """A column headed in the recipe's words (``1-NN L2: ours``)."""

    def __init__(self, heading: str, probe: str, metric: str):
        super().__init__(probe, metric, "", {})
        self.heading = heading

    @property
    def key(self) -> tuple:
        return (self.heading,)

    @property
    def title(self) -> str:
        return self.heading


@dataclass
class FilledRow:
    """A table row with the job keys its figures come from, per probe (empty: a published figure alone)."""

    label: str
    keys: dict[str, set[str]]
    view: str | None
    published: dict[str, str]
    baseline: bool = False


def values(rows: list[dict], keys: set[str], view: str | None, metric: str,
           refused: list[tuple[dict, str]] | None = None) -> list[float]:
    """The ``ok`` value of each seed among the rows carrying one of ``keys``: the row standing for the seed
    (:mod:`ganbench.store.standing`, as on the leaderboard). A standing row whose value lies outside its
    metric's declared range gives no value; it is added to ``refused`` with the reason."""
    mine = [r for r in rows if row_key(r) in keys and r.get("status") == "ok" and r.get("metric") == metric
            and (view is None or r.get("feature_view") == view) and r.get("value") is not None]
    out = []
    for r in standing(mine, key=lambda r: r.get("seed")).values():
        why = outside_declared_range(r)
        if why:
            if refused is not None:
                refused.append((r, why))
            continue
        out.append(float(r["value"]))
    return out


def build_table(recipe, filled: list[FilledRow], stored: list[dict], references) -> Table:
    """One table: per figure three columns (ours, published, gap); one row per recipe row."""
    by_key = {ref.key: ref for ref in references if ref.key}
    columns, rows, notes = [], [], []
    for figure in recipe.figures:
        columns += [FigureColumn(f"{figure.title}: ours", figure.probe, figure.metric),
                    FigureColumn(f"{figure.title}: published", figure.probe, figure.metric),
                    FigureColumn(f"{figure.title}: gap", figure.probe, figure.metric)]
    published = {f.id for entry in filled for f in recipe.figures if entry.published.get(f.id)}
    stored_keys = {row_key(r) for r in stored}
    missing = 0
    refused: list[tuple[dict, str]] = []
    for entry in filled:
        section = "reference" if not entry.keys else ("baseline" if entry.baseline else "model")
        row = Row(section, entry.label, "")
        for i, figure in enumerate(recipe.figures):
            keys = entry.keys.get(figure.probe, set())
            before = len(refused)
            ours = values(stored, keys, entry.view, figure.metric, refused) if keys else []
            if len(refused) > before:
                row.failed = ", ".join(filter(None, [row.failed, f"{figure.title}: {len(refused) - before} out of range"]))
            if ours:
                spread = stdev(ours) if len(ours) > 1 else None
                row.cells[columns[3 * i].key] = Cell(mean(ours), spread, len(ours))  # the leaderboard's cell: 'n=1' said as such
            elif keys and not keys & stored_keys:  # asked for, never run (not: a metric the probe's options omit)
                missing += 1
            ref = by_key.get(entry.published.get(figure.id, ""))
            if ref is not None:
                row.cells[columns[3 * i + 1].key] = Cell(ref.value, ref.std, 1, published=True)
                if ours:
                    row.cells[columns[3 * i + 2].key] = GapCell(mean(ours) - ref.value)
                note = f"{ref.figure}: {ref.paper}, {ref.protocol}" + (f" ({ref.note})" if ref.note else "")
                if note not in notes:
                    notes.append(note)
        rows.append(row)
    if refused:
        shown = "; ".join(f"{r['probe']} {r['metric']} seed {r.get('seed')}: {why}" for r, why in refused[:3])
        notes.insert(0, f"{len(refused)} stored figure(s) not shown: outside the range their probe declares "
                        f"({shown}{'; …' if len(refused) > 3 else ''}); a row edited or damaged, never a figure.")
    if missing:
        notes.insert(0, f"{missing} cell(s) of ours have no stored row yet: "
                        f"`ganbench reproduce {recipe.name}` without --dry-run runs what is missing.")
    notes.insert(0, "ours: mean ± std over seeds (number of seeds)" + ("; gap: ours − published." if published else "."))
    # a figure no row publishes needs no published and gap columns
    columns = [c for i, c in enumerate(columns) if i % 3 == 0 or recipe.figures[i // 3].id in published]
    order = {"model": 0, "baseline": 1, "reference": 2}
    rows.sort(key=lambda r: order[r.section])
    datasets = sorted({j.dataset for j in recipe.jobs})
    return Table(", ".join(datasets), "", f"{recipe.title} [{recipe.name}]", columns, rows, notes)
