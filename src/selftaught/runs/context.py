"""Shared state of one run on the trusted side, composed of three parts with one job each.

- `Recorder` (recorder.py): every store write and the progress counters, with bounded events;
- `Scorer` (scorer.py): hidden utilities, memoized by source digest, at most one per core;
- the `Executor` (executors/): where improver children and scorings run (this machine, or Ray);
- `RunControl` (control.py): whether the run goes on, and the children to kill when it stops.

`RunContext` composes them behind the methods improver runs and the loop use, so that
the orchestrator stays the only authority on budgets and the store sees every call. What
a part already offers as it is, callers take from the part (`ctx.control.limiter`,
`ctx.scorer.prefill`); `store` and `run_id` are for reading, every write goes through
the recorder. Build one with `selftaught.runs.start.make_context`, the path every run takes.
"""

from __future__ import annotations

from typing import Any

from selftaught.config import RunConfig
from selftaught.executors.base import Executor
from selftaught.executors.local import LocalExecutor
from selftaught.models.base import ModelBackend
from selftaught.models.cache import ResponseSource
from selftaught.models.facade import CallRecord, LanguageModel
from selftaught.models.limits import UsageLimiter
from selftaught.runs.control import RunControl
from selftaught.runs.recorder import Recorder
from selftaught.runs.scope import Scope
from selftaught.runs.scorer import Scorer
from selftaught.sandbox.pool import WorkerPool
from selftaught.store.store import Store
from selftaught.tasks.base import Task
from selftaught.tasks.scoring import SolutionScore


class RunContext:
    """What the loop and improver runs share: config, tasks, executor, model, and the three parts above."""

    def __init__(
        self,
        config: RunConfig,
        tasks: list[Task],
        pool: WorkerPool | Executor,
        backend: ModelBackend,
        recorder: Recorder,
        *,
        cache: ResponseSource | None = None,
        limiter: UsageLimiter | None = None,
    ) -> None:
        self.config = config
        self.tasks = tasks
        self.backend = backend
        self.cache = cache
        self.control = RunControl(limiter or UsageLimiter())
        self.recorder = recorder
        self.scorer = Scorer(_as_executor(pool), scoring=config.scoring)

    # --- the parts' state, under the names callers know --------------------------------------
    @property
    def executor(self) -> Executor:
        return self.scorer.executor

    @executor.setter
    def executor(self, executor: WorkerPool | Executor) -> None:
        """Run on `executor` from now on; a bare worker pool is run as a local executor."""
        self.scorer.executor = _as_executor(executor)

    @property
    def store(self) -> Store | None:
        return self.recorder.store

    @property
    def run_id(self) -> str | None:
        return self.recorder.run_id

    # --- run control ---------------------------------------------------------------------------
    def check_running(self) -> None:
        """Raise RunStopped if the run has been stopped (limits, replay miss, interrupt)."""
        self.control.check_running()

    # --- model ---------------------------------------------------------------------------------
    def model_handle(self, scope: Scope) -> LanguageModel:
        """A fresh `language_model` with the configured budget, cached and recorded under `scope`."""

        def record(call: CallRecord) -> None:
            self.recorder.model_call(scope, call)

        return LanguageModel(
            self.backend,
            budget=self.config.calls,
            max_responses_per_call=self.config.samples,
            max_tokens=self.config.max_tokens,
            recorder=record,
            cache=self.cache,
            # a nonzero seed is part of the cache position: runs that differ only in seed get fresh answers
            stream=scope.stream if not self.config.seed else f"seed{self.config.seed}/{scope.stream}",
            limiter=self.control.limiter,
        )

    # --- scoring -------------------------------------------------------------------------------
    def score(self, task: Task, code: object, split: str, scope: Scope) -> SolutionScore:
        """Hidden utility of `code` on `split`: memoized per run, recorded once, at most one per core."""

        def record(source: str, task_name: str, split_name: str, result: SolutionScore) -> None:
            self.recorder.evaluation(scope, source, task_name, split_name, result)

        return self.scorer.score(task, code, split, record)

    def prefetch_scores(self, task: Task, codes: list[str], split: str) -> None:
        """Start scoring `codes` (one answer's blocks) now, because an improver is about to ask
        (recorded only when it does)."""
        self.scorer.prefetch_many(task, codes, split)

    # --- recording -----------------------------------------------------------------------------
    def progress(self, phase: str | None = None) -> None:
        self.recorder.progress(phase)

    def event(self, kind: str, scope: Scope, detail: dict[str, Any], code: str | None = None) -> None:
        """Record a safety-relevant event (bounded per improver run, see recorder.py)."""
        self.recorder.event(kind, scope, detail, code)

    def start_improver_run(
        self, scope: Scope, purpose: str, improver: str, segment: str, **extra: Any
    ) -> Scope:
        """Register an improver run and return the scope its calls are recorded under."""
        stream = scope.child(segment, None).stream
        run_row = self.recorder.start_improver_run(scope, purpose, improver, stream, **extra)
        return Scope(scope.iteration, run_row, stream)

    def finish_improver_run(
        self, scope: Scope, outcome: Any, result_kind: str, scores: dict[str, float] | None = None
    ) -> None:
        """Record how an improver run ended: status, error, the source it returned, its scores."""
        self.recorder.finish_improver_run(scope, outcome, result_kind, scores)


def _as_executor(pool: WorkerPool | Executor) -> Executor:
    """A worker pool given where an executor is wanted runs locally (and is left open)."""
    return LocalExecutor(pool) if isinstance(pool, WorkerPool) else pool
