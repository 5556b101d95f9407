import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from ganbench.reports.leaderboard import LABEL_MARK, Reference, build_tables, differences, load_references, metric_filter
from ganbench.reports.formats import escape_csv, escape_latex, render_csv, render_html, render_md, render_terminal

ROOT = Path(__file__).resolve().parents[1]


def row(model, value, seed=0, probe_version="1", fingerprint="aaaa", status="ok", labels=False, config=None,
        t="2026-01-01", metric="acc", probe="knn", dataset="mnist", view="d", higher=True, target=None,
        schedule=None, feature_config=None, model_config=None, run_id="r"):
    return {"model": model, "feature_view": view, "dataset": dataset, "dataset_fingerprint": fingerprint,
            "probe": probe, "probe_version": probe_version, "probe_config": config or {"k": [1]},
            "metric": metric, "value": value, "seed": seed, "status": status, "trains_on_labels": labels,
            "created_at": t, "higher_is_better": higher, "target": target, "run_id": run_id,
            "schedule": {"epochs": 1} if schedule is None else schedule, "feature_config": feature_config,
            "model_config": model_config or {}, "model_version": "1", "model_config_hash": f"{model}-{seed}"}


def tables_of(rows, **kw):
    return build_tables(pd.DataFrame(rows), metric_filter(None, True), **kw)


def plain(column) -> str:
    return column.title.removeprefix("headline: ")


def only(table, label):
    return next(r for r in table.rows if r.label == label)


def test_two_seeds_make_one_cell_mean_std_n_and_labels_are_marked():
    [table] = tables_of([row("dcgan", 0.90, 0), row("dcgan", 0.94, 1), row("acgan", 0.99, labels=True)])
    [column] = table.columns
    assert only(table, "dcgan · d (1 epoch)").cells[column.key].text() == "0.9200 ± 0.0283 (n=2)"
    assert only(table, f"acgan {LABEL_MARK} · d (1 epoch)").cells[column.key].text() == "0.9900 (n=1)"
    assert "0.9200 ± 0.0283 (n=2)" in render_md([table])


def test_versions_and_fingerprints_never_share_a_column_and_settings_go_to_the_row_label():
    tables = tables_of([row("dcgan", 0.90), row("pixels", 0.80, probe_version="2"),
                        row("bigan", 0.70, fingerprint="bbbb"), row("ortho", 0.60, config={"k": [1], "index": "ivf"}),
                        row("ortho", 0.61, config={"k": [1], "index": "ivf"}, seed=1), row("dcgan", 0.5, seed=1)],
                       all_versions=True)
    assert [t.title for t in tables] == ["mnist (data aaaa)", "mnist (data bbbb)"]
    titles = sorted(plain(c) for c in tables[0].columns)
    assert titles == ["knn acc (v1) ↑", "knn acc (v2) ↑"]  # the index setting is no column
    v1 = next(c for c in tables[0].columns if c.probe_version == "1")
    # a 2-2 tie of settings: the column's usual ones are those fewest options away from the defaults
    assert {r.label: r.cells[v1.key].text() for r in tables[0].rows if v1.key in r.cells} == {
        "dcgan · d (1 epoch)": "0.7000 ± 0.2828 (n=2)", "ortho · d (1 epoch; knn index=ivf)": "0.6050 ± 0.0071 (n=2)"}


