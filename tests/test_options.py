import pytest

from ganbench.system.errors import UsageError
from ganbench.api.options import Option, resolve_options, split_assignments

DECLARED = [
    Option("k", "ints", [1], "neighbours", minimum=1),
    Option("metric", "strs", ["l2"], "distances", choices=("l2", "cosine")),
    Option("lr", "float", 2e-4, "learning rate"),
    Option("bn", "bool", True, "batch norm"),
    Option("width", "int", 64, "width", minimum=1),
]


def test_defaults_then_overrides_are_typed():
    got = resolve_options(DECLARED, {"k": "1, 5,20", "lr": "1e-3", "bn": "no", "metric": "cosine,l2"}, "probe 'x'")
    assert got == {"k": [1, 5, 20], "metric": ["cosine", "l2"], "lr": 1e-3, "bn": False, "width": 64}


@pytest.mark.parametrize(
    "given, expected",
    [
        ({"k": "a"}, "Bad value 'a' for option 'k' of probe 'x': expected integers separated by commas"),
        ({"k": "0"}, "must be at least 1"),
        ({"metric": "l3"}, "expected one of l2, cosine"),
        ({"bn": "maybe"}, "expected true or false"),
        ({"widht": "3"}, "Unknown option 'widht' for probe 'x'. Did you mean 'width'?"),
        ({"k": "1,,2"}, "expected integers"),
    ],
)
def test_bad_values_name_the_option_and_what_was_expected(given, expected):
    with pytest.raises(UsageError) as err:
        resolve_options(DECLARED, given, "probe 'x'")
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_assignments_need_an_equals_sign():
    assert split_assignments(["a=1", "b=x=y"], "--model-opt") == [("a", "1"), ("b", "x=y")]
    with pytest.raises(UsageError, match="expected KEY=VALUE"):
        split_assignments(["width"], "--model-opt")
