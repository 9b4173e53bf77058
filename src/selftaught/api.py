"""The public Python API: start, resume and inspect runs; the command line is a thin layer over it.

    import selftaught
    result = selftaught.start_run(selftaught.RunConfig(model="script:examples/scripted_model.py"))
    store = selftaught.open_store("selftaught.db")
    for iteration in store.iterations(result.run_id):
        print(iteration.iteration, iteration.meta_utility_val)

Every function returns a named result with a `status`: finished, stopped (a limit was
reached; resume to go on), failed, or interrupted (Ctrl-C). Bad input (unknown task or
model, unreadable store, an improver without `improve_algorithm`) raises
`UserInputError` before anything is written.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from selftaught.config import RESUMABLE_SETTINGS, RunConfig, load_config
from selftaught.errors import UserInputError
from selftaught.executors.base import Executor
from selftaught.sandbox.pool import WorkerPool
from selftaught.stop.context import ProgressCallback
from selftaught.stop.loop import IterationResult
from selftaught.stop.session import Continued, Ending, ExecutorStart, Status, WarningCallback
from selftaught.store.store import Store, default_store_path

if TYPE_CHECKING:
    from selftaught.stop.context import RunContext
    from selftaught.tasks.base import Task

StoreLike = Store | str | os.PathLike[str] | None
IterationCallback = Callable[[IterationResult], None]

RESUMABLE = frozenset(RESUMABLE_SETTINGS)


@dataclass(frozen=True)
class RunStart:
    """Told to `on_start` once a run is recorded and about to work."""

    run_id: str
    store_path: Path
    model: str
    tasks: tuple[str, ...]
    first_iteration: int
    iterations: int


@dataclass(frozen=True)
class RunResult:
    """How a STOP run ended, and the iterations it has recorded (0 is the seed)."""

    run_id: str
    status: Status
    reason: str | None
    iterations: tuple[IterationResult, ...]
    store_path: Path
    already_finished: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "iterations": [r.as_json() for r in self.iterations],
        }


@dataclass(frozen=True)
class EvaluationResult:
    """The meta-utility of one improver on one split (None unless the evaluation finished)."""

    run_id: str
    status: Status
    reason: str | None
    split: str
    meta_utility: float | None
    per_task: dict[str, float] = field(default_factory=dict)
    improver_runs: int = 0
    failed_runs: int = 0
    store_path: Path = Path()

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "split": self.split,
            "meta_utility": self.meta_utility,
            "per_task": self.per_task,
            "failed_runs": self.failed_runs,
        }


def open_store(path: str | os.PathLike[str] | None = None, *, create: bool = False) -> Store:
    """The run store at `path` (default: $SELFTAUGHT_STORE or ./selftaught.db), migrated to this release.

    Without `create`, a missing file is a UserInputError rather than a new empty store.
    """
    from selftaught.stop.session import open_store as _open

    return _open(Path(path) if path is not None else default_store_path(), must_exist=not create)


def check_improver(source: str, label: str = "improver") -> None:
    """UserInputError unless `source` parses and defines a top-level `improve_algorithm`."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise UserInputError(f"improver file {label!r} does not parse: line {exc.lineno}: {exc.msg}") from exc
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    if "improve_algorithm" not in names:
        raise UserInputError(f"improver file {label!r} defines no top-level improve_algorithm function")


@dataclass
class _Hooks:
    on_progress: ProgressCallback | None = None
    on_iteration: IterationCallback | None = None
    on_start: Callable[[RunStart], None] | None = None
    on_warning: WarningCallback | None = None


