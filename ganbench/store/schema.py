"""The result schema: one row per metric, versioned.

Bump :data:`SCHEMA_VERSION` whenever the fields change. Adding a field is
an additive bump: rows of every earlier version still read (they lack the
field, which then counts as null), so :data:`KNOWN_VERSIONS` keeps them.
Readers accept rows of any version they know.

Versions: 1, the original fields; 2 adds ``predictions`` (the row's
per-example test predictions, kept beside the store); 3 adds ``at_epoch`` and
``bn_stats`` (what the request asked, so that every field of a request's key
is in its rows) and keys requests by the data's content
(:mod:`ganbench.store.keys`; the keys of rows of 1 and 2 are recomputed from
their fields, so they count as stored without being rewritten).
"""

from __future__ import annotations

import json
import math

SCHEMA_VERSION = 3
KNOWN_VERSIONS = frozenset({1, 2, 3})
STATUSES = ("ok", "failed", "diverged")

# name -> (type, meaning). The README's schema table is generated from this.
FIELDS: dict[str, tuple[str, str]] = {
    "schema_version": ("int", "version of this schema the row follows"),
    "run_id": ("str", "id shared by every row of one `ganbench run` job (model x dataset x seed)"),
    "created_at": ("str", "UTC time the row was written, ISO 8601"),
    "ganbench_version": ("str", "ganbench version that wrote the row"),
    "model": ("str", "model plugin name"),
    "model_version": ("str", "model plugin version (bumped when its results change)"),
    "model_config": ("dict", "every model option, defaults included, and the facts the model derives from them (`Model.config_facts`: a features file's `sha256`)"),
    "model_config_hash": ("str", "hash of model, version, config, dataset fingerprint, seed and schedule: the checkpoint key"),
    "trains_on_labels": ("bool", "the model saw class labels while training"),
    "model_label": ("str|null", "the name the leaderboard shows the model under: the plugin's, or the one the model was given (`--model features --model-opt name=...`)"),
    "probe": ("str", "probe plugin name"),
    "probe_version": ("str", "probe plugin version"),
    "probe_config": ("dict", "every probe option, defaults included"),
    "dataset": ("str", "dataset name as given"),
    "dataset_fingerprint": ("str", "sha256 prefix of the exact image and label bytes used"),
    "feature_view": ("str|null", "the model's feature view the probe scored (null for probes that use no features)"),
    "feature_dim": ("int|null", "dimension of that view"),
    "feature_config": ("dict|null", "how the features were extracted (batch-norm statistics, precision); rows with different ones are not compared"),
    "labels_used": ("int|null", "training labels the probe used (label budget), null = all"),
    "seed": ("int", "seed of training and probing"),
    "at_epoch": ("int|null", "(since version 3) the training snapshot probed (`--at-epoch`): the weights at the end of that epoch; null = the final weights"),
    "bn_stats": ("str", "(since version 3) the batch-norm statistics the features were extracted with: `train-images` (recomputed on the training images) or `running`"),
    "metric": ("str", "metric name, with its setting (e.g. acc_l2_k1_majority)"),
    "value": ("float|null", "the figure (null when the run failed)"),
    "stderr": ("float|null", "standard error over the probe's repeats, when it repeats"),
    "higher_is_better": ("bool|null", "direction of the metric: true (higher is better), false (lower), null (closer to `target` is better, or unknown)"),
    "target": ("float|null", "for metrics where closer to a value is better (a distance ratio near 1, C_T near 0): that value"),
    "n_train": ("int|null", "examples the probe fitted on"),
    "n_test": ("int|null", "examples the probe scored"),
    "train_seconds": ("float", "seconds this call spent training (0 when the trained model came from the cache; a resumed training counts this session only: the whole training's time, over every session, is `details.training.total_seconds`, and `details.training.resumed_from_step` says where this session began)"),
    "probe_seconds": ("float", "seconds spent in the probe, feature extraction included"),
    "schedule": ("dict", "epochs, max_steps, batch_size and steps actually trained"),
    "device": ("str", "device the job ran on (cpu, cuda:0, ...)"),
    "torch_version": ("str", "torch version"),
    "status": ("str", "ok, failed or diverged"),
    "error": ("str|null", "the error when status is not ok"),
    "job_key": ("str", "the request's key: a hash of the model (name, version, config), the data by content (dataset family and fingerprint), seed, planned schedule, `at_epoch`, `bn_stats` and the probe (name, version, config) -- every one a field of the row, so it is recomputed from them (`ganbench.store.keys.row_key`); views and device are not in it. `sweep` and `reproduce` skip a request whose ok rows carry it for every view asked"),
    "details": ("dict", "probe-specific facts needed to reproduce the figure (chosen C, directions removed, ...)"),
    "predictions": ("dict|null", "(since version 2) where the row's per-example test predictions are kept: `file` (`predictions/<id>.npz` under the store's folder: `predicted` (draws, n_test) uint8/int16 classes and the test `labels`), its `sha256`, `test_set` (fingerprint of the test images and labels: rows compare example by example only on the same one), `draws`, `n_test`; null or absent when the probe returned none"),
}
REQUIRED = ("schema_version", "run_id", "model", "probe", "dataset", "metric", "value", "status")


