"""A torch and torchvision that were not built for each other, said in one line with the fix.

pip can leave a torchvision whose compiled operators do not match the torch
beside it (upgrading one without the other, or mixing the CPU and CUDA
indexes); importing it then fails with ``RuntimeError: operator
torchvision::nms does not exist``, far from anything that says how to fix it. torchvision is not imported up
front to check (it takes seconds); the error is recognised where it arises.
"""

from __future__ import annotations

from importlib import metadata

from ganbench.system.errors import UsageError

MISMATCH_SIGNS = ("torchvision::nms does not exist", "Couldn't load custom C++ ops")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def mismatch_message(exc: BaseException) -> str | None:
    """The one line for ``exc`` when it is torchvision failing to load its operators, else None."""
    if not isinstance(exc, RuntimeError) or not any(sign in str(exc) for sign in MISMATCH_SIGNS):
        return None
    return (f"torch {_version('torch')} and torchvision {_version('torchvision')} are not a matching pair "
            f"(torchvision's compiled operators do not load: {str(exc).splitlines()[0][:80]}). Reinstall both "
            f"together from one index, e.g. pip install --force-reinstall torch torchvision --index-url "
            f"https://download.pytorch.org/whl/cpu (or the CUDA index you installed torch from).")


def stop_if_broken_install(exc: BaseException) -> None:
    """Raise the one-line UsageError when ``exc`` is a torch / torchvision mismatch: no job can run then, so the
    run stops instead of storing a failed row per job (where a plugin first imports torchvision, any time)."""
    message = mismatch_message(exc)
    if message is not None:
        raise UsageError(message) from None
