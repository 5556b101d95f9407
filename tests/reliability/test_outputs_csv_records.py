"""CSV: a line break inside a cell (a bare CR above all) never ends a record, so no cell becomes a formula."""

import csv
import io
import json

import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.reports.escape import CSV_FORMULA_STARTS

from .test_store_reader import good_row, write_store

HOSTILE = {  # field -> a value whose line break, if it ended the record, would start one with a formula
    "model": "dcgan\r=1+1",
    "dataset": "mnist\n@SUM(A1)",
    "run_id": "r\r\n+cmd",
    "error": "boom\r-2+3",
    "feature_view": "d\x0b=4\x0c=5\u2028=6",
}


def records(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))  # newline="": CR, LF and CRLF all end lines


def assert_no_cell_is_a_formula(rows):
    for row in rows:
        assert not row[0].startswith(CSV_FORMULA_STARTS), row
        for cell in row:
            assert not cell.startswith(CSV_FORMULA_STARTS) or _is_number(cell), (cell, row)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


@pytest.fixture
def hostile_store(tmp_path):
    lines = [json.dumps(good_row(1, **HOSTILE, status="failed", value=None)), json.dumps(good_row(2, **HOSTILE)),
             json.dumps({**good_row(3), "=extra\r=2": "x\r=3"})]  # a foreign field: its key is a column name
    write_store(tmp_path, lines)
    return tmp_path


def test_results_csv_keeps_every_record_whole(hostile_store):
    result = CliRunner().invoke(cli, ["results", str(hostile_store), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = records(result.output)
    assert len(rows) == 4 and len({len(r) for r in rows}) == 1, rows  # a header and 3 records, all as wide
    header = rows[0]
    first = dict(zip(header, rows[1]))
    assert first["model"] == "dcgan\r=1+1" and first["dataset"] == "mnist\n@SUM(A1)"
    assert first["feature_view"] == HOSTILE["feature_view"] and first["error"] == "boom\r-2+3"
    assert dict(zip(header, rows[2]))["value"] == "0.502"  # numbers stay numbers
    assert "'=extra\r=2" in header and dict(zip(header, rows[3]))["'=extra\r=2"] == "x\r=3"
    assert_no_cell_is_a_formula(rows)


def test_leaderboard_csv_keeps_every_record_whole(hostile_store):
    result = CliRunner().invoke(cli, ["leaderboard", str(hostile_store), "--format", "csv", "--no-references"])
    assert result.exit_code == 0, result.output
    rows = records(result.output)
    assert len({len(r) for r in rows}) == 1, rows
    body = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert {r["model"] for r in body} >= {"dcgan\r=1+1", "dcgan"}
    assert any(r["mean"] == "0.5020" for r in body)  # rounded to 4 decimals like the other formats
    assert_no_cell_is_a_formula(rows)
