"""The leaderboard's marks: best only where a paired test says so, ties, n=1, label-draw spread, C at a grid edge,
rounded CSV; and the committed store's tables (one column per metric, no bold on a tie)."""

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ganbench.store import predictions
from ganbench.reports.compare import mcnemar
from ganbench.reports.leaderboard import build_tables, load_references, metric_filter
from ganbench.reports.compare import _competes, _p_value
from ganbench.reports.formats import render_csv, render_md
from ganbench.store.jsonl import append_rows, load_results

ROOT = Path(__file__).resolve().parents[1]
N = 1000
LABELS = np.arange(N) % 10


def stored(model, right, seed=0, trains=True, labels=False, keep=True, metric="acc_l2_k1_majority", **extra):
    """A knn row of mnist whose predictions are right on the first ``right`` test examples (or where ``right`` says)."""
    correct = np.arange(N) < right if np.isscalar(right) else np.asarray(right, bool)
    out = {"schema_version": 2, "run_id": f"{model}-{seed}", "model": model, "model_version": "1", "probe": "knn",
           "probe_version": "1", "probe_config": {"k": [1]}, "dataset": "mnist", "dataset_fingerprint": "f",
           "feature_view": "d", "seed": seed, "metric": metric, "value": float(correct.mean()), "status": "ok",
           "higher_is_better": True, "trains_on_labels": labels, "created_at": "2026-01-01",
           "schedule": {"epochs": 25} if trains else {}, "model_config": {}, **extra}
    if keep:
        predicted = np.where(correct, LABELS, (LABELS + 1) % 10)
        out[predictions.PENDING_KEY] = predictions.Pending(predicted[None].astype(np.uint8), LABELS.astype(np.uint8), "t")
    return out


def table_of(tmp_path, rows):
    append_rows(tmp_path, rows)
    [table] = build_tables(load_results(tmp_path), metric_filter(None, True), store_dir=tmp_path)
    return table


def marks(table):
    [column] = [c for c in table.columns if c.metric == "acc_l2_k1_majority"]
    return {r.model: ("best" if r.cells[column.key].best else "tied" if r.cells[column.key].tied else "")
            for r in table.rows if column.key in r.cells}


def shifted(right_a, only_a, only_b):
    """Outcomes of a row that differs from ``np.arange(N) < right_a`` on only_a + only_b examples."""
    b = np.arange(N) < right_a
    b[:only_a] = False
    b[right_a:right_a + only_b] = True
    return b


def test_the_best_is_bold_only_when_mcnemar_says_it_beats_the_runner_up(tmp_path):
    runner_up = shifted(900, only_a=30, only_b=5)  # 875 right, 30 + 5 discordant against "top"
    assert mcnemar(np.arange(N) < 900, runner_up).p < 0.05
    table = table_of(tmp_path / "clear", [stored("top", 900), stored("second", runner_up),
                                          stored("pixels", 990, trains=False), stored("acgan", 995, labels=True),
                                          stored("random-d", 999)])  # a model without a generator, even trained
    assert marks(table) == {"top": "best", "second": "", "pixels": "", "acgan": "", "random-d": ""}
    assert "| **0.9000 (n=1)** |" in render_md([table])

    close = shifted(900, only_a=12, only_b=10)  # 898 right: McNemar p = 0.83, a tie
    far = shifted(900, only_a=60, only_b=0)
    table = table_of(tmp_path / "tie", [stored("top", 900), stored("close", close), stored("far", far)])
    assert marks(table) == {"top": "tied", "close": "tied", "far": ""}
    md = render_md([table])
    assert "**" not in md.split("\n\n")[1] and "0.9000 (n=1) ≈" in md and "0.8980 (n=1) ≈" in md


def test_a_row_with_other_probe_settings_is_never_marked_best(tmp_path):
    """One headline protocol: a row probed with settings other than the column's (svm standardize=True) is
    shown, labelled with them, and never bold, even where it is ahead by a paired test."""
    rows = [stored("top", 900), stored("second", shifted(900, only_a=30, only_b=5)),
            stored("top", 990, probe_config={"k": [1], "standardize": True})]
    table = table_of(tmp_path, rows)
    labels = {r.label: r for r in table.rows}
    other = next(r for label, r in labels.items() if "standardize=True" in label)
    assert not any(cell.best or cell.tied for cell in other.cells.values())
    assert any(cell.best for cell in labels["top · d (25 epochs)"].cells.values()), list(labels)


def test_rendering_runs_no_test(tmp_path, monkeypatch):
    """The paired tests run while the tables are built (ganbench.reports.compare.best_marks); rendering only reads."""
    runner_up = shifted(900, only_a=30, only_b=5)
    table = table_of(tmp_path, [stored("top", 900), stored("second", runner_up)])
    from ganbench.reports import compare, formats

    def no_test(*args, **kwargs):
        raise AssertionError("a statistical test ran while rendering")

    monkeypatch.setattr(compare, "compare_rows", no_test)
    monkeypatch.setattr(compare, "mcnemar", no_test)
    for render in (formats.render_md, formats.render_csv, formats.render_latex, formats.render_html):
        assert "0.9000" in render([table])
    assert "| **0.9000 (n=1)** |" in formats.render_md([table])


