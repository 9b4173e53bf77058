"""Rebuild an interrupted run from the store, so `selftaught resume RUN` can continue it.

Finished iterations are not repeated: the loop continues after the last recorded one,
with the improver it recorded. Evaluations already recorded are served from the store,
and model calls already paid for from the response cache (same streams, same keys), so
the resumed run ends with the results an uninterrupted one would have had.
"""

from __future__ import annotations

from dataclasses import dataclass

from selftaught.config import RunConfig
from selftaught.errors import UserInputError
from selftaught.models.limits import Prices, UsageLimiter
from selftaught.stop.loop import IterationResult, LoopState
from selftaught.stop.scorer import KnownScore
from selftaught.store.store import Store
from selftaught.tasks.scoring import SolutionScore


@dataclass
class ResumePoint:
    config: RunConfig
    state: LoopState
    attempt: int
    status: str
    scores: list[KnownScore]

    @property
    def done(self) -> bool:
        return self.status == "finished" or self.state.next_iteration > self.config.iterations


def load_resume_point(store: Store, run_id: str) -> ResumePoint:
    """Everything needed to continue `run_id`; UserInputError if it cannot be resumed."""
    run = store.run(run_id)
    if run is None:
        raise UserInputError(f"no run {run_id!r} in {store.path}")
    if run.kind != "stop":
        raise UserInputError(f"run {run_id} is a {run.kind} run; only STOP runs can be resumed")
    config = RunConfig(**run.config)
    statuses = store.run_statuses(run_id)
    attempt = 1 + statuses.count("running")
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
    from selftaught.stop.seed import seed_improver_source

    state = LoopState(improver or seed_improver_source(), results)
    scores = [
        KnownScore(
            e.code_hash,
            e.task,
            e.split,
            SolutionScore(e.score, e.instances, e.error_kind, e.error, e.elapsed_s),
        )
        for e in store.evaluations(run_id)
    ]
    return ResumePoint(config, state, attempt, statuses[-1] if statuses else "unknown", scores)


def usage_so_far(store: Store, run_id: str, config: RunConfig) -> UsageLimiter:
    """A limiter that already counts the backend calls and cost a run has spent."""
    prices = Prices.of(config)
    calls, prompt_tokens, completion_tokens = store.paid_usage(run_id)
    cost = prices.cost(prompt_tokens, completion_tokens)
    return UsageLimiter(config.max_calls, config.max_cost, prices, calls=calls, cost=cost)
