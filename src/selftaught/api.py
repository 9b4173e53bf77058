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
from typing import Any

from selftaught.config import RESUMABLE_SETTINGS, RunConfig, load_config
from selftaught.errors import UserInputError
from selftaught.executors.base import Executor
from selftaught.runs.calls import IterationCallback, RunHooks, RunStart, Status, WarningCallback
from selftaught.runs.recorder import ProgressCallback
from selftaught.runs.session import RunSession, StoreLike
from selftaught.sandbox.pool import WorkerPool
from selftaught.stop.loop import IterationResult
from selftaught.store.store import Store, default_store_path

RESUMABLE = frozenset(RESUMABLE_SETTINGS)


@dataclass(frozen=True)
class RunResult:
    """How a STOP run ended, and the iterations it has recorded (0 is the seed)."""

    run_id: str
    status: Status
    reason: str | None
    iterations: tuple[IterationResult, ...]
    store_path: Path
    already_finished: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "iterations": [r.to_json() for r in self.iterations],
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

    def to_json(self) -> dict[str, Any]:
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
    from selftaught.runs.start import open_store as _open

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


def start_run(
    config: RunConfig,
    *,
    store: StoreLike = None,
    pool: WorkerPool | Executor | None = None,
    hooks: RunHooks | None = None,
    on_progress: ProgressCallback | None = None,
    on_iteration: IterationCallback | None = None,
    on_start: Callable[[RunStart], None] | None = None,
    on_warning: WarningCallback | None = None,
) -> RunResult:
    """Run STOP with `config`: the seed improver improves itself `config.iterations` times.

    `store` is a Store or a path (default: $SELFTAUGHT_STORE or ./selftaught.db); `pool` an
    already started WorkerPool or executor to use (and leave open), else one is started and closed.
    `hooks` (or its callbacks by keyword) hear about progress, iterations, the start and warnings.
    """
    from selftaught.runs.start import resolve_tasks_while_starting
    from selftaught.stop.loop import LoopState, run_stop
    from selftaught.stop.seed import seed_improver_source

    config, tasks, starting = resolve_tasks_while_starting(config, pool)
    hooks = (hooks or RunHooks()).merged(
        on_progress=on_progress, on_iteration=on_iteration, on_start=on_start, on_warning=on_warning
    )
    state = LoopState(seed_improver_source())
    with RunSession(config, store=store, pool=pool, starting=starting, hooks=hooks) as session:
        run_id = session.record("stop", config.model_dump())
        names = tuple(t.name for t in tasks)
        hooks.started(RunStart(run_id, session.store_path, config.model, names, 0, config.iterations))
        run_stop(session.context(tasks), on_iteration=hooks.on_iteration, state=state)
    return RunResult(run_id, session.status, session.reason, tuple(state.results), session.store_path)


def resume_run(  # noqa: PLR0913 - a public entry point: the run's hooks, each by keyword
    store: StoreLike,
    run_id: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    pool: WorkerPool | Executor | None = None,
    hooks: RunHooks | None = None,
    on_progress: ProgressCallback | None = None,
    on_iteration: IterationCallback | None = None,
    on_start: Callable[[RunStart], None] | None = None,
    on_warning: WarningCallback | None = None,
) -> RunResult:
    """Continue a stopped, failed or interrupted STOP run; paid-for model calls come from the cache.

    `overrides` may change the settings in config.RESUMABLE_SETTINGS (limits, transport), nothing
    that changes what the run computes.
    """
    from selftaught.runs.resume import load_resume_point, usage_so_far
    from selftaught.runs.start import Continued, resolve_tasks
    from selftaught.stop.loop import recorded_state, run_stop

    db = store if isinstance(store, Store) else open_store(store)
    point = load_resume_point(db, run_id)
    state = recorded_state(db, run_id)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    refused = sorted(set(overrides) - RESUMABLE)
    if refused:
        raise UserInputError(
            f"a resumed run keeps its {', '.join(refused)}; only limits and transport may change"
        )
    config = load_config(base=point.config.model_dump(), given=overrides)
    config, tasks = resolve_tasks(config)
    if point.status == "finished" or state.next_iteration > config.iterations:
        return RunResult(run_id, "finished", None, tuple(state.results), db.path, already_finished=True)
    hooks = (hooks or RunHooks()).merged(
        on_progress=on_progress, on_iteration=on_iteration, on_start=on_start, on_warning=on_warning
    )
    with RunSession(config, store=db, pool=pool, hooks=hooks) as session:
        note = f"resumed (attempt {point.attempt})" + (f" with {overrides}" if overrides else "")
        session.continue_run(run_id, note)
        names = tuple(t.name for t in tasks)
        first = state.next_iteration
        hooks.started(RunStart(run_id, db.path, config.model, names, first, config.iterations))
        ctx = session.context(tasks, Continued(usage_so_far(db, run_id, config), attempt=point.attempt))
        ctx.scorer.prefill(point.scores)
        run_stop(ctx, on_iteration=hooks.on_iteration, state=state)
    return RunResult(run_id, session.status, session.reason, tuple(state.results), db.path)


def evaluate_improver(  # noqa: PLR0913 - a public entry point: the run's hooks, each by keyword
    source: str,
    config: RunConfig,
    *,
    split: str = "val",
    store: StoreLike = None,
    pool: WorkerPool | Executor | None = None,
    label: str | None = None,
    hooks: RunHooks | None = None,
    on_progress: ProgressCallback | None = None,
    on_start: Callable[[RunStart], None] | None = None,
    on_warning: WarningCallback | None = None,
) -> EvaluationResult:
    """The meta-utility of an improver's source: run it `n_tests` times per task, score what it returns.

    Recorded in the store as an `evaluate-improver` run (with `label`, e.g. the file name).
    """
    from selftaught.runs.scope import Scope
    from selftaught.runs.start import resolve_tasks
    from selftaught.stop.meta_utility import ImproverEvaluation
    from selftaught.stop.meta_utility import measure_improver as meta_utility_of

    if split not in ("val", "test"):
        raise UserInputError(f"unknown split {split!r} (use val or test)")
    check_improver(source, label or "improver")
    config, tasks = resolve_tasks(config)
    hooks = (hooks or RunHooks()).merged(on_progress=on_progress, on_start=on_start, on_warning=on_warning)
    evaluation: list[ImproverEvaluation] = []
    with RunSession(config, store=store, pool=pool, hooks=hooks) as session:
        run_id = session.record("evaluate-improver", {**config.model_dump(), "file": label, "split": split})
        names = tuple(t.name for t in tasks)
        hooks.started(RunStart(run_id, session.store_path, config.model, names, 0, 0))
        ctx = session.context(tasks)
        ctx.progress(f"evaluating {label or 'the improver'}")
        evaluation.append(
            meta_utility_of(ctx, source, (split,), Scope(stream="evaluate"), "evaluate", "eval")
        )
    status, reason, path = session.status, session.reason, session.store_path
    if not evaluation:
        return EvaluationResult(run_id, status, reason, split, None, store_path=path)
    done = evaluation[0]
    return EvaluationResult(
        run_id,
        status,
        reason,
        split,
        done.meta_utility[split],
        {name: scores[split] for name, scores in done.per_task.items()},
        len(done.repeats),
        sum(1 for r in done.repeats if not r.outcome.ok),
        path,
    )