def test_without_predictions_one_seed_is_no_mark_and_seeds_decide_by_welch(tmp_path):
    table = table_of(tmp_path / "one", [stored("top", 900, keep=False), stored("second", 880, keep=False)])
    assert marks(table) == {"top": "", "second": ""}
    assert any(n.startswith("No best marked in knn acc_l2_k1_majority ↑") for n in table.notes)
    rows = [stored("top", v, seed=s, keep=False) for s, v in enumerate((900, 905, 902))]
    rows += [stored("second", v, seed=s, keep=False) for s, v in enumerate((850, 855, 852))]
    table = table_of(tmp_path / "seeds", rows)
    assert marks(table) == {"top": "best", "second": ""}


def test_n_1_the_spread_over_label_draws_and_c_at_the_grid_edge_are_shown(tmp_path):
    budget = stored("dcgan", 900, keep=False, metric="acc_1000labels", stderr=0.001,
                    details={"draws": 10, "std": 0.0123, "c_at_grid_edge": "top"})
    table = table_of(tmp_path, [budget, stored("dcgan", 910, keep=False)])
    row = table.rows[0]
    texts = {c.metric: row.cells[c.key].text() for c in table.columns}
    assert texts == {"acc_1000labels": "0.9000 ± 0.0123 (n=1, s.d. of 10 draws) ‡",
                     "acc_l2_k1_majority": "0.9100 (n=1)"}


def test_csv_is_rounded_like_the_other_formats():
    frame = pd.DataFrame([{**stored("dcgan", 0, keep=False, seed=s), "value": v} for s, v in
                          enumerate((0.123456789, 0.2))])
    records = list(csv.DictReader(io.StringIO(render_csv(build_tables(frame, metric_filter(None, True))))))
    assert (records[0]["mean"], records[0]["std"], records[0]["n"]) == ("0.1617", "0.0541", "2")


@pytest.fixture(scope="module")
def reference_tables():
    frame = load_results(ROOT / "results" / "reference")
    return build_tables(frame, metric_filter(None, False), load_references(), store_dir=ROOT / "results" / "reference")


def test_the_committed_leaderboard_has_one_column_per_metric_and_no_setting_in_a_header(reference_tables):
    md = render_md(reference_tables)
    headers = [line for line in md.splitlines() if line.startswith("| model · view")]
    assert headers and not any(word in h for h in headers for word in ("c\\_grid", "standardize", "bn\\_statistics"))
    for table in reference_tables:
        pairs = [(c.probe, c.metric, c.probe_version) for c in table.columns]  # a version's own column at most
        assert len(pairs) == len(set(pairs)), table.title
        assert table.columns[0].headline and sum(c.headline for c in table.columns) == 1
        for row in table.rows:  # a published figure stands in one column of its metric only
            if row.section == "reference":
                assert len(row.cells) == len({(k[0], k[1]) for k in row.cells})


def test_the_committed_leaderboard_bolds_no_tie(reference_tables):
    for table in reference_tables:
        for column in table.columns:
            ranked = sorted(((r.cells[column.key].mean, r) for r in table.rows if column.key in r.cells
                             and _competes(r)),
                            key=lambda x: -x[0] if column.higher_is_better is not False else x[0])
            for position, (_, row) in enumerate(ranked):
                if row.cells[column.key].best:
                    assert position == 0
                    p = _p_value(column, row.cells[column.key], ranked[1][1].cells[column.key],
                                 ROOT / "results" / "reference", 2000)
                    assert p is not None and p < 0.05, (table.title, column.title, row.label)


def test_only_models_declared_gans_compete_for_best(tmp_path):
    """A VAE with a generator declared "generative" (ModelSpec.category, as its rows record it) is shown among the
    trained models but never marked best, even above the GANs; recorded "gan", the same rows would be."""
    runner_up = shifted(900, only_a=30, only_b=5)
    for category, expected in (("generative", {"vae": "", "top": "best", "second": ""}),
                               ("gan", {"vae": "best", "top": "", "second": ""})):
        vae = stored("vae", 990, details={"model_category": category})
        table = table_of(tmp_path / category, [vae, stored("top", 900), stored("second", runner_up)])
        assert marks(table) == expected, category
        assert {r.model: r.section for r in table.rows} == {"vae": "model", "top": "model", "second": "model"}
    baseline = table_of(tmp_path / "declared-baseline", [stored("trained-baseline", 990,
                                                                details={"model_category": "baseline"})])
    assert [r.section for r in baseline.rows] == ["baseline"]  # trained, but declared a baseline
