"""Outputs: CSV cells are JSON and never formulas; Markdown, HTML and LaTeX cells stay one cell."""

import csv
import io
import json

from click.testing import CliRunner

from ganbench.reports import escape
from ganbench.cli.app import cli
from ganbench.store.jsonl import append_rows

from .test_store_reader import good_row


def test_results_csv_writes_json_cells_and_neutralises_formulas(tmp_path):
    append_rows(tmp_path, [good_row(1, dataset="=HYPERLINK(\"http://x\")", model="+cmd", run_id="@r",
                                   error="-1+1", model_config={"lr": 0.0002, "betas": [0.5, 0.999]}, value=-0.25)])
    result = CliRunner().invoke(cli, ["results", str(tmp_path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    (row,) = list(csv.DictReader(io.StringIO(result.output)))
    assert json.loads(row["model_config"]) == {"lr": 0.0002, "betas": [0.5, 0.999]}
    assert json.loads(row["probe_config"]) == {"k": 1}
    assert row["dataset"] == "'=HYPERLINK(\"http://x\")" and row["model"] == "'+cmd"
    assert row["run_id"] == "'@r" and row["error"] == "'-1+1"
    assert row["value"] == "-0.25"  # a negative number is a number, not a formula


def test_markdown_cells_escape_pipes_and_line_breaks():
    assert escape.md("folder:/data/a|b") == "folder:/data/a\\|b"
    assert escape.md("line one\nline two\r\nthree") == "line one<br>line two<br>three"
    assert escape.md("a\\|b") == "a\\\\\\|b"  # a backslash before a pipe cannot unescape it
    assert escape.md({"k": "|"}) == '{"k": "\\|"}'  # JSON, then escaped
    assert escape.md(None) == ""
    row = "| " + escape.md("x|y") + " | " + escape.md("1\n2") + " |"
    assert row.replace("\\|", "").count("|") == 3  # still exactly two cells


def test_csv_html_and_latex_cells():
    assert [escape.csv(v) for v in ("=1+1", "+1", "-x", "@SUM(A1)", "\tx", "ok", -1.5, None)] == [
        "'=1+1", "'+1", "'-x", "'@SUM(A1)", "'\tx", "ok", -1.5, None]
    assert escape.csv({"a": [1, 2]}) == '{"a": [1, 2]}'
    assert escape.csv({"f": "=x"}) == '{"f": "=x"}'
    assert escape.html('<b>"a" & b</b>\nc') == "&lt;b&gt;&quot;a&quot; &amp; b&lt;/b&gt;<br>c"
    assert escape.latex("acc_l2 50% $x$ #1 {a} ~ ^ \\ &") == (
        r"acc\_l2 50\% \$x\$ \#1 \{a\} \textasciitilde{} \textasciicircum{} \textbackslash{} \&")