class NewerSchema(str):
    """Why a line is no row to this ganbench: a row of a newer schema version (``version``), written by a newer
    ganbench. A str like every other reason, so that callers that only print reasons need not know it; the
    store says so once and refuses to append (:func:`ganbench.store.jsonl.check_store_writable`)."""

    version: int

    def __new__(cls, version: int):
        text = super().__new__(cls, f"schema_version {version}, written by a newer ganbench (this one reads "
                                    f"{min(KNOWN_VERSIONS)} to {SCHEMA_VERSION})")
        text.version = version
        return text


def schema_markdown() -> str:
    """The schema as a Markdown table (README)."""
    lines = ["| field | type | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{name}` | {typ} | {meaning} |" for name, (typ, meaning) in FIELDS.items()]
    return "\n".join(lines)


def _matches(value: object, typ: str) -> bool:
    """Whether a JSON value has the declared type (``int`` is not ``bool``; a ``float`` is finite)."""
    if typ == "null":
        return value is None
    if typ == "str":
        return isinstance(value, str)
    if typ == "bool":
        return isinstance(value, bool)
    if typ == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if typ == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if typ == "dict":
        return isinstance(value, dict)
    return True  # a type this reader does not know constrains nothing


def _type_name(value: object) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), type(value).__name__)


def check_row(row: object) -> str | None:
    """Why ``row`` is not a result row of a known version, or ``None`` when it is.

    Every field present must have the type :data:`FIELDS` declares. The
    :data:`REQUIRED` fields are never null, except ``metric`` and ``value`` on
    a row whose status is not ``ok``; other fields may be null (unknown: a job
    that failed before its dataset loaded has no fingerprint). An ``ok`` row's
    value is a finite number. Fields this version does not declare are kept
    as they are (a newer writer may add some).
    """
    if not isinstance(row, dict):
        return "not a JSON object"
    missing = [f for f in REQUIRED if f not in row]
    if missing:
        return f"missing fields {', '.join(missing)}"
    version = row["schema_version"]
    if _matches(version, "int") and version > SCHEMA_VERSION:
        return NewerSchema(version)
    if not _matches(version, "int") or version not in KNOWN_VERSIONS:
        return f"unknown schema_version {_short(version)}"
    status = row["status"]
    if not isinstance(status, str) or status not in STATUSES:
        return f"unknown status {_short(status)}"
    for name, (typ, _) in FIELDS.items():
        if name not in row:
            continue
        value = row[name]
        allowed = typ.split("|")
        if value is None and (name not in REQUIRED or (status != "ok" and name in ("metric", "value"))):
            continue
        if not any(_matches(value, t) for t in allowed):
            return f"field '{name}' is {_type_name(value)}, expected {typ}"
    if status == "ok" and row["value"] is None:
        return "an ok row without a value"
    return None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_line(raw: bytes) -> tuple[dict | None, str | None]:
    """One line of a store: ``(row, None)`` when it is a valid row, else ``(None, why not)``."""
    try:
        row = json.loads(raw)
    except UnicodeDecodeError:
        return None, "not valid UTF-8"
    except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
        return None, f"not valid JSON ({exc.__class__.__name__})"
    except RecursionError:
        return None, "nested too deeply"
    try:
        problem = check_row(row)
    except RecursionError:
        problem = "nested too deeply"
    except Exception as exc:  # never let a strange line stop the reader
        problem = f"could not be checked ({exc.__class__.__name__})"
    return (None, problem) if problem else (row, None)