def test_a_probes_older_version_is_left_out_where_a_newer_one_reached_the_same_model_view_and_training():
    rows = [row("dcgan", 0.90, probe_version="9"), row("dcgan", 0.91, probe_version="10", seed=1),
            row("bigan", 0.80, probe_version="9"), row("pixels", 0.70, probe="svm", probe_version="1"),
            row("ortho", 0.60, fingerprint="bbbb", probe_version="9"),
            row("dcgan", 0.50, probe_version="9", config={"k": [1], "index": "ivf"})]
    first, other_copy = tables_of(rows)
    # "10" is newer than "9": dcgan's version-9 rows (both settings) are superseded; bigan, which version 10 has
    # not reached, keeps its figure in version 9's own column
    cells = {(r.label, plain(c)): r.cells[c.key].text() for r in first.rows for c in first.columns if c.key in r.cells}
    assert cells == {("dcgan · d (1 epoch)", "knn acc (v10) ↑"): "0.9100 (n=1)",
                     ("bigan · d (1 epoch)", "knn acc (v9) ↑"): "0.8000 (n=1)",
                     ("pixels · d (1 epoch)", "svm acc ↑"): "0.7000 (n=1)"}
    assert any("2 row(s) of older probe versions" in note for note in first.notes)
    # the copy bbbb holds only version 9: a newer version run on other data does not empty its table
    assert [r.label for r in other_copy.rows] == ["ortho · d (1 epoch)"] and not other_copy.notes
    everything = tables_of(rows, all_versions=True)
    assert sorted(plain(c) for c in everything[0].columns) == ["knn acc (v10) ↑", "knn acc (v9) ↑", "svm acc ↑"]
    assert len(everything) == 2 and not any("older probe versions" in n for n in everything[0].notes)
    # another training of the same model is another thing: a version-10 row of 2 epochs supersedes nothing of 1
    longer = row("dcgan", 0.95, probe_version="10", schedule={"epochs": 2})
    [table, _] = tables_of([*rows[:1], longer, rows[4]])
    assert {r.label for r in table.rows} == {"dcgan · d (1 epoch)", "dcgan · d (2 epochs)"} and not table.notes
    cifar = [row("dcgan", 0.60, probe="svm", probe_version="3", dataset="cifar10"),
             row("dcgan", 0.90, probe="svm", probe_version="2", dataset="mnist")]
    assert [plain(c) for t in tables_of(cifar) for c in t.columns] == ["svm acc ↑", "svm acc ↑"]  # both kept
    # another figure of the probe (100 labels per class) that version 10 has not given yet stays
    budget = row("bigan", 0.70, probe_version="9", metric="acc_1000labels")
    [table, _] = tables_of([*rows, row("bigan", 0.81, probe_version="10"), budget])
    assert {(r.label, plain(c)) for r in table.rows for c in table.columns if c.key in r.cells} >= {  # one version each
        ("bigan · d (1 epoch)", "knn acc ↑"), ("bigan · d (1 epoch)", "knn acc_1000labels ↑")}


def test_columns_of_probes_that_score_features_come_before_those_of_samples():
    [table] = tables_of([row("dcgan", 0.10, probe="memorization", metric="copies", view=None),
                         row("dcgan", 0.90, probe="svm"), row("dcgan", 0.80, probe="knn")])
    # svm's accuracy is its probe's first headline figure (knn's is acc_l2_k1_majority): the headline, first
    assert [c.probe for c in table.columns] == ["svm", "knn", "memorization"]
    assert [c.headline for c in table.columns] == [True, False, False]
    assert table.columns[0].title == "headline: svm acc ↑"


def test_the_headline_column_is_the_first_probes_first_headline_figure():
    [table] = tables_of([row("dcgan", 0.9, probe="svm", metric="acc"), row("dcgan", 0.8, metric="acc_l2_k5_distance"),
                         row("dcgan", 0.7, metric="acc_l2_k1_majority")])
    assert [plain(c) for c in table.columns] == ["knn acc_l2_k1_majority ↑", "knn acc_l2_k5_distance ↑", "svm acc ↑"]
    assert table.columns[0].headline and "| model · view | headline: knn acc\\_l2" in render_md([table])


def test_the_headline_is_the_first_headline_figure_with_a_published_figure_beside_it():
    def reference(probe, metric, dataset):
        return Reference("Someone 2015", "paper", "theirs", dataset, "protocol", probe, metric, 0.8, None, "80%", "")

    rows = [row("dcgan", 0.9, probe="svm", metric="acc", dataset="cifar10"),
            row("dcgan", 0.7, metric="acc_l2_k1_majority", dataset="cifar10")]
    [table] = tables_of(rows, references=[reference("svm", "acc", "cifar10")])
    assert plain(table.columns[0]) == "svm acc ↑" and table.columns[0].headline  # the paper's own measure leads
    [table] = tables_of(rows, references=[reference("svm", "acc", "cifar10"),
                                          reference("knn", "acc_l2_k1_majority", "cifar10")])
    assert plain(table.columns[0]) == "knn acc_l2_k1_majority ↑"  # both published: the feature probes' order
    [table] = tables_of(rows, references=[reference("svm", "acc", "mnist")])  # another dataset's figure: no say
    assert plain(table.columns[0]) == "knn acc_l2_k1_majority ↑"


