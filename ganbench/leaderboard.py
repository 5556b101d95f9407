"""The leaderboard: result rows pivoted into one comparable table.

Rows are grouped into columns by (dataset, dataset fingerprint, probe, probe
version, probe config, metric): figures from different copies of a dataset,
different probe versions or different probe settings never share a column.
Where a column name would otherwise be ambiguous, the fingerprint, version
or config hash is shown in it. Each cell is the mean +- std over seeds (n
seeds in brackets when more than one). Models that train on labels are
marked with a dagger.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd

LABEL_MARK = "†"


def _config_hash(config) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:6]


def _column_names(ok: pd.DataFrame) -> pd.Series:
    """A readable column name per row, with disambiguators only where needed."""
    base = ok["dataset"] + " " + ok["probe"] + " " + ok["metric"]
    names = base.copy()
    for field, label in (("dataset_fingerprint", "data"), ("probe_version", "v"), ("_probe_cfg", "cfg")):
        ambiguous = ok.groupby(base)[field].transform("nunique") > 1
        names[ambiguous] = names[ambiguous] + f" [{label} " + ok.loc[ambiguous, field].astype(str).str[:8] + "]"
    return names


def _cell(values: pd.Series, digits: int) -> str:
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f} ({len(values)})"


def leaderboard(frame: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """Models (and their feature views) as rows, comparable figures as columns."""
    ok = frame[(frame["status"] == "ok") & frame["value"].notna()].copy()
    if ok.empty:
        return pd.DataFrame()
    ok["_probe_cfg"] = ok["probe_config"].map(_config_hash)
    ok["_column"] = _column_names(ok)
    mark = ok["trains_on_labels"].fillna(False).astype(bool).map({True: f" {LABEL_MARK}", False: ""})
    ok["_model"] = ok["model"] + mark
    ok["_view"] = ok["feature_view"].fillna("-")
    # Repeated runs of one seed keep their latest figure; seeds are then averaged.
    latest = ok.sort_values("created_at").groupby(["_model", "_view", "_column", "seed"]).tail(1)
    table = latest.groupby(["_model", "_view", "_column"])["value"].apply(lambda v: _cell(v, digits)).unstack("_column")
    table.index.names = ["model", "view"]
    table.columns.name = None
    return table.fillna("")
