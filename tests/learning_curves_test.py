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


def _mcnemar(a_only: int, b_only: int, both: int = 600, n: int = 1000):
    """McNemar on n test examples: ``both`` right for A and B, ``a_only`` right for A alone, ``b_only`` for B."""
    import numpy as np
    from ganbench.reports.compare import mcnemar

    a = np.zeros(n, bool)
    b = np.zeros(n, bool)
    a[:both] = b[:both] = True
    a[both:both + a_only] = True
    b[both + a_only:both + a_only + b_only] = True
    return mcnemar(a, b)


def test_a_last_step_is_called_rising_only_where_the_paired_test_says_so():
    rising = lc.last_step_words({10: [0.60], 20: [0.66]}, _mcnemar(a_only=0, b_only=60))
    assert rising.startswith("still rising from epoch 10 to 20 (+0.0600, p = ")
    flat = lc.last_step_words({20: [0.604], 25: [0.606]}, _mcnemar(a_only=4, b_only=6))
    assert flat.startswith("flat from epoch 20 to 25 (+0.0020") and "no difference the paired test can tell" in flat
    falling = lc.last_step_words({1: [0.66], 2: [0.60]}, _mcnemar(a_only=60, b_only=0))
    assert falling.startswith("falling from epoch 1 to 2")
    assert "not tested" in lc.last_step_words({1: [0.5], 2: [0.6]}, None)


def test_the_y_range_shows_the_published_line_of_a_curve_drawn_and_no_other():
    lines = {("dcgan (25-epoch schedule)", "d"): {10: [0.68], 25: [0.71]}}
    flat = {("pixels", "pixels"): [0.41]}
    drawn = lc.drawn_values(lines, flat, {}, {("dcgan", "d"): 0.828, ("bigan", "d"): 0.973})
    assert sorted(drawn) == [0.41, 0.68, 0.71, 0.828]