def test_options_the_metric_name_spells_do_not_split_a_column():
    # knn's k grid is spelled in its metric names (acc_l2_k1_majority): k=1 and k=1,5,20 wrote the same figure
    [table] = tables_of([row("dcgan", 0.90, config={"k": [1], "metric": ["l2"]}, metric="acc_l2_k1_majority"),
                         row("bigan", 0.80, config={"k": [1, 5, 20], "metric": ["l2", "cosine"]},
                             metric="acc_l2_k1_majority")])
    [column] = table.columns
    assert column.title == "headline: knn acc_l2_k1_majority ↑"
    assert {r.label: r.cells[column.key].text() for r in table.rows} == {"dcgan · d (1 epoch)": "0.9000 (n=1)",
                                                                       "bigan · d (1 epoch)": "0.8000 (n=1)"}
    # a probe that declares no such option (here: not installed) keeps every difference apart, in the labels
    [other] = tables_of([row("dcgan", 0.90, probe="elsewhere", config={"k": [1]}),
                         row("bigan", 0.80, probe="elsewhere", config={"k": [1, 5]})])
    assert len(other.columns) == 1
    assert sorted(r.label for r in other.rows) == ["bigan · d (1 epoch)", "dcgan · d (1 epoch; elsewhere k=1)"]


def test_rows_whose_feature_extraction_differs_do_not_share_a_cell():
    [table] = tables_of([row("dcgan", 0.90, feature_config={"bn": "running"}),
                         row("dcgan", 0.50, seed=1, feature_config={"bn": "batch"})])
    assert sorted(r.label for r in table.rows) == ["dcgan · d (1 epoch, features.bn=batch)",
                                                "dcgan · d (1 epoch, features.bn=running)"]


def test_snapshot_rows_are_left_out_by_default_and_never_share_a_cell_with_the_final_weights():
    final = row("dcgan", 0.97, t="2026-01-01")
    snapshot = {**row("dcgan", 0.91, t="2026-02-01"), "details": {"snapshot_epoch": 5}}  # written later
    [table] = tables_of([final, snapshot])
    [column] = table.columns
    assert [r.label for r in table.rows] == ["dcgan · d (1 epoch)"]
    assert only(table, "dcgan · d (1 epoch)").cells[column.key].text() == "0.9700 (n=1)"  # not the later snapshot's 0.91
    assert any("1 row(s) of training snapshots" in note for note in table.notes)
    [table] = tables_of([final, snapshot], snapshots=True)
    cells = {r.label: r.cells[column.key].text() for r in table.rows}
    assert cells == {"dcgan · d (epoch 5 of 1 epoch)": "0.9100 (n=1)", "dcgan · d (1 epoch)": "0.9700 (n=1)"}


def test_shown_snapshots_say_their_epoch_even_when_every_row_of_the_model_is_that_snapshot():
    schedule = {"epochs": 25, "max_steps": None, "batch_size": 128}
    rows = [{**row("ortho", value, view=view, schedule=schedule), "details": {"snapshot_epoch": 10}}
            for view, value in (("d-last", 0.67), ("d-last-rank1", 0.66))]
    [table] = tables_of(rows, snapshots=True)
    assert sorted(r.label for r in table.rows) == ["ortho · d-last (epoch 10 of 25 epochs)",
                                                "ortho · d-last-rank1 (epoch 10 of 25 epochs)"]


def test_a_schedule_still_training_is_shown_as_its_newest_snapshot():
    long = {"epochs": 400, "max_steps": None, "batch_size": 128}
    rows = [{**row("bigan", 0.95, schedule={**long, "steps": 100}), "details": {"snapshot_epoch": 100}},
            {**row("bigan", 0.97, schedule={**long, "steps": 200}), "details": {"snapshot_epoch": 200}},
            {**row("dcgan", 0.90), "details": {"snapshot_epoch": 1}}, row("dcgan", 0.98)]  # dcgan: finished
    [table] = tables_of(rows)
    [column] = table.columns
    assert {r.label: r.cells[column.key].text() for r in table.rows} == {
        "bigan · d (epoch 200 of 400 epochs)": "0.9700 (n=1)", "dcgan · d (1 epoch)": "0.9800 (n=1)"}
    assert any("2 row(s) of training snapshots" in note for note in table.notes)


