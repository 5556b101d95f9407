import json
import multiprocessing as mp
import warnings

import pytest

from ganbench.store.schema import FIELDS, SCHEMA_VERSION, check_row, schema_markdown
from ganbench.store.jsonl import StoreWarning, append_rows, load_results, read_rows, store_path


def row(i, writer=0, **extra):
    base = {f: None for f in FIELDS}
    base.update(schema_version=SCHEMA_VERSION, run_id=f"w{writer}", model="m", probe="p", dataset="d",
                metric=f"m{i}", value=float(i), status="ok", seed=writer, details={"pad": "x" * 3000})
    base.update(extra)
    return base


def _writer(args):
    folder, writer, n = args
    for i in range(n):
        append_rows(folder, [row(i, writer), row(i + 10_000, writer)])


def test_concurrent_appends_lose_and_tear_nothing(tmp_path):
    writers, per_writer = 8, 25  # 8 writers x 50 rows: exactly 400 come back
    ctx = mp.get_context("fork")  # separate processes, each with its own file handle and lock
    with ctx.Pool(writers) as pool:
        pool.map(_writer, [(str(tmp_path), w, per_writer) for w in range(writers)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a torn line would warn
        rows = read_rows(tmp_path)
    assert len(rows) == writers * per_writer * 2 == 400
    seen = {(r["run_id"], r["metric"]) for r in rows}
    assert len(seen) == len(rows)
    for w in range(writers):  # each writer's pairs stay in order and together
        mine = [r["metric"] for r in rows if r["run_id"] == f"w{w}"]
        assert mine == [m for i in range(per_writer) for m in (f"m{i}", f"m{i + 10_000}")]


def test_torn_and_foreign_lines_are_reported_with_their_number_and_skipped(tmp_path):
    append_rows(tmp_path, [row(1)])
    with open(store_path(tmp_path), "a") as f:
        f.write('{"schema_version": 1, "run_id": "torn", "mod')  # a writer killed mid-line
    append_rows(tmp_path, [row(2)])  # starts on a fresh line
    with open(store_path(tmp_path), "a") as f:
        f.write(json.dumps({"hello": "world"}) + "\n")
        f.write(json.dumps(row(3, schema_version=99)) + "\n")
    with pytest.warns(StoreWarning) as caught:
        frame = load_results(tmp_path)
    messages = [str(w.message) for w in caught]
    assert list(frame["metric"]) == ["m1", "m2"]
    assert any(":2: skipped" in m and "not valid JSON" in m for m in messages)
    assert any(":4: skipped" in m and "missing fields" in m for m in messages)
    # a newer ganbench's row is said once for the store, not as a torn line (tests/reliability/test_store_newer_schema.py)
    assert any("1 row(s) of schema_version 99 were written by a newer ganbench" in m for m in messages)
    assert not any(":5:" in m for m in messages)


def test_frame_has_every_schema_field_in_order_and_nan_is_stored_as_null(tmp_path):
    append_rows(tmp_path, [row(1, value=float("nan"), status="diverged")])
    frame = load_results(tmp_path)
    assert list(frame.columns[: len(FIELDS)]) == list(FIELDS)
    assert frame["value"].isna().all()
    assert json.loads(store_path(tmp_path).read_text())["value"] is None


def test_schema_checks_and_documents_every_field():
    assert check_row(row(1)) is None
    assert "unknown status" in check_row(row(1, status="great"))
    table = schema_markdown()
    assert all(f"`{name}`" in table for name in FIELDS)


def test_readme_documents_the_schema():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert schema_markdown() in readme, "regenerate the README's schema table from ganbench.store.schema.schema_markdown()"
