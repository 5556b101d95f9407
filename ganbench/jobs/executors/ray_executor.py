"""The Ray executor: a sweep's jobs run across a Ray cluster, rows come back here.

Each job is one Ray task. A job that may use CUDA (``--device auto`` or
``cuda``) asks Ray for one GPU when the cluster has any; Ray then sets
``CUDA_VISIBLE_DEVICES`` so that ``auto`` finds it. Rows are appended to the
one store on the submitting machine as each job finishes. The cluster is
``$RAY_ADDRESS`` when set, else a local Ray started for the sweep. Ray is an
optional extra: ``pip install 'ganbench[ray]'``. A task that raises or
whose worker dies becomes ``failed`` rows of that job; the others go on.
"""

from __future__ import annotations

import os

from ganbench import hookimpl
from ganbench.system.errors import UsageError
from ganbench.api.registry import ExecutorSpec


def _run_remote(job):
    from ganbench.jobs.run import run_job

    rows: list[dict] = []
    run_job(job, rows.extend)
    return rows


class RayExecutor:
    def run(self, jobs, on_rows, on_refused=None):
        try:
            import ray
        except ImportError:
            raise UsageError("The 'ray' executor needs Ray: pip install 'ganbench[ray]'.") from None
        ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True, log_to_driver=True)
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        task = ray.remote(_run_remote)
        pending = {}
        for job in jobs:
            gpus = 1 if has_gpus and job.device != "cpu" else 0
            pending[task.options(num_gpus=gpus).remote(job)] = job
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(done[0])
            try:
                rows = ray.get(done[0])
            except Exception as exc:  # the task raised or its worker died: that job's rows say so
                cause = getattr(exc, "cause", None)
                if isinstance(cause, UsageError):
                    if on_refused is None:
                        raise cause from None
                    on_refused(job, cause)  # a sweep: the other jobs go on
                    continue
                from ganbench.jobs.run import job_failure_rows

                rows = job_failure_rows(job, f"job failed on Ray: {type(cause or exc).__name__}: {cause or exc}")
            on_rows(rows)


@hookimpl
def register_executors(register):
    register(ExecutorSpec("ray", RayExecutor, "run each job as a Ray task (one GPU per job where the cluster has GPUs)"))