class _Resources:
    """Backend, pool and store of one call, opened in the order that leaves nothing behind on bad input."""

    def __init__(
        self, config: RunConfig, store: StoreLike, pool: WorkerPool | Executor | None, hooks: _Hooks
    ) -> None:
        from selftaught.stop.session import open_store as _open
        from selftaught.stop.session import resolve_backend

        self.store_path = store.path if isinstance(store, Store) else Path(store or default_store_path())
        starting = None if pool is not None else ExecutorStart(config)  # overlaps the backend's start
        try:
            self.backend = resolve_backend(config, self.store_path)
        except BaseException:
            if starting is not None:
                starting.discard()
            raise
        self.own_pool = pool is None
        try:
            # the sandbox first: a strict-mode refusal must not leave a store behind
            self.pool: WorkerPool | Executor = pool if pool is not None else _started(starting, hooks)
            try:
                self.own_store = not isinstance(store, Store)
                self.store = store if isinstance(store, Store) else _open(self.store_path)
            except BaseException:
                if self.own_pool:
                    self.pool.close()
                raise
        except BaseException:
            self.close_backend()
            raise

    def context(
        self,
        config: RunConfig,
        tasks: list[Task],
        run_id: str,
        on_progress: ProgressCallback | None,
        continued: Continued | None = None,
    ) -> RunContext:
        """The run context over these resources (`continued`: a resumed run's usage so far and attempt)."""
        from selftaught.stop.session import make_context

        return make_context(
            config,
            tasks,
            backend=self.backend,
            store=self.store,
            run_id=run_id,
            pool=self.pool,
            on_progress=on_progress,
            continued=continued,
        )

    def close_backend(self) -> None:
        from selftaught.stop.session import close_quietly

        close_quietly(self.backend)

    def close(self) -> None:
        from selftaught.stop.session import close_quietly

        if self.own_pool:
            close_quietly(self.pool)
        self.close_backend()


def _started(starting: ExecutorStart | None, hooks: _Hooks) -> Executor:
    assert starting is not None
    return starting.result(hooks.on_warning)


def start_run(
    config: RunConfig,
    *,
    store: StoreLike = None,
    pool: WorkerPool | Executor | None = None,
    on_progress: ProgressCallback | None = None,
    on_iteration: IterationCallback | None = None,
    on_start: Callable[[RunStart], None] | None = None,
    on_warning: WarningCallback | None = None,
) -> RunResult:
    """Run STOP with `config`: the seed improver improves itself `config.iterations` times.

    `store` is a Store or a path (default: $SELFTAUGHT_STORE or ./selftaught.db); `pool` an
    already started WorkerPool or executor to use (and leave open), else one is started and closed.
    """
    from selftaught.stop.session import execute_stop, resolve_tasks

    config, tasks = resolve_tasks(config)
    hooks = _Hooks(on_progress, on_iteration, on_start, on_warning)
    res = _Resources(config, store, pool, hooks)
    try:
        run_id = res.store.new_run(
            "stop", config.model_dump(), config.model, getattr(res.backend, "identity", None)
        )
        if on_start:
            on_start(
                RunStart(
                    run_id, res.store_path, config.model, tuple(t.name for t in tasks), 0, config.iterations
                )
            )
        ctx = res.context(config, tasks, run_id, on_progress)
        ending = execute_stop(ctx, None, on_iteration)
    finally:
        res.close()
    return _run_result(run_id, ending, res.store_path)


