"""The `Executor` protocol: the line between the orchestrator and where model-written code runs.

The orchestrator keeps model calls, budgets, the response cache and the store; an
executor only runs things in sandboxed children and hands back what they produced.
An improver run's requests (model calls, utility calls) are relayed to the
orchestrator's handler one at a time, so the trust boundary is the same whichever
executor runs the child. Results are recorded by the orchestrator only when they come
back, so work an executor loses (a dead node) is run again elsewhere and nothing
recorded is done twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from selftaught.sandbox.child_handle import Reply, RequestHandler
from selftaught.sandbox.isolation import Protection
from selftaught.sandbox.limits import Limits

if TYPE_CHECKING:
    from selftaught.tasks.base import Task
    from selftaught.tasks.scoring import SolutionScore

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class ImproverJob:
    """One improver run to execute: the `improve` command for a child, and the child's limits."""

    command: dict[str, Any]
    limits: Limits = field(default_factory=Limits)


class RunningJob(Protocol):
    """Something in flight that the run can kill at once (a local child, a remote improver run)."""

    def kill(self) -> None: ...


class Tracker(Protocol):
    """The run's control: it kills what is tracked when the run stops."""

    def track(self, job: RunningJob) -> None: ...

    def untrack(self, job: RunningJob) -> None: ...


class Executor(Protocol):
    """Runs improvers and scores candidates in sandboxed children, wherever those live."""

    name: str
    cpu_slots: int  # scorings worth running at once

    @property
    def protections(self) -> list[Protection]:
        """What the sandbox gives where this executor runs children (the weakest node's, on a cluster)."""
        ...

    def run_improver(
        self,
        job: ImproverJob,
        make_handler: Callable[[], RequestHandler],
        tracker: Tracker | None = None,
    ) -> Reply:
        """Run `job` in a child, answering its requests with a handler from `make_handler`.

        A job lost with its node is run again from the start with a fresh handler (a fresh
        budget); answers the first attempt got are served again by the response cache.
        """
        ...

    def score(self, task: Task, code: str, split: str, scoring: str) -> SolutionScore:
        """The hidden utility of `code` on `split` (see tasks/scoring.py)."""
        ...

    def close(self) -> None: ...


def start_executor(
    name: str,
    mode: str,
    *,
    ray_address: str | None = None,
    n_workers: int | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> Executor:
    """The executor called `name`, its sandbox held to `mode`; raises UserInputError for an unknown one."""
    from selftaught.errors import UserInputError

    if name == "local":
        from selftaught.executors.local import LocalExecutor
        from selftaught.sandbox.pool import WorkerPool

        return LocalExecutor(WorkerPool(n_workers, mode=mode, on_warning=on_warning), own_pool=True)
    if name == "ray":
        from selftaught.executors.ray import RayExecutor

        return RayExecutor.connect(mode, address=ray_address, on_warning=on_warning)
    raise UserInputError(f"unknown executor {name!r} (use {' or '.join(EXECUTORS)})")
