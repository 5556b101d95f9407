import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("lc", Path(__file__).parent.parent / "benchmarks" / "learning_curves.py")
lc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lc)


def test_shared_ylim_pads_the_span_of_all_values():
    assert lc.shared_ylim([0.90, 0.98, 0.95]) == (0.90 - 0.004, 0.98 + 0.004)


def test_mean_std_over_seeds():
    m, s = lc.mean_std([0.9, 0.92, 0.94])
    assert abs(m - 0.92) < 1e-12 and abs(s - 0.02) < 1e-12
    assert lc.mean_std([0.5]) == (0.5, 0.0)