def test_a_trained_model_row_always_says_how_long_it_trained():
    rows = [row("dcgan", 0.97, schedule={"epochs": 25, "max_steps": None, "batch_size": 128, "steps": 11700}),
            row("dcgan", 0.40, seed=1, schedule={"epochs": 25, "max_steps": 20, "batch_size": 128, "steps": 20}),
            row("bigan", 0.95, schedule={"epochs": 100, "max_steps": None, "batch_size": 128}),
            row("pixels", 0.96, schedule={})]
    [table] = tables_of(rows)
    assert sorted(r.label for r in table.rows) == ["bigan · d (100 epochs)", "dcgan · d (20 steps of 25 epochs)",
                                                   "dcgan · d (25 epochs)", "pixels · d"]


def test_failed_runs_are_counted_and_reruns_keep_the_latest():
    [table] = tables_of([row("dcgan", None, status="diverged", run_id="x"), row("dcgan", None, status="failed", run_id="y"),
                         row("pixels", 0.5, t="2026-01-01"), row("pixels", 0.6, t="2026-02-01")])
    [column] = table.columns
    assert only(table, "pixels · d (1 epoch)").cells[column.key].text() == "0.6000 (n=1)"
    assert only(table, "dcgan · d (1 epoch)").failed == "1 diverged, 1 failed"
    assert "1 diverged, 1 failed" in render_md([table])


def seeds(model, values, **kw):
    return [row(model, v, seed=i, **kw) for i, v in enumerate(values)]


def test_best_is_marked_per_direction_and_target_and_baselines_are_set_apart():
    rows = (seeds("a", [0.90, 0.91, 0.92], metric="acc") + seeds("b", [0.80, 0.81, 0.82], metric="acc")
            + seeds("a", [0.10, 0.09, 0.08], metric="err", higher=False)
            + seeds("b", [0.20, 0.19, 0.18], metric="err", higher=False)
            + seeds("a", [1.30, 1.31, 1.29], metric="ratio", higher=None, target=1.0)
            + seeds("b", [0.95, 0.96, 0.94], metric="ratio", higher=None, target=1.0)
            + [row("pixels", 0.95, metric="acc", schedule={}), row("acgan", 0.99, metric="acc", labels=True)])
    [table] = tables_of(rows)
    best = {c.metric: [r.model for r in table.rows if c.key in r.cells and r.cells[c.key].best] for c in table.columns}
    assert best == {"acc": ["a"], "err": ["a"], "ratio": ["b"]}
    assert [c.title for c in table.columns if c.metric == "ratio"] == ["knn ratio → 1"]
    assert [s for s, _ in table.sections()] == ["model", "baseline"]
    assert "-- baselines --" in render_terminal([table])
    assert "| **0.9100 ± 0.0100 (n=3)** |" in render_md([table])  # not pixels' 0.95 nor acgan†'s 0.99


def test_headline_metrics_by_default_globs_and_all_metrics():
    headline = {"knn": ("acc_l2_k1_*",)}.get
    keep = metric_filter(None, False, headline=lambda p: headline(p) or ())
    assert keep("knn", "acc_l2_k1_majority") and not keep("knn", "acc_cosine_k5_distance")
    assert keep("uninstalled", "anything")  # a probe without headline shows everything
    assert metric_filter(["*cosine*"], False)("knn", "acc_cosine_k5_distance")
    assert not metric_filter(["*cosine*"], False)("knn", "acc_l2_k1_majority")
    assert metric_filter(None, True)("knn", "whatever")


def test_differences_in_words():
    assert differences([{"k": [1, 5, 20], "m": "l2"}, {"k": [1], "m": "l2"}]) == ["k=1,5,20", "k=1"]


def test_references_are_rows_in_their_dataset_table():
    refs = load_references()
    assert any(r.model == "BiGAN" and r.value == 0.9739 and r.metric == "acc_l2_k1_majority" for r in refs)
    [table] = tables_of([row("dcgan", 0.95, metric="acc_l2_k1_majority")], references=refs)
    bigan = only(table, "BiGAN (Donahue et al. 2016)")
    assert bigan.section == "reference" and list(bigan.cells.values())[0].mean == 0.9739
    assert not any(c.best for c in bigan.cells.values())
    ali = [r for r in refs if r.model == "ALI encoder"][0]
    assert (ali.dataset, ali.value, ali.std) == ("svhn", 0.8086, 0.005)  # 19.14 +- 0.50 % error
    assert not any(r.section == "reference" and r.model == "ALI encoder" for r in table.rows)


