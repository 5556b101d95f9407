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
    (tmp_path / "results.jsonl").write_text("")  # a store with no rows (no store at all: the test below)
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


def test_a_leaderboard_with_no_store_names_it_and_says_how_rows_are_made(tmp_path, monkeypatch):
    """From a folder that holds no store: the store looked for is named as missing; in a checkout the committed
    reference rows are pointed at, and where ganbench is installed without one, the first run to make."""
    import ganbench.cli.leaderboard as leaderboard

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["leaderboard"])
    assert result.exit_code == 0, result.output
    assert f"no result store at ganbench-results/results.jsonl (nothing has run with the default --results in {tmp_path})" \
        in result.output and REFERENCE_RESULTS in result.output
    monkeypatch.setattr(leaderboard, "REFERENCE_RESULTS", "no-such-folder")  # ganbench installed, not a checkout
    result = CliRunner().invoke(cli, ["leaderboard", "mine"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"no result store at mine/results.jsonl (nothing has run with --results mine in {tmp_path}); rows come "
        f"from runs: ganbench run --model pixels --probe knn --results mine (seconds on a CPU) makes the first ones")
    assert "repository" not in result.output


def test_the_committed_leaderboard_fits_100_columns_off_a_terminal_and_the_terminal_on_one(monkeypatch):
    """Piped or redirected, `ganbench leaderboard results/reference` is at most 100 columns wide (notes and headers
    included); on a terminal, its width (shutil.get_terminal_size); --width still wins."""
    from pathlib import Path

    import ganbench.cli.leaderboard as leaderboard

    store = Path(__file__).resolve().parents[2] / "results" / "reference"
    result = CliRunner().invoke(cli, ["leaderboard", str(store)])
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) == 100  # filled, never over
    wide = CliRunner().invoke(cli, ["leaderboard", str(store), "--width", "140"])
    assert max(len(line) for line in wide.output.splitlines()) > 100

    class Terminal:
        def isatty(self):
            return True

    monkeypatch.setattr(leaderboard.sys, "stdout", Terminal())
    monkeypatch.setenv("COLUMNS", "72")
    assert leaderboard.output_width() == 72
    monkeypatch.setattr(leaderboard, "output_width", lambda: 72)  # the command asks it when no --width is given
    narrow = CliRunner().invoke(cli, ["leaderboard", str(store)])
    assert max(len(line) for line in narrow.output.splitlines()) <= 72
