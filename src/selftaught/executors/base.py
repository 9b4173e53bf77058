"""The `Executor` protocol: the line between the orchestrator and where model-written code runs.

The orchestrator keeps model calls, budgets, the response cache and the store; an
executor only runs things in sandboxed children and hands back what they produced.
An improver run's requests (model calls, utility calls) are relayed to the
orchestrator's handler one at a time, so the trust boundary is the same whichever
executor runs the child. Results are recorded by the orchestrator only when they come
back, so work an executor loses (a dead node, a dead sandbox worker) is run again
elsewhere and nothing recorded is done twice: an improver run starts again with a fresh
handler (fresh budgets; the response cache serves the answers already paid for), a
scoring simply scores again. `redo_when_lost` is that rule for a lost worker, shared by
every executor; a job whose worker keeps dying under it ends the run with
`WorkerLossLimit` (the run can be resumed), never a score.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from selftaught.errors import UserInputError
from selftaught.inside.messages import Command
from selftaught.sandbox.child_handle import Reply, RequestHandler
from selftaught.sandbox.errors import SandboxError, WorkerLost
from selftaught.sandbox.isolation import Protection
from selftaught.sandbox.limits import Limits

if TYPE_CHECKING:
    from selftaught.tasks.base import Task
    from selftaught.tasks.scoring import SolutionScore

EXECUTORS = ("local", "ray")  # the built-in executors; plugins add more (executors/registry.py)
MAX_WORKER_LOSSES = 4  # tries of one job whose worker dies under it, before the run stops

log = logging.getLogger(__name__)
T = TypeVar("T")


class WorkerLossLimit(SandboxError, UserInputError):
    """One job lost its sandbox worker on every try: something keeps killing workers.

    Printed as one line by the command line (like `SandboxUnavailable`, it is about the
    machine); the run ends `failed` and can be resumed once the cause is gone.
    """


def redo_when_lost(attempt: Callable[[], T], what: str, max_tries: int = MAX_WORKER_LOSSES) -> T:
    """`attempt()`, run again each time its sandbox worker is lost under it (`WorkerLost`).

    Work is only recorded when it comes back, so a lost try leaves nothing behind to undo.
    After `max_tries` lost tries, `WorkerLossLimit` ends the run: a worker that no child can
    signal does not die `max_tries` times in a row by chance (see sandbox/pool.py).
    """
    for tries in range(1, max_tries + 1):
        try:
            return attempt()
        except WorkerLost as lost:
            if tries == max_tries:
                raise WorkerLossLimit(
                    f"{what} lost its sandbox worker {tries} times in a row (last: {lost}); is something "
                    "(the OOM killer?) killing sandbox workers? The run stops; `selftaught resume` "
                    "continues it"
                ) from lost
            log.warning("%s runs again (try %d of %d): %s", what, tries + 1, max_tries, lost)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class ImproverJob:
    """One improver run to execute: the `improve` command for a child, and the child's limits
    (a dict is sent as it is, as `Child.run` does: tests send other commands)."""

    command: Command | dict[str, Any]
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


@runtime_checkable
class BatchScoring(Protocol):
    """An executor that can also score several candidates in one call (optional).

    Worth it where each call has a cost of its own, as a call to a Ray node has: a few
    milliseconds of round trip, which on a small machine comes out of the scorings. The
    scorer sends an answer's code blocks this way (runs/scorer.py). The scores must be
    those `score` gives, in the order of `codes`; they are scored one after another, so a
    batch takes one of the executor's `cpu_slots`.
    """

    def score_many(self, task: Task, codes: list[str], split: str, scoring: str) -> list[SolutionScore]: ...


def batch_scoring(
    executor: Executor,
) -> Callable[[Task, list[str], str, str], list[SolutionScore]] | None:
    """The executor's `score_many`, if it has one (plugins' executors need not)."""
    return executor.score_many if isinstance(executor, BatchScoring) else None


def start_executor(
    name: str,
    mode: str,
    *,
    ray_address: str | None = None,
    n_workers: int | None = None,
    on_warning: Callable[[str], None] | None = None,
    spares: int | None = None,
    hold_spares: bool = False,
) -> Executor:
    """The executor called `name`, its sandbox held to `mode`; raises UserInputError for an unknown one.

    `name` is a built-in (`local`, `ray`) or an installed plugin's (executors/registry.py).
    """
    from selftaught.executors.registry import ExecutorOptions, executor_kind

    options = ExecutorOptions(
        ray_address=ray_address,
        n_workers=n_workers,
        on_warning=on_warning,
        spares=spares,
        hold_spares=hold_spares,
    )
    return executor_kind(name).start(mode, options)
