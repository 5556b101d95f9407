"""The published figures (``ganbench/references.csv``) and their rows in a leaderboard table."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from typing import Sequence

from ganbench.reports.leaderboard_table import Cell, Row, Table
from ganbench.store.standing import version_order


@dataclass
class Reference:
    """A published figure, converted to the metric ganbench stores (``figure`` keeps the paper's form)."""

    cite: str  # short: "Donahue et al. 2016"
    paper: str
    model: str
    dataset: str
    protocol: str
    probe: str
    metric: str
    value: float
    std: float | None
    figure: str
    note: str
    key: str = ""  # what a recipe calls it by (``references.csv``'s last column); "" when it has none


def load_references(path=None) -> list[Reference]:
    """The published figures (``ganbench/references.csv`` unless ``path`` is given)."""
    if path is None:
        text = resources.files(__package__).joinpath("references.csv").read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    out = []
    for r in csv.DictReader(line for line in text.splitlines() if not line.startswith("#")):
        out.append(Reference(r["cite"], r["paper"], r["model"], r["dataset"], r["protocol"], r["probe"], r["metric"],
                             float(r["value"]), float(r["std"]) if r["std"] else None, r["figure"], r["note"],
                             (r.get("key") or "").strip()))
    return out


def add_references(table: Table, references: Sequence[Reference]) -> None:
    """Published figures as rows (one per paper and model), in the column of their probe and metric (of the
    probe's newest version, where the table shows several); figures with no column shown become notes."""
    rows: dict[tuple, Row] = {}
    for ref in references:
        targets = [c for c in table.columns if c.probe == ref.probe and c.metric == ref.metric]
        newest = max((version_order(c.probe_version) for c in targets), default=None)
        targets = [c for c in targets if version_order(c.probe_version) == newest]
        if not targets:
            table.notes.append(f"Published, no column shown for it: {ref.model} ({ref.paper}, {ref.protocol}): "
                               f"{ref.figure} ({ref.probe} {ref.metric}).")
            continue
        note = f"{ref.paper}: {ref.protocol}" + (f"; {ref.note}" if ref.note else "")
        converted = "" if ref.figure.endswith("accuracy") else f"; {ref.model} published as {ref.figure}"
        if (ref.cite, ref.model) not in rows:
            rows[(ref.cite, ref.model)] = Row("reference", ref.model, "", differs=ref.cite)
            table.rows.append(rows[(ref.cite, ref.model)])
        for column in targets:
            rows[(ref.cite, ref.model)].cells[column.key] = Cell(ref.value, ref.std, 1, published=True)
        if note + converted not in table.notes:
            table.notes.append(note + converted)
