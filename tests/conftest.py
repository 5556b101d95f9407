"""Shared fixtures: a fresh plugin manager per test that needs one, no writes to the user cache, small CPU kernels."""

import pytest

from ganbench import plugins

from ganbench.api import testing
@pytest.fixture
def fresh_plugins(monkeypatch):
    """Plugins loaded anew inside the test (and again, as before, after it)."""
    plugins.reset_for_tests()
    yield plugins
    plugins.reset_for_tests()


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """No test writes to the user's cache."""
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def small_cpu_kernels():
    """Tiny networks on one thread of plain kernels (:func:`ganbench.api.testing.small_cpu_kernels`)."""
    with testing.small_cpu_kernels():
        yield
