"""The local executor: today's hardened worker pool on this machine.

Work whose worker dies under it runs again on a new worker (`redo_when_lost`), as a Ray
executor runs a lost node's work again on another node.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from selftaught.executors.base import ImproverJob, Tracker, redo_when_lost
from selftaught.sandbox.child_handle import Reply, RequestHandler
from selftaught.sandbox.isolation import Protection
from selftaught.sandbox.pool import WorkerPool
from selftaught.tasks.scoring import SolutionScore, score_solution

if TYPE_CHECKING:
    from selftaught.tasks.base import Task


class LocalExecutor:
    """Children forked by a `WorkerPool` here; requests are answered on this machine directly."""

    name = "local"

    def __init__(self, pool: WorkerPool, *, own_pool: bool = False) -> None:
        self.pool = pool
        self.own_pool = own_pool  # close() closes the pool only if this executor started it
        self.cpu_slots = max(1, os.cpu_count() or 1)

    @property
    def protections(self) -> list[Protection]:
        return self.pool.protections

    def run_improver(
        self, job: ImproverJob, make_handler: Callable[[], RequestHandler], tracker: Tracker | None = None
    ) -> Reply:
        return redo_when_lost(lambda: self._run_improver_once(job, make_handler, tracker), "an improver run")

    def _run_improver_once(
        self, job: ImproverJob, make_handler: Callable[[], RequestHandler], tracker: Tracker | None
    ) -> Reply:
        handler = make_handler()  # a run started again gets fresh budgets
        with self.pool.spawn(job.limits) as child:
            if tracker is not None:
                tracker.track(child)
            try:
                return child.run(job.command, on_request=handler)
            finally:
                if tracker is not None:
                    tracker.untrack(child)

    def release_spares(self) -> None:
        """The run's model client is up: the pool may fork the spares it held (ExecutorOptions)."""
        self.pool.release_spares()

    def score(self, task: Task, code: str, split: str, scoring: str) -> SolutionScore:
        return redo_when_lost(
            lambda: score_solution(task, code, split, self.pool, scoring=scoring), f"a scoring on {task.name}"
        )

    def close(self) -> None:
        if self.own_pool:
            self.pool.close()
