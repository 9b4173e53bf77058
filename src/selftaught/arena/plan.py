"""`experiment arena --plan`: upper bounds of an arena's model use, asking no model.

Every arm's repeat is bounded like any improver run (selftaught.plan.Planner): at most
calls x samples requests and samples, whatever the arm, since an internal arm's rounds
share the repeat's calls and an external arm is refused past calls x samples samples.
An internal arm may make up to `calls` improver runs (rounds) per repeat.
"""

from __future__ import annotations

from dataclasses import replace

from selftaught.config import RunConfig
from selftaught.plan import DEFAULT_LATENCY_S, Plan, Planner, PlanPart


def plan_arena(config: RunConfig, arms: list[str], runs: int, latency_s: float = DEFAULT_LATENCY_S) -> Plan:
    from selftaught.arena.arms import SHIPPED, split_arms
    from selftaught.arena.external import external_optimizer
    from selftaught.runs.start import resolve_tasks

    config, tasks = resolve_tasks(config)
    planner = Planner(config, tasks, latency_s)
    per_arm = planner.evaluation().times(runs)
    parts = []
    for name in split_arms(",".join(arms)):
        external = name not in SHIPPED and external_optimizer(name) is not None
        counts = per_arm if external else replace(per_arm, improver_runs=per_arm.improver_runs * config.calls)
        parts.append(PlanPart(f"{name}, {runs} runs", counts))
    assumptions = (
        "prompt tokens assume prompts the size of the seed improver's, with up to two model-written programs"
        " (an external optimizer may send longer ones; --max-cost stops the arena)",
        "every arm is bounded by calls x samples samples per repeat (the gateway refuses past it)",
    ) + (
        ("no --max-tokens: completion tokens and their USD have no bound",)
        if config.max_tokens is None
        else ()
    )
    return Plan(
        "experiment arena", tuple(parts), latency_s, config.price_prompt, config.price_completion, assumptions
    )
