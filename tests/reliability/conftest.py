import pytest

from ganbench.jobs import run as run_module


@pytest.fixture
def nothing_loads(monkeypatch):
    """A refusal must come before any dataset or model is loaded: loading fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model or dataset was loaded before the input was checked")
    monkeypatch.setattr(run_module, "load_dataset", refuse)
    monkeypatch.setattr(run_module, "prepare_model", refuse)
