"""The local executor: runs jobs one after another in this process."""

from __future__ import annotations

import sys
import traceback

from ganbench import hookimpl
from ganbench.system.errors import UsageError
from ganbench.api.registry import ExecutorSpec


class LocalExecutor:
    """Runs each job here; rows reach the store as each probe finishes.

    A job that fails in a way the runner did not turn into rows gets one
    ``failed`` row for each of its probes still without rows; the next job
    runs. A user error (:class:`UsageError`) stops the run, or, when
    ``on_refused`` is given (a sweep), goes to ``on_refused(job, error)`` and
    the next job runs.
    """

    def run(self, jobs, on_rows, on_refused=None):
        from ganbench.jobs.run import job_failure_rows, run_job

        for job in jobs:
            reported: set[str] = set()

            def collect(rows):
                reported.update(r.get("job_key") for r in rows)
                on_rows(rows)

            try:
                run_job(job, collect)
            except UsageError as exc:
                if on_refused is None:
                    raise
                on_refused(job, exc)
            except Exception as exc:
                traceback.print_exc(file=sys.stderr)
                on_rows(job_failure_rows(job, f"job failed: {type(exc).__name__}: {exc}", skip_keys=frozenset(reported)))


@hookimpl
def register_executors(register):
    register(ExecutorSpec("local", LocalExecutor, "run jobs one after another on this machine"))
