"""What a run continued from the store carries on: its settings, attempt, recorded scores and spent usage.

Evaluations already recorded are served from the store (`recorded_scores`), and model
calls already paid for from the response cache (same streams, same keys), so a resumed
run ends with the results an uninterrupted one would have had. Where the STOP loop itself
continues (after the last recorded iteration) is the loop's to say: `stop.loop.recorded_state`.
"""

from __future__ import annotations

from dataclasses import dataclass

from selftaught.config import RunConfig
from selftaught.errors import UserInputError
from selftaught.models.limits import Prices, UsageLimiter
from selftaught.runs.scorer import KnownScore
from selftaught.store.store import Store
from selftaught.tasks.scoring import SolutionScore


@dataclass
class ResumePoint:
    """A recorded STOP run as it was left: its settings, the attempt it goes on to, its last status."""

    config: RunConfig
    attempt: int
    status: str
    scores: list[KnownScore]


def load_resume_point(store: Store, run_id: str) -> ResumePoint:
    """Everything but the loop's state needed to continue `run_id`; UserInputError if it cannot be resumed."""
    run = store.run(run_id)
    if run is None:
        raise UserInputError(f"no run {run_id!r} in {store.path}")
    if run.kind != "stop":
        raise UserInputError(f"run {run_id} is a {run.kind} run; only STOP runs can be resumed")
    statuses = store.run_statuses(run_id)
    attempt = 1 + statuses.count("running")
    status = statuses[-1] if statuses else "unknown"
    return ResumePoint(RunConfig(**run.config), attempt, status, recorded_scores(store, run_id))


def recorded_scores(store: Store, run_id: str) -> list[KnownScore]:
    """The scores `run_id` recorded, to prefill a continued run's score memo (never score twice)."""
    return [
        KnownScore(
            e.code_hash,
            e.task,
            e.split,
            SolutionScore(e.score, e.instances, e.error_kind, e.error, e.elapsed_s),
        )
        for e in store.evaluations(run_id)
    ]


def usage_so_far(store: Store, run_id: str, config: RunConfig) -> UsageLimiter:
    """A limiter that already counts the backend calls and cost a run has spent."""
    prices = Prices.of(config)
    calls, prompt_tokens, completion_tokens = store.paid_usage(run_id)
    cost = prices.cost(prompt_tokens, completion_tokens)
    return UsageLimiter(config.max_calls, config.max_cost, prices, calls=calls, cost=cost)
