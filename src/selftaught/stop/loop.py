"""The self-improvement loop: the improver in use improves its own source, T times.

I_t = I_{t-1}(source of I_{t-1}, meta-utility, model). An iteration that fails (the
improver raises, times out, overruns its budget, returns nothing, or returns an
improver whose validation meta-utility is 0) keeps the previous improver and is
recorded as failed. With `accept = "better"` a new improver is adopted only if its
validation meta-utility is above the current improver's. Then every improver is
evaluated on the same deterministic streams (`same/eval/TASK/rK`, whatever the
iteration), so identical requests get identical answers and the comparison is between
improvers, not between draws of the model. Every iteration records the meta-utility of the improver in use
on the validation and the held-out test split. An iteration is the unit of progress:
it is recorded when it ends, and a resumed run starts after the last recorded one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from selftaught.failpoints import failpoint
from selftaught.stop.context import RunContext, Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.meta_utility import MetaUtility, evaluate_improver
from selftaught.stop.seed import seed_improver_source

SPLITS = ("val", "test")


@dataclass
class IterationResult:
    iteration: int
    status: str  # seed, improved, failed
    meta_utility_val: float
    meta_utility_test: float
    improver_hash: str | None = None
    error_kind: str | None = None
    error: str | None = None

    def as_json(self) -> dict:
        return {
            "iteration": self.iteration,
            "meta_utility_val": self.meta_utility_val,
            "meta_utility_test": self.meta_utility_test,
            "status": self.status,
        }


@dataclass
class LoopState:
    """Where the loop stands: the improver in use and the iterations recorded so far."""

    improver: str
    results: list[IterationResult] = field(default_factory=list)

    @property
    def next_iteration(self) -> int:
        return len(self.results)


def _record(
    ctx: RunContext, result: IterationResult, improver: str, candidate: str | None, started: float
) -> None:
    if ctx.store is None:
        return
    result.improver_hash = ctx.store.put_source(improver, "improver")
    ctx.recorder.iteration(
        iteration=result.iteration,
        status=result.status,
        improver_hash=result.improver_hash,
        candidate_hash=ctx.store.put_source(candidate, "improver") if candidate else None,
        meta_utility_val=result.meta_utility_val,
        meta_utility_test=result.meta_utility_test,
        error_kind=result.error_kind,
        error=result.error,
        started=started,
    )


def _rejection(ctx: RunContext, candidate_val: float, current_val: float) -> tuple[str, str] | None:
    """Why a new improver is not adopted under the run's `accept` rule, or None to adopt it."""
    if candidate_val <= 0:
        return "zero_utility", "the new improver's validation meta-utility is 0"
    if ctx.config.accept == "better" and candidate_val <= current_val:
        return (
            "not_better",
            f"the new improver's validation meta-utility {candidate_val:.4f} is not above "
            f"the current one's {current_val:.4f}",
        )
    return None


def _evaluation_scope(ctx: RunContext, t: int) -> Scope:
    """Where iteration t's evaluations draw their answers: per iteration, or shared under accept=better."""
    return Scope(iteration=t, stream="same" if ctx.config.accept == "better" else f"it{t}")


def _seed_iteration(ctx: RunContext, improver: str) -> IterationResult:
    started = time.time()
    ctx.progress("iteration 0: evaluating the seed improver")
    evaluation = evaluate_improver(ctx, improver, SPLITS, _evaluation_scope(ctx, 0), "iteration_eval", "eval")
    result = IterationResult(0, "seed", evaluation.meta_utility["val"], evaluation.meta_utility["test"])
    _record(ctx, result, improver, None, started)
    return result


def _improve_iteration(ctx: RunContext, t: int, state: LoopState) -> tuple[IterationResult, str]:
    started = time.time()
    improver, previous = state.improver, state.results[-1]
    scope = Scope(iteration=t, stream=f"it{t}")
    ctx.progress(f"iteration {t}: the improver improves itself")
    step_scope = ctx.start_improver_run(scope, "self_improve", improver, "self")
    outcome = run_improver(ctx, improver, improver, MetaUtility(ctx), step_scope)
    failpoint("self_improve_done")
    ctx.finish_improver_run(step_scope, outcome, "improver")
    candidate = outcome.solution if outcome.ok else None
    if candidate is None:
        result = IterationResult(
            t,
            "failed",
            previous.meta_utility_val,
            previous.meta_utility_test,
            error_kind=outcome.error_kind,
            error=outcome.error,
        )
    else:
        ctx.progress(f"iteration {t}: evaluating the new improver")
        evaluation = evaluate_improver(
            ctx, candidate, SPLITS, _evaluation_scope(ctx, t), "iteration_eval", "eval"
        )
        rejection = _rejection(ctx, evaluation.meta_utility["val"], previous.meta_utility_val)
        if rejection is None:
            result = IterationResult(
                t, "improved", evaluation.meta_utility["val"], evaluation.meta_utility["test"]
            )
            improver = candidate
        else:
            result = IterationResult(
                t,
                "failed",
                previous.meta_utility_val,
                previous.meta_utility_test,
                error_kind=rejection[0],
                error=rejection[1],
            )
    _record(ctx, result, improver, candidate, started)
    return result, improver


def run_stop(
    ctx: RunContext,
    on_iteration: Callable[[IterationResult], None] | None = None,
    state: LoopState | None = None,
) -> list[IterationResult]:
    """Run (or continue) T self-improvement iterations; one result per iteration, 0 being the seed."""
    state = state or LoopState(seed_improver_source())
    if not state.results:
        state.results.append(_seed_iteration(ctx, state.improver))
        failpoint("iteration_end")
        if on_iteration:
            on_iteration(state.results[0])
    for t in range(state.next_iteration, ctx.config.iterations + 1):
        result, state.improver = _improve_iteration(ctx, t, state)
        state.results.append(result)
        failpoint("iteration_end")
        if on_iteration:
            on_iteration(result)
    return state.results
