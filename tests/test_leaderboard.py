import pandas as pd

from ganbench.leaderboard import LABEL_MARK, leaderboard


def row(model, value, seed=0, probe_version="1", fingerprint="aaaa", status="ok", labels=False, config=None, t="2026-01-01"):
    return {"model": model, "feature_view": "d", "dataset": "mnist", "dataset_fingerprint": fingerprint,
            "probe": "knn", "probe_version": probe_version, "probe_config": config or {"k": [1]},
            "metric": "acc", "value": value, "seed": seed, "status": status, "trains_on_labels": labels, "created_at": t}


def test_seeds_average_and_labels_are_marked():
    board = leaderboard(pd.DataFrame([row("dcgan", 0.90, 0), row("dcgan", 0.94, 1), row("acgan", 0.99, labels=True)]))
    assert board.loc[("dcgan", "d"), "mnist knn acc"] == "0.9200 ± 0.0283 (2)"
    assert board.loc[(f"acgan {LABEL_MARK}", "d"), "mnist knn acc"] == "0.9900"


def test_different_probe_versions_fingerprints_and_configs_never_share_a_column():
    frame = pd.DataFrame([
        row("dcgan", 0.90), row("pixels", 0.80, probe_version="2"),
        row("bigan", 0.70, fingerprint="bbbb"), row("ortho", 0.60, config={"k": [5]}),
    ])
    board = leaderboard(frame)
    assert len(board.columns) == 4
    filled = (board != "").sum(axis=0)
    assert (filled == 1).all()


def test_failed_rows_and_reruns():
    frame = pd.DataFrame([row("dcgan", None, status="diverged"), row("pixels", 0.5, t="2026-01-01"),
                          row("pixels", 0.6, t="2026-02-01")])
    board = leaderboard(frame)
    assert list(board.index) == [("pixels", "d")]
    assert board.iloc[0, 0] == "0.6000"  # the latest run of a seed stands
