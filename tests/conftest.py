"""Shared fixtures: a fresh plugin manager per test that needs one, no writes to the user cache, small CPU kernels;
and, before any test is collected, a torch / torchvision pair that does not match said in one line."""

import pytest

from ganbench import plugins


def pytest_configure(config):
    """A torchvision built for another torch fails every test module that imports it, each with a traceback of
    ``operator torchvision::nms does not exist``: stop before collecting, with the product's one line and fix."""
    from ganbench.system.install_check import mismatch_message

    try:
        import torchvision  # noqa: F401 -- loads its compiled operators, where a mismatched pair fails
    except RuntimeError as exc:
        message = mismatch_message(exc)
        if message is None:
            raise
        pytest.exit(message, returncode=2)
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
    from ganbench.api import testing  # torch: imported here, so that pytest_configure's check runs first

    with testing.small_cpu_kernels():
        yield
