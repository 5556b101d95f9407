"""Errors that the CLI turns into one line on stderr and exit code 2.

Anything a user can fix (a misspelled name, a bad option value, a missing or
damaged dataset) raises :class:`UsageError` with a message that says which
name or file, what was expected and how to fix it. Everything else is a bug
and keeps its traceback.
"""


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit code 2."""


class DataError(UsageError):
    """A dataset that is missing, truncated or corrupt."""


class RegistryError(UsageError):
    """An unknown name, or two plugins claiming the same name."""


class DivergedError(RuntimeError):
    """Training stopped by the divergence guard; the row gets status ``diverged``.

    A model's ``train_step`` may raise ``DivergedError(message)`` itself when a
    sanity check of its own fails (e.g. a critic estimate past any plausible
    bound); the training loop adds the step and ends the run as ``diverged``.
    """


class DiskFullError(UsageError):
    """A write failed because the disk (or the user's quota) is full: one line naming the path, exit code 2."""
