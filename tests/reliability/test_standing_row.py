"""One row stands for a (configuration, seed) everywhere: the newest ``created_at``, ties broken by the later line;
the leaderboard, ``compare``, ``reproduce``'s table and the learning curves all show that row (issue 37, item 3)."""

import json

from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.store.jsonl import read_rows, store_path
from ganbench.store.keys import row_key

from .test_store_reader import good_row


def row(value, created_at, **extra):
    return good_row(0, metric="acc_l2_k1_majority", value=value, created_at=created_at, job_key="K",
                    schedule={"epochs": 1}, feature_view="d", model_config_hash="h", **extra)


def write(folder, rows):
    folder.mkdir(exist_ok=True)
    store_path(folder).write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_a_duplicate_with_an_older_timestamp_appended_later_does_not_stand_anywhere(tmp_path):
    """The README's own recovery (``cat SIDE >> results.jsonl``) can append an older row after a newer one."""
    write(tmp_path / "S", [row(0.956, "2024-05-01T10:00:00+00:00"), row(0.1, "2024-04-01T10:00:00+00:00")])
    board = CliRunner().invoke(cli, ["leaderboard", str(tmp_path / "S"), "--format", "csv"])
    assert board.exit_code == 0, board.output
    assert "0.956" in board.output and "0.1000" not in board.output and ",0.1," not in board.output
    compared = CliRunner().invoke(cli, ["compare", "--results", str(tmp_path / "S"), "--a", "seed=0", "--b", "seed=0",
                                        "--format", "json"])
    assert compared.exit_code == 0, compared.output
    assert json.loads(compared.output[compared.output.index("{"):])["mean_a"] == 0.956

    from ganbench.recipes.report import values
    keys = {row_key(r) for r in read_rows(tmp_path / "S")}  # one request: both rows answer it
    assert len(keys) == 1 and values(read_rows(tmp_path / "S"), keys, "d", "acc_l2_k1_majority") == [0.956]

    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        "learning_curves", Path(__file__).resolve().parents[2] / "benchmarks" / "learning_curves.py")
    curves_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(curves_module)
    rows = [{**r, "dataset": "mnist"} for r in read_rows(tmp_path / "S")]
    assert curves_module.curves(rows, "acc_l2_k1_majority", "mnist") == {
        ("dcgan (1-epoch schedule)", "d"): {1: [0.956]}}


def test_the_rule_newest_time_then_later_line_and_a_missing_time_counts_oldest():
    from ganbench.store.standing import standing

    a = {"seed": 0, "created_at": "2024-01-01T00:00:00+00:00", "v": "a"}
    b = {"seed": 0, "created_at": "2024-01-01T00:00:00Z", "v": "b"}  # the same moment, a later line
    c = {"seed": 0, "created_at": None, "v": "c"}  # no time: older than any row with one
    d = {"seed": 1, "created_at": "2024-01-01T02:00:00+02:00", "v": "d"}  # 00:00 UTC
    e = {"seed": 1, "created_at": "2023-12-31T23:30:00", "v": "e"}  # no zone: UTC, older
    chosen = standing([a, b, c, d, e], key=lambda r: r["seed"])
    assert {k: r["v"] for k, r in chosen.items()} == {0: "b", 1: "d"}
    assert standing([c, {**c, "v": "c2"}], key=lambda r: r["seed"])[0]["v"] == "c2"  # no times: the later line
