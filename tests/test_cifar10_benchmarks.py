"""The CIFAR-10 schedule's scripts pick the schedule's rows and no other, and say what they hold."""

import importlib.util
from pathlib import Path

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


schedule = _load("cifar10_schedule")
pairwise = _load("pairwise_cifar10")


def _row(model="dcgan", seed=0, value=0.6, view="d", probe="svm", metric="acc", epochs=10, created="2026-12-07T10",
         width=64, at_epoch=None, predictions="p.npz", total_seconds=3600.0, **probe_config):
    config = {"labels_per_class": 0, "standardize": False, **probe_config}
    return {"dataset": "cifar10", "model": model, "seed": seed, "value": value, "feature_view": view, "probe": probe,
            "metric": metric, "status": "ok", "created_at": created, "at_epoch": at_epoch, "predictions": predictions,
            "model_config": {"width": width, "lr": 0.0002, "beta1": 0.5, "nz": 100},
            "schedule": {"epochs": epochs, "batch_size": 128, "steps": 390 * (epochs or 0)},
            "probe_config": config, "details": {"training": {"total_seconds": total_seconds}}}


def test_the_schedule_table_takes_the_final_ten_epoch_rows_of_each_seed_only():
    rows = [
        _row(seed=0, value=0.60), _row(seed=1, value=0.70, total_seconds=7200.0),
        _row(seed=0, value=0.50, created="2026-12-07T09"),  # an older row of seed 0: the newer stands
        _row(seed=2, value=0.99, epochs=25),  # the long run
        _row(seed=2, value=0.98, at_epoch=5),  # a snapshot
        _row(seed=2, value=0.97, width=256),
        _row(seed=2, value=0.96, standardize=True),  # standardised features: not the headline
    ]
    found = schedule.schedule_rows(rows, "dcgan", {})
    assert {r["value"] for r in found} == {0.60, 0.70, 0.50, 0.96}
    assert schedule.cell(found, "d", "svm", "acc", schedule.COLUMNS[0][3]) == "0.6500 ± 0.0707 (n=2)"
    assert schedule.hours(found) == "seed 0: 1.00 h, seed 1: 2.00 h, seed 2: 1.00 h"


def test_one_seed_is_called_one_seed():
    rows = [_row(model="acgan", value=0.61234)]
    assert schedule.cell(rows, "d", "svm", "acc", schedule.COLUMNS[0][3]) == "0.6123 (one seed)"


def test_the_tables_list_a_model_once_with_its_views(tmp_path, monkeypatch):
    rows = [_row(view="d", value=0.6), _row(view="d-last", value=0.55),
            _row(view=None, probe="quality", metric="fid", value=7.5, space="classifier")]
    monkeypatch.setattr(schedule, "read_rows", lambda store, warn: rows)
    table_schedule, figures = schedule.tables(tmp_path)
    assert len(table_schedule) == 3 and "| dcgan | 0 |" in table_schedule[2] and "7.5000 (one seed)" in table_schedule[2]
    assert [line.split(" | ")[0] for line in figures[2:]] == ["| dcgan · d", "| dcgan · d-last"]


def test_a_pairwise_arm_is_one_row_per_seed_with_predictions():
    rows = [_row(seed=0, value=0.6), _row(seed=0, value=0.65, created="2026-12-07T11"),
            _row(seed=1, value=0.7, predictions=None), _row(seed=2, value=0.8, epochs=25)]
    arm = pairwise.arm_rows(rows, pairwise.ARMS[0], "acc")
    assert [(r["seed"], r["value"]) for r in arm] == [(0, 0.65)]
    budget = [_row(metric="acc_4000labels", labels_per_class=400, repeats=5),
              _row(seed=1, metric="acc_4000labels", labels_per_class=400, repeats=1)]
    assert [r["seed"] for r in pairwise.arm_rows(budget, pairwise.ARMS[0], "acc_4000labels")] == [0]


def test_the_baseline_arm_is_kmeans_on_standardised_features_at_any_schedule():
    rows = [_row(model="kmeans", view="kmeans", epochs=None, standardize=True, seed=1),
            _row(model="kmeans", view="kmeans", epochs=None, seed=2)]
    assert [r["seed"] for r in pairwise.arm_rows(rows, pairwise.BASELINE, "acc", baseline=True)] == [1]


def test_a_p_at_the_bootstraps_floor_is_said_as_such():
    assert pairwise.p_text(pairwise.BOOTSTRAP_FLOOR, "paired bootstrap over test examples") == "≤ 0.0002 (floor)"
    assert pairwise.p_text(pairwise.BOOTSTRAP_FLOOR, "McNemar's exact test") == "0.0002"  # an exact test has no floor
    assert pairwise.p_text(0.031) == "0.031"
    assert pairwise.p_text(0.0) == "< 1e-300"
