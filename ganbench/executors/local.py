"""The local executor: runs jobs one after another in this process."""

from __future__ import annotations

from .. import hookimpl
from ..registry import ExecutorSpec


class LocalExecutor:
    """Runs each job here; rows reach the store as each probe finishes."""

    def run(self, jobs, on_rows):
        from ..run import run_job

        for job in jobs:
            run_job(job, on_rows)


@hookimpl
def register_executors(register):
    register(ExecutorSpec("local", LocalExecutor, "run jobs one after another on this machine"))
