"""An internal arm's repeat: an improver run in the sandbox, restarted until the budget is spent.

An improver may spend fewer calls than it is given (the seed improver makes one call of
S samples). So that every arm spends the same budget, an internal repeat runs in rounds:
round k runs the improver with the calls still left, starting from the best program so far
(the task's seed solution at first); when it returns, its program is scored on the
validation split, and the next round starts while calls remain. A round that asks the
model nothing ends the repeat. The repeat's program is the rounds' best by validation,
scored on the test split. Each round is an improver run with its own stream
(`arena/<arm>/run<r>/<task>/r<repeat>/k<round>`), so a rerun reuses it and a resumed one
gets its paid calls from the response cache. Each round's utility budget is its calls x S + 1.
"""

from __future__ import annotations

import copy

from selftaught.arena.arms import ArmSpec
from selftaught.arena.budget import ArmBudget
from selftaught.arena.repeat import STREAM_ROOT, ArenaRepeat, repeat_segment
from selftaught.experiments.session import ExperimentRun
from selftaught.runs.context import RunContext
from selftaught.runs.scope import Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.meta_utility import TaskUtility
from selftaught.tasks.base import Task


def with_calls(ctx: RunContext, calls: int) -> RunContext:
    """A view of `ctx` whose improver runs get `calls` model calls (everything else shared)."""
    view = copy.copy(ctx)
    view.config = ctx.config.model_copy(update={"calls": calls})
    return view


def run_internal_repeat(
    exp: ExperimentRun, arm: ArmSpec, task: Task, run: int, repeat: int, budget: ArmBudget
) -> ArenaRepeat:
    ctx, store = exp.ctx, exp.store
    assert arm.source is not None
    base = repeat_segment(arm.slug, run, task.name, repeat)
    start, best, best_val = task.seed_solution(), None, None
    used, rounds, ids = 0, 0, []
    error_kind: str | None = None
    error: str | None = None
    while used < budget.calls:
        segment = f"{base}/k{rounds}"
        recorded = exp.reuse(f"{STREAM_ROOT}/{segment}")
        if recorded is not None:
            ok = recorded.status == "ok" and recorded.result_hash is not None
            solution = store.source(recorded.result_hash) if ok and recorded.result_hash else None
            val = recorded.score_val
            run_id = recorded.id
            error_kind, error = (None, None) if ok else (recorded.error_kind, recorded.error)
        else:
            ctx.check_running()
            view = with_calls(ctx, budget.calls - used)
            scope = ctx.start_improver_run(
                Scope(stream=STREAM_ROOT),
                f"arena:{arm.name}",
                arm.source,
                segment,
                task=task.name,
                repeat=repeat,
            )
            outcome = run_improver(view, arm.source, start, TaskUtility(view, task), scope)
            ok, solution = outcome.ok, outcome.solution
            val = ctx.score(task, solution, "val", scope).score if ok and solution else None
            ctx.finish_improver_run(scope, outcome, "solution", {"val": val} if val is not None else None)
            assert scope.improver_run_id is not None
            run_id = scope.improver_run_id
            error_kind, error = (None, None) if ok else (outcome.error_kind, outcome.error)
            ctx.progress()
        ids.append(run_id)
        rounds += 1
        calls = len(store.model_calls(exp.run_id, run_id))
        used += calls
        if ok and solution and val is not None and (best_val is None or val > best_val):
            best, best_val, start = solution, val, solution
        if calls == 0:
            break
    if best is None:
        return ArenaRepeat(arm.name, run, task.name, repeat, False, error_kind, error, None, 0.0, ids, rounds)
    test = ctx.score(task, best, "test", Scope(stream=f"{STREAM_ROOT}/{base}")).score
    return ArenaRepeat(arm.name, run, task.name, repeat, True, None, None, best_val, test, ids, rounds)