HOSTILE = ["<script>alert(1)</script>", "a|b", "=1+1"]


def test_hostile_names_are_escaped_in_html_md_and_csv():
    rows = [row(name, 0.5 + i / 10, metric="m|<b>", view="v") for i, name in enumerate(HOSTILE)]
    tables = tables_of(rows)
    page = render_html(tables)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>" not in page
    md = render_md(tables)
    assert "<script>" not in md and "a\\|b" in md
    for line in md.splitlines():
        if line.startswith("| a"):
            assert line.count("|") - line.count("\\|") == 3  # label and one value: the pipe does not split a cell
    records = list(csv.DictReader(io.StringIO(render_csv(tables))))
    assert {r["model"] for r in records} == {"<script>alert(1)</script>", "a|b", "'=1+1"}
    assert all(not r["row"].startswith(("=", "+", "-", "@")) for r in records)
    assert escape_csv("@SUM(A1)") == "'@SUM(A1)" and escape_csv(-0.5) == -0.5
    assert escape_latex("a_b & 50% #1") == r"a\_b \& 50\% \#1"


def test_html_has_no_network_resources():
    page = render_html(tables_of([row("dcgan", 0.9)]))
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)|url\(([^)]*)\)""", page)
    assert not [u for pair in urls for u in pair if u and not u.startswith("data:")]
    assert not re.search(r"https?://|[\"'(]//", page)


@pytest.mark.parametrize("store", ["results/archive/protocol-v1.jsonl", "results/reference"])
def test_committed_store_default_table_fits_120_columns_and_md_is_one_table_per_dataset(store):
    from ganbench.reports.leaderboard import metric_filter as mf
    from ganbench.reports.formats import render
    from ganbench.store.jsonl import load_results

    frame = load_results(ROOT / store)
    if frame.empty:
        pytest.skip(f"{store} holds no rows yet")
    tables = build_tables(frame, mf(None, False), load_references())
    text = render(tables, "table", width=120)
    assert max(len(line) for line in text.splitlines()) <= 120
    copies = frame[["dataset", "dataset_fingerprint"]].drop_duplicates()  # e.g. mnist and mnist test=heldout
    assert len(tables) == len(copies) >= 1
    md = render(tables, "md")
    headers = [line[4:] for line in md.splitlines() if line.startswith("### ")]
    assert headers == [t.title for t in tables]
    assert sorted({h.split(" (")[0] for h in headers}) == sorted(frame["dataset"].unique())
    wide = build_tables(frame, mf(None, True), load_references())  # every metric: still 120 columns
    assert max(len(line) for line in render(wide, "table").splitlines()) <= 120


def test_cli_formats(tmp_path):
    from click.testing import CliRunner

    from ganbench.cli.app import cli

    import json
    template = json.loads((ROOT / "results" / "archive" / "protocol-v1.jsonl").read_text().splitlines()[0])
    lines = [json.dumps({**template, "model": "=1+1", "seed": seed, "value": value}) for seed, value in ((0, 0.9), (1, 0.8))]
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "results.jsonl").write_text("\n".join(lines) + "\n")
    outputs = tmp_path / "out"  # never into the store's folder, nor below it
    for fmt in ("table", "md", "csv", "latex", "html"):
        out = CliRunner().invoke(cli, ["leaderboard", str(tmp_path / "store"), "--all-metrics", "--no-references", "--format", fmt,
                                       "--output", str(outputs / f"lb.{fmt}")])
        assert out.exit_code == 0, out.output
    for fmt in ("table", "md", "latex", "html"):
        assert "0.8500 ± 0.0707 (n=2)" in (outputs / f"lb.{fmt}").read_text().replace("$\\pm$", "±")
    assert "\\toprule" in (outputs / "lb.latex").read_text()
    assert "'=1+1" in (outputs / "lb.csv").read_text()


def test_long_grids_in_headers_are_shortened_unless_that_hides_a_difference():
    grid, wide = [1e-5, 1e-4, 1e-3, 0.01, 0.1, 1.0], [1e-5, 1e-4, 1e-3, 0.01, 0.1, 1.0, 10.0, 100.0]
    assert differences([{"c_grid": grid}, {"c_grid": wide}]) == ["c_grid=1e-05…1 (6 values)",
                                                                 "c_grid=1e-05…100 (8 values)"]
    same_ends = [1e-5, 1e-3, 1e-2, 0.1, 1.0, 100.0]  # same ends and length as `other`: written out in full
    other = [1e-5, 1e-4, 1e-2, 0.1, 1.0, 100.0]
    assert differences([{"c_grid": same_ends}, {"c_grid": other}]) == ["c_grid=1e-05,0.001,0.01,0.1,1,100",
                                                                       "c_grid=1e-05,0.0001,0.01,0.1,1,100"]


def test_a_heldout_copy_of_a_dataset_says_so_in_its_title():
    official = row("pixels", 0.9691, fingerprint="aaaa")
    heldout = {**row("pixels", 0.9720, fingerprint="bbbb"), "details": {"dataset": {"test_split": "heldout"}}}
    assert [t.title for t in tables_of([official, heldout])] == ["mnist (data aaaa)", "mnist (test=heldout, data bbbb)"]
    assert [t.title for t in tables_of([heldout])] == ["mnist (test=heldout, data bbbb)"]


def test_a_probe_not_installed_keeps_its_recorded_headline_and_its_place_after_the_feature_probes(fresh_plugins):
    """The rows say what the probe's spec said (details.probe_headline) and that it scores no features (no view):
    its columns are its headline metrics, after every column of a probe that scores features."""
    recorded = {"probe_headline": ["gain_*"], "probe_named_in_metric": []}
    elsewhere = [{**row("dcgan", v, metric=m, probe="elsewhere", view=None), "details": recorded}
                 for m, v in (("acc_real", 0.9), ("gain_a", 0.01), ("gain_b", -0.02))]
    knn = [row("dcgan", 0.95, metric="acc_l2_k1_majority"), row("dcgan", 0.96, metric="acc_l2_k5_distance"),
           row("dcgan", 0.93, metric="acc_cosine_k5_majority")]
    assert fresh_plugins.get_registry().names("probe").count("elsewhere") == 0
    [table] = build_tables(pd.DataFrame(elsewhere + knn), metric_filter(None, False))
    assert [plain(c) for c in table.columns] == ["knn acc_l2_k1_majority ↑", "knn acc_l2_k5_distance ↑",
                                                 "elsewhere gain_a ↑", "elsewhere gain_b ↑"]
    # rows written before specs were recorded: every metric of a probe not installed, still after knn's
    older = [{**r, "details": {}} for r in elsewhere]
    [table] = build_tables(pd.DataFrame(older + knn), metric_filter(None, False))
    assert [plain(c) for c in table.columns][2:] == ["elsewhere acc_real ↑", "elsewhere gain_a ↑", "elsewhere gain_b ↑"]


def test_the_committed_leaderboard_is_regenerated_the_same_without_the_plugin_packages(fresh_plugins, monkeypatch,
                                                                                      tmp_path):
    """results/LEADERBOARD.md, from the rows alone: byte-identical with the plugins/ packages loaded and with
    none loaded (GANBENCH_LOAD_PLUGINS empty), though augment's and wgan-gp's rows are in it."""
    from click.testing import CliRunner

    from ganbench.cli.app import cli

    committed = (ROOT / "results" / "LEADERBOARD.md").read_bytes()
    for loaded, installed in ((None, True), ("", False)):
        if loaded is None:
            monkeypatch.delenv("GANBENCH_LOAD_PLUGINS", raising=False)
        else:
            monkeypatch.setenv("GANBENCH_LOAD_PLUGINS", loaded)
        fresh_plugins.reset_for_tests()
        registry = fresh_plugins.get_registry()
        assert ("augment" in registry.names("probe"), "wgan-gp" in registry.names("model")) == (installed, installed)
        out = tmp_path / f"loaded-{installed}.md"
        result = CliRunner().invoke(cli, ["leaderboard", str(ROOT / "results" / "reference"), "--format", "md",
                                          "--output", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == committed, (
            f"plugins loaded: {installed}; regenerate with `ganbench leaderboard results/reference --format md "
            f"--output results/LEADERBOARD.md`")
