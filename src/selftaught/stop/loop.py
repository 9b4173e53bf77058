"""The self-improvement loop: the improver in use improves its own source, T times.

I_t = I_{t-1}(source of I_{t-1}, meta-utility, model). An iteration that fails (the
improver raises, times out, overruns its budget, returns nothing, or returns an
improver whose validation meta-utility is 0) keeps the previous improver and is
recorded as failed. With `accept = "better"` a new improver is adopted only if its
validation meta-utility is above the current improver's; with `accept = "significant"`
only if a paired one-sided test over the repeats (the same task instances and streams)
finds it above at level `alpha` (stats.paired_sign_flip_test), the test being recorded
with the iteration: a mean of 5 noisy repeats above another is often chance. Under both,
every improver is evaluated on the same deterministic streams (`same/eval/TASK/rK`,
whatever the iteration), so identical requests get identical answers and the comparison
is between improvers, not between draws of the model. Every iteration records the
meta-utility of the improver in use on the validation and the held-out test split. An
iteration is the unit of progress: it is recorded when it ends, and a resumed run starts
after the last recorded one.

Iteration 0's evaluation of the seed improver and iteration 1's self-improvement step run at
the same time: the step improves the seed improver whatever its evaluation finds, and only
iteration 1's acceptance reads it. Each keeps its own streams, so the results are those of
running them one after the other; iteration 0 is still recorded before iteration 1.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from selftaught.failpoints import failpoint
from selftaught.models.limits import RunStopped
from selftaught.runs.context import RunContext
from selftaught.runs.scope import Scope
from selftaught.stop.improver_run import ImproverOutcome, run_improver
from selftaught.stop.meta_utility import ImproverEvaluation, MetaUtility, measure_improver
from selftaught.stop.seed import seed_improver_source
from selftaught.store.store import Store, source_hash
from selftaught.tasks.base import SPLITS


@dataclass
class IterationResult:
    iteration: int
    status: str  # seed, improved, failed
    meta_utility_val: float
    meta_utility_test: float
    improver_hash: str | None = None
    error_kind: str | None = None
    error: str | None = None
    acceptance: dict[str, Any] | None = None  # the paired test under accept = "significant"

    def to_json(self) -> dict:
        data: dict[str, Any] = {
            "iteration": self.iteration,
            "meta_utility_val": self.meta_utility_val,
            "meta_utility_test": self.meta_utility_test,
            "status": self.status,
        }
        if self.acceptance is not None:
            data["acceptance"] = self.acceptance
        return data


INTERRUPT_WAIT_S = 5.0  # after an interrupt, how long the seed's evaluation may take to end


@dataclass
class LoopState:
    """Where the loop stands: the improver in use and the iterations recorded so far."""

    improver: str
    results: list[IterationResult] = field(default_factory=list)
    # the improver in use's validation score per "task/rK" repeat (accept = "significant";
    # None after a resume until read back from the store)
    val_scores: dict[str, float] | None = None

    @property
    def next_iteration(self) -> int:
        return len(self.results)


def recorded_state(store: Store, run_id: str) -> LoopState:
    """Where a recorded run's loop stands: its recorded iterations and the improver in use after the last."""
    results = []
    improver = None
    for it in store.iterations(run_id):
        results.append(
            IterationResult(
                it.iteration,
                it.status,
                it.meta_utility_val or 0.0,
                it.meta_utility_test or 0.0,
                it.improver_hash,
                it.error_kind,
                it.error,
                acceptance=it.acceptance,
            )
        )
        improver = store.source(it.improver_hash)
    return LoopState(improver or seed_improver_source(), results)


