"""Terminal output: no control character from a name reaches the terminal; an empty leaderboard says where the
reference rows are; the legend fits 120 columns."""

import json
import unicodedata

from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.system.paths import REFERENCE_RESULTS

from .test_store_reader import good_row, write_store

RAW = ("\x1b", "\x07", "\x00", "\x9b", "\u202e")  # ESC, BEL, NUL, CSI, right-to-left override


def test_terminal_escapes_every_unprintable_character_and_keeps_the_rest():
    from ganbench.reports.escape import terminal

    assert terminal("d\x1b[2Jx\x07\x00\u202e") == "d\\x1b[2Jx\\x07\\x00\\u202e"
    assert terminal("Fashion-MNIST · ü ±") == "Fashion-MNIST · ü ±"
    assert terminal(0.5) == 0.5 and terminal(None) is None


def test_results_and_leaderboard_tables_show_names_escaped(tmp_path):
    hostile = good_row(1, model="evil\x1b[2J\x07\x00m", feature_view="v\x9b31m\u202e", dataset="data\x1b]0;t\x07")
    write_store(tmp_path, [json.dumps(hostile), json.dumps(good_row(2, status="failed", value=None,
                                                                        model="evil\x1b[2J\x07\x00m", error="x"))])
    for command in (["results"], ["leaderboard"], ["leaderboard", "--all-metrics", "--no-references"]):
        result = CliRunner().invoke(cli, [*command, str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert not any(ch in result.output for ch in RAW), (command, result.output)
        assert "evil\\x1b[2J\\x07\\x00m" in result.output, result.output


def test_an_empty_leaderboard_says_where_the_reference_rows_are(tmp_path):
    result = CliRunner().invoke(cli, ["leaderboard", str(tmp_path)])
    assert result.exit_code == 0
    assert "no rows to show" in result.output and REFERENCE_RESULTS in result.output
    assert str(tmp_path / "results.jsonl") in result.output


def display_width(line: str) -> int:
    """Columns under the widest rule (East Asian ambiguous characters, as the arrows, take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WFA" else 1 for c in line)


def test_the_legend_fits_120_columns_however_they_are_counted(tmp_path):
    write_store(tmp_path, [json.dumps(good_row(1))])
    result = CliRunner().invoke(cli, ["leaderboard", str(tmp_path), "--no-references"])
    legend = result.output[result.output.index("↑ higher"):].splitlines()
    assert "published figures are the papers' own" in legend[-1]
    for line in legend:
        assert max(len(line), display_width(line), len(line.encode())) <= 120, (len(line.encode()), line)
