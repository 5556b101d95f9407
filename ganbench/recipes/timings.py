"""Measured times shipped with ganbench, so that ``ganbench reproduce --dry-run`` estimates outside a clone.

``timings.json`` (package data, beside the recipes) holds one entry per (run, probe, probe options, view) of the
repository's reference store, ``results/reference``: the fields the estimates read
(:mod:`ganbench.recipes.report`: the model, its version and options, the dataset, the schedule, the seconds of
training and of the probe, the device), nothing of the figures. :func:`timing_rows` derives them from a store's
rows, and ``tests/test_reproduce.py`` checks that the shipped file is what the committed store gives;
``python -c "from ganbench.recipes.timings import write; write('results/reference')"`` writes it again.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

SHIPPED = "timings.json"
SOURCE = "results/reference"  # the store the shipped timings come from, in the repository
FIELDS = ("run_id", "model", "model_version", "model_config", "dataset", "device", "status", "schedule",
          "train_seconds", "probe", "probe_config", "feature_view", "probe_seconds")
DETAILS = ("training", "snapshot_epoch")  # how long the whole training took; a snapshot's rows train nothing


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def timing_rows(rows: list[dict]) -> list[dict]:
    """The timing fields of each ``ok`` (run, probe, probe options, view) of ``rows``, in store order: a probe's
    metrics share their run's seconds, so one entry stands for them all."""
    entries: dict[tuple, dict] = {}
    for r in rows:
        if r.get("status") != "ok":
            continue
        key = (r.get("run_id"), r.get("probe"), _canonical(r.get("probe_config")), r.get("feature_view"))
        if key not in entries:
            details = r.get("details") if isinstance(r.get("details"), dict) else {}
            entries[key] = {**{f: r.get(f) for f in FIELDS}, "details": {k: details[k] for k in DETAILS if k in details}}
    return list(entries.values())


def shipped() -> list[dict]:
    """The timing rows shipped with ganbench (empty when the file is missing from an installation)."""
    source = resources.files(__package__) / SHIPPED
    if not source.is_file():
        return []
    return json.loads(source.read_text())["runs"]


def devices(rows: list[dict]) -> list[str]:
    """The device types the rows were measured on (``cpu``, ``cuda``)."""
    return sorted({str(r.get("device") or "unknown").split(":")[0] for r in rows})


def write(store: str = SOURCE, path: str | Path | None = None) -> Path:
    """Write the timing rows of ``store`` to ``path`` (default: the package's ``timings.json``); one run per line."""
    from ganbench.store.jsonl import read_rows

    runs = timing_rows(read_rows(store, warn=False))
    path = Path(path) if path else Path(__file__).with_name(SHIPPED)
    lines = ",\n".join(json.dumps(run, sort_keys=False) for run in runs)
    header = json.dumps({"source": SOURCE, "devices": devices(runs)})[:-1]
    path.write_text(f'{header}, "runs": [\n{lines}\n]}}\n')
    return path
