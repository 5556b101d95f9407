"""The store reader never fails on a line's content and never loses a valid row."""

import json
import string
import warnings

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganbench.cli.app import cli
from ganbench.store.schema import FIELDS, SCHEMA_VERSION
from ganbench.store.jsonl import StoreWarning, append_rows, read_rows, store_path


def good_row(i: int, **extra) -> dict:
    row = {f: None for f in FIELDS}
    row.update(schema_version=SCHEMA_VERSION, run_id="r", created_at=f"2024-01-01T00:00:{i % 60:02d}+00:00",
               model="dcgan", model_version="1", probe="knn", probe_version="1", probe_config={"k": 1},
               dataset="mnist-5k", dataset_fingerprint="abc", seed=0, metric=f"acc{i}", value=0.5 + i / 1000,
               status="ok", trains_on_labels=False, details={})
    row.update(extra)
    return row


FOREIGN_LINES = [
    json.dumps({**good_row(0), "schema_version": {"a": 1}}),  # unhashable: crashed `results`
    "[" * 100_000 + "]" * 100_000,  # RecursionError in json.loads
    json.dumps(good_row(0, value="0.75")),  # a string figure: crashed `leaderboard`
    json.dumps(good_row(0, model=["dcgan"])),  # a model that is not a string: crashed `leaderboard`
    json.dumps(good_row(0, model={"name": "dcgan"})),
    json.dumps(good_row(0, schema_version=True)),  # True == 1 in Python, but it is no version
    json.dumps(good_row(0, status=["ok"])),
    '{"schema_version": 1, "run_id": "r", "model": "m", "probe": "p", "dataset": "d", "metric": "x", '
    '"value": NaN, "status": "ok"}',  # Python's json reads NaN; never an ok figure
    json.dumps(good_row(0, seed="0")),
    json.dumps(good_row(0, probe_config=[1, 2])),
    "1" * 5000,  # an integer too long for Python to convert
    "\xff\xfe not utf-8",
]


def write_store(folder, lines):
    with open(store_path(folder), "wb") as f:
        for line in lines:
            f.write(line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line)
            f.write(b"\n")


def test_foreign_lines_are_skipped_with_their_line_number(tmp_path):
    lines = [json.dumps(good_row(1))] + FOREIGN_LINES + [json.dumps(good_row(2))]
    write_store(tmp_path, [line.encode("latin-1") if line.startswith("\xff") else line for line in lines])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = read_rows(tmp_path)
    assert [r["metric"] for r in rows] == ["acc1", "acc2"]
    messages = [str(w.message) for w in caught if issubclass(w.category, StoreWarning)]
    assert [m.split(":")[1] for m in messages] == [str(n) for n in range(2, 2 + len(FOREIGN_LINES))]
    assert "unknown schema_version {'a': 1}" in messages[0]
    assert "nested too deeply" in messages[1]
    assert "field 'value' is string, expected float|null" in messages[2]
    assert "field 'model' is array, expected str" in messages[3]
    assert "field 'value' is nan" in messages[7]


def test_results_and_leaderboard_exit_0_on_foreign_lines(tmp_path):
    lines = [json.dumps(good_row(1))] + FOREIGN_LINES[:-1]
    write_store(tmp_path, lines)
    for command in (["results"], ["results", "--format", "csv"], ["results", "--format", "json"],
                    ["leaderboard"], ["leaderboard", "--format", "md"]):
        result = CliRunner().invoke(cli, [*command, str(tmp_path)])
        assert result.exit_code == 0, (command, result.output)
        assert "0.501" in result.output, (command, result.output)


def test_a_failed_row_may_leave_unknown_fields_null_but_an_ok_row_needs_its_value(tmp_path):
    failed = good_row(1, status="failed", metric=None, value=None, dataset_fingerprint=None, error="boom")
    ok_without_value = good_row(2, value=None)
    write_store(tmp_path, [json.dumps(failed), json.dumps(ok_without_value)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = read_rows(tmp_path)
    assert [r["status"] for r in rows] == ["failed"]
    assert "an ok row without a value" in str(caught[0].message)


def test_an_unreadable_store_is_one_line_exit_2(tmp_path):
    store_path(tmp_path).mkdir()  # a folder where the file should be
    result = CliRunner().invoke(cli, ["results", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.startswith("Error: Cannot read the result store") and len(result.output.splitlines()) == 1


# -- property: arbitrary lines between valid rows ---------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=8,
)
row_like = st.fixed_dictionaries(
    {},
    optional={name: json_values for name in FIELDS} | {"schema_version": st.sampled_from([1, 1.0, True, "1", 2]) | json_values},
)
junk_line = st.one_of(
    # no lone surrogates: write_store cannot encode them (surrogateescape takes only U+DC80-U+DCFF)
    st.text(alphabet=st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=60),
    json_values.map(json.dumps),
    row_like.map(lambda r: json.dumps(r)),
    row_like.map(lambda r: json.dumps({**good_row(0), **r})),
    st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.booleans(), junk_line), max_size=12))
def test_arbitrary_lines_never_stop_the_reader_nor_hide_a_valid_row(tmp_path, lines):
    folder = tmp_path / "store"
    folder.mkdir(exist_ok=True)
    valid, written = [], []
    for i, (valid_first, junk) in enumerate(lines):
        row = good_row(i)
        pair = [json.dumps(row), junk] if valid_first else [junk, json.dumps(row)]
        written += pair
        valid.append(row)
    write_store(folder, written)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = read_rows(folder)
    remaining = iter(rows)  # every valid row comes back, in order (a subsequence of what is read)
    assert all(any(r == v for r in remaining) for v in valid)
    for r in rows:
        assert isinstance(r["model"], str) and r["status"] in ("ok", "failed", "diverged")
        if r["status"] == "ok":
            assert isinstance(r["value"], (int, float)) and not isinstance(r["value"], bool)