def resume_run(
    store: StoreLike,
    run_id: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    pool: WorkerPool | Executor | None = None,
    on_progress: ProgressCallback | None = None,
    on_iteration: IterationCallback | None = None,
    on_start: Callable[[RunStart], None] | None = None,
    on_warning: WarningCallback | None = None,
) -> RunResult:
    """Continue a stopped, failed or interrupted STOP run; paid-for model calls come from the cache.

    `overrides` may change the settings in config.RESUMABLE_SETTINGS (limits, transport), nothing
    that changes what the run computes.
    """
    from selftaught.stop.resume import load_resume_point, usage_so_far
    from selftaught.stop.session import execute_stop, resolve_tasks

    db = store if isinstance(store, Store) else open_store(store)
    point = load_resume_point(db, run_id)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    refused = sorted(set(overrides) - RESUMABLE)
    if refused:
        raise UserInputError(
            f"a resumed run keeps its {', '.join(refused)}; only limits and transport may change"
        )
    config = load_config(base=point.config.model_dump(), given=overrides)
    config, tasks = resolve_tasks(config)
    if point.done:
        return RunResult(run_id, "finished", None, tuple(point.state.results), db.path, already_finished=True)
    res = _Resources(config, db, pool, _Hooks(on_progress, on_iteration, on_start, on_warning))
    try:
        note = f"resumed (attempt {point.attempt})" + (f" with {overrides}" if overrides else "")
        db.set_run_status(run_id, "running", note)
        if on_start:
            on_start(
                RunStart(
                    run_id,
                    db.path,
                    config.model,
                    tuple(t.name for t in tasks),
                    point.state.next_iteration,
                    config.iterations,
                )
            )
        ctx = res.context(
            config,
            tasks,
            run_id,
            on_progress,
            Continued(usage_so_far(db, run_id, config), attempt=point.attempt),
        )
        ctx.prefill_scores(point.scores)
        ending = execute_stop(ctx, point.state, on_iteration)
    finally:
        res.close()
    return _run_result(run_id, ending, db.path)


def evaluate_improver(  # noqa: PLR0913 - a public entry point: the run's hooks, each by keyword
    source: str,
    config: RunConfig,
    *,
    split: str = "val",
    store: StoreLike = None,
    pool: WorkerPool | Executor | None = None,
    label: str | None = None,
    on_progress: ProgressCallback | None = None,
    on_start: Callable[[RunStart], None] | None = None,
    on_warning: WarningCallback | None = None,
) -> EvaluationResult:
    """The meta-utility of an improver's source: run it `n_tests` times per task, score what it returns.

    Recorded in the store as an `evaluate-improver` run (with `label`, e.g. the file name).
    """
    from selftaught.stop.context import Scope
    from selftaught.stop.meta_utility import ImproverEvaluation
    from selftaught.stop.meta_utility import evaluate_improver as meta_utility_of
    from selftaught.stop.session import finish, guarded, resolve_tasks

    if split not in ("val", "test"):
        raise UserInputError(f"unknown split {split!r} (use val or test)")
    check_improver(source, label or "improver")
    config, tasks = resolve_tasks(config)
    res = _Resources(config, store, pool, _Hooks(on_progress, None, on_start, on_warning))
    evaluation: list[ImproverEvaluation] = []
    ending = Ending()
    try:
        recorded = {**config.model_dump(), "file": label, "split": split}
        identity = getattr(res.backend, "identity", None)
        run_id = res.store.new_run("evaluate-improver", recorded, config.model, identity)
        if on_start:
            on_start(RunStart(run_id, res.store_path, config.model, tuple(t.name for t in tasks), 0, 0))
        ctx = res.context(config, tasks, run_id, on_progress)

        def work() -> None:
            ctx.progress(f"evaluating {label or 'the improver'}")
            evaluation.append(
                meta_utility_of(ctx, source, (split,), Scope(stream="evaluate"), "evaluate", "eval")
            )

        try:
            guarded(ctx, work, ending)
        finally:
            finish(ctx, ending)
    finally:
        res.close()
    if not evaluation:
        return EvaluationResult(run_id, ending.status, ending.reason, split, None, store_path=res.store_path)
    done = evaluation[0]
    return EvaluationResult(
        run_id,
        ending.status,
        ending.reason,
        split,
        done.meta_utility[split],
        {name: scores[split] for name, scores in done.per_task.items()},
        len(done.repeats),
        sum(1 for r in done.repeats if not r.outcome.ok),
        res.store_path,
    )


def _run_result(run_id: str, ending: Ending, store_path: Path) -> RunResult:
    return RunResult(run_id, ending.status, ending.reason, tuple(ending.results), store_path)