def _record(
    ctx: RunContext, result: IterationResult, improver: str, candidate: str | None, started: float
) -> None:
    result.improver_hash = ctx.recorder.iteration(
        improver,
        candidate,
        iteration=result.iteration,
        status=result.status,
        meta_utility_val=result.meta_utility_val,
        meta_utility_test=result.meta_utility_test,
        error_kind=result.error_kind,
        error=result.error,
        started=started,
        **({"acceptance_json": json.dumps(result.acceptance)} if result.acceptance is not None else {}),
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


def repeat_scores(evaluation: ImproverEvaluation, split: str = "val") -> dict[str, float]:
    """An evaluation's score per repeat, keyed "task/rK" (what two improvers are paired by)."""
    return {f"{r.task}/r{r.repeat}": r.scores[split] for r in evaluation.repeats}


def _recorded_val_scores(ctx: RunContext, improver: str) -> dict[str, float] | None:
    """The current improver's per-repeat validation scores from its recorded evaluation (after a resume)."""
    if ctx.store is None or ctx.run_id is None:
        return None
    digest = source_hash(improver)
    found = {
        f"{r.task}/r{r.repeat}": float(r.score_val or 0.0)
        for r in ctx.store.improver_runs(ctx.run_id)
        if r.purpose == "iteration_eval" and r.improver_hash == digest and r.status is not None
    }
    expected = len(ctx.tasks) * ctx.config.n_tests
    return found if len(found) == expected else None


def _significance(ctx: RunContext, candidate: dict[str, float], state: LoopState, t: int) -> dict[str, Any]:
    """The paired test of the candidate's validation repeats against the current improver's."""
    from selftaught.analysis.stats import paired_sign_flip_test

    if state.val_scores is None:
        state.val_scores = _recorded_val_scores(ctx, state.improver)
    if state.val_scores is None:  # not recorded: evaluate it again on the shared streams (cached)
        evaluation = measure_improver(
            ctx, state.improver, ("val",), _evaluation_scope(ctx, t), "iteration_eval", "eval"
        )
        state.val_scores = repeat_scores(evaluation)
    test = paired_sign_flip_test(candidate, state.val_scores, ctx.config.alpha)
    return test.to_json()


def _evaluation_scope(ctx: RunContext, t: int) -> Scope:
    """Where iteration t's evaluations draw answers: per iteration, or shared when improvers are compared."""
    return Scope(iteration=t, stream="same" if ctx.config.accept in ("better", "significant") else f"it{t}")


def _seed_iteration(ctx: RunContext, improver: str) -> tuple[IterationResult, dict[str, float]]:
    started = time.time()
    ctx.progress("iteration 0: evaluating the seed improver")
    evaluation = measure_improver(ctx, improver, SPLITS, _evaluation_scope(ctx, 0), "iteration_eval", "eval")
    result = IterationResult(0, "seed", evaluation.meta_utility["val"], evaluation.meta_utility["test"])
    _record(ctx, result, improver, None, started)
    return result, repeat_scores(evaluation)


@dataclass
class _Step:
    """Iteration t's self-improvement step: the improver run on its own source, and when it began."""

    started: float
    outcome: ImproverOutcome


def _self_improve(ctx: RunContext, t: int, improver: str) -> _Step:
    started = time.time()
    scope = Scope(iteration=t, stream=f"it{t}")
    ctx.progress(f"iteration {t}: the improver improves itself")
    step_scope = ctx.start_improver_run(scope, "self_improve", improver, "self")
    outcome = run_improver(ctx, improver, improver, MetaUtility(ctx), step_scope)
    failpoint("self_improve_done")
    ctx.finish_improver_run(step_scope, outcome, "improver")
    return _Step(started, outcome)


def _improve_iteration(
    ctx: RunContext, t: int, state: LoopState, step: _Step | None = None
) -> tuple[IterationResult, str]:
    """Iteration t: the step (unless already taken), the new improver's evaluation, acceptance."""
    improver = state.improver
    step = step or _self_improve(ctx, t, improver)
    started, outcome, previous = step.started, step.outcome, state.results[-1]
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
        evaluation = measure_improver(
            ctx, candidate, SPLITS, _evaluation_scope(ctx, t), "iteration_eval", "eval"
        )
        rejection = _rejection(ctx, evaluation.meta_utility["val"], previous.meta_utility_val)
        acceptance = None
        if rejection is None and ctx.config.accept == "significant":
            acceptance = _significance(ctx, repeat_scores(evaluation), state, t)
            if not acceptance["significant"]:
                rejection = (
                    "not_significant",
                    f"the new improver's validation meta-utility {evaluation.meta_utility['val']:.4f} is not"
                    f" above the current one's {previous.meta_utility_val:.4f} by a paired test at level"
                    f" {ctx.config.alpha:g} (p = {acceptance['p_value']:.4g})",
                )
        if rejection is None:
            result = IterationResult(
                t,
                "improved",
                evaluation.meta_utility["val"],
                evaluation.meta_utility["test"],
                acceptance=acceptance,
            )
            improver = candidate
            state.val_scores = repeat_scores(evaluation)
        else:
            result = IterationResult(
                t,
                "failed",
                previous.meta_utility_val,
                previous.meta_utility_test,
                error_kind=rejection[0],
                error=rejection[1],
                acceptance=acceptance,
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
    first_step = None
    if not state.results:
        seed = _in_background(_seed_iteration, ctx, state.improver)
        try:
            if ctx.config.iterations >= 1:  # the step does not depend on the seed's evaluation
                first_step = _self_improve(ctx, 1, state.improver)
        except BaseException as exc:
            _end_alongside(ctx, seed, exc)
            raise
        seed_result, state.val_scores = seed.result()
        state.results.append(seed_result)
        failpoint("iteration_end")
        if on_iteration:
            on_iteration(state.results[0])
    for t in range(state.next_iteration, ctx.config.iterations + 1):
        step, first_step = first_step, None
        result, state.improver = _improve_iteration(ctx, t, state, step)
        state.results.append(result)
        failpoint("iteration_end")
        if on_iteration:
            on_iteration(result)
    return state.results


def _end_alongside(ctx: RunContext, seed: Future[Any], exc: BaseException) -> None:
    """The step failed (a limit, an interrupt, an error): stop the run, then wait for the seed's
    evaluation to end before the failure leaves the loop.

    Otherwise the run's executor closes under the seed's scorings, whose children it kills
    would be recorded as crashes (scores of 0 a resumed run would reuse) and iteration 0
    recorded with them. Stopped, the seed's model calls are refused and its improver children
    killed, so the wait is short; what it had finished is recorded as it would have been. A
    model request already in flight still takes its time, so after an interrupt or an error
    the wait is bounded (INTERRUPT_WAIT_S): Ctrl-C stops a run at once.
    """
    if isinstance(exc, RunStopped):  # a limit: the run ends gracefully
        reason, clean, wait_s = exc.reason, exc.clean, None
    else:
        reason, clean, wait_s = repr(exc)[:200], False, INTERRUPT_WAIT_S
    ctx.control.stop(reason, clean)
    try:
        seed.exception(timeout=wait_s)  # the seed's own failure, if any, gives way to the step's
    except FutureTimeout:
        pass


def _in_background(function: Callable[..., Any], *args: Any) -> Future[Any]:
    """Run `function(*args)` in a thread of its own; its result or exception in the future.

    If the caller fails meanwhile, the thread is left to end as the run's other work does
    when a run stops (its model calls are refused, its children killed).
    """
    future: Future[Any] = Future()

    def work() -> None:
        try:
            future.set_result(function(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the result
            future.set_exception(exc)

    threading.Thread(target=work, name="seed-evaluation", daemon=True).start()
    return future
