"""`experiment_arena` for Python users and `selftaught experiment arena`; `resume_arena` for resume.

The experiment's identity (experiments/session.py) holds the arms, what each runs (the
improver's digest or the adapter's settings), the budget and the number of runs, beside
every setting that changes numbers: the same call again continues or reprints it.
"""

from __future__ import annotations

from typing import Any

from selftaught.arena.arms import ArmSpec, resolve_arm, split_arms
from selftaught.arena.budget import ArmBudget
from selftaught.arena.run import run_arena
from selftaught.arena.table import ArenaResult
from selftaught.config import RunConfig
from selftaught.errors import UserInputError
from selftaught.experiments.session import open_experiment
from selftaught.runs.calls import RunHooks
from selftaught.store.store import Store

KIND = "arena"


def arena_parameters(arms: list[ArmSpec], runs: int, budget: ArmBudget) -> dict[str, Any]:
    return {"arms": [arm.to_json() for arm in arms], "runs": runs, "budget": budget.to_json()}


def experiment_arena(
    config: RunConfig, arms: str | list[str], runs: int, *, store: Store, hooks: Any = None
) -> ArenaResult:
    """Run (or continue, or reprint) an arena of `arms` at `config.calls` x `config.samples` per repeat."""
    if runs < 1:
        raise UserInputError("--runs must be at least 1")
    names = split_arms(arms) if isinstance(arms, str) else list(arms)
    budget = ArmBudget(config.calls, config.samples)
    specs = [resolve_arm(name, store, budget) for name in names]
    parameters = arena_parameters(specs, runs, budget)
    with open_experiment(config, KIND, parameters, store=store, hooks=hooks or RunHooks()) as exp:
        return run_arena(exp, specs, runs, budget)


def resume_arena(
    config: RunConfig, parameters: dict[str, Any], store: Store, hooks: Any = None
) -> ArenaResult:
    """Continue a recorded arena with the arms it was recorded with (an improver found by its digest)."""
    budget = ArmBudget(**{k: parameters["budget"][k] for k in ("calls", "samples_per_call")})
    specs = []
    for recorded in parameters["arms"]:
        spec = resolve_arm(recorded["name"], store, budget)
        if spec.identity != recorded["identity"]:
            raise UserInputError(
                f"arm {spec.name} now runs something else than when the arena was recorded "
                f"({spec.identity} != {recorded['identity']})"
            )
        specs.append(spec)
    with open_experiment(config, KIND, parameters, store=store, hooks=hooks or RunHooks()) as exp:
        return run_arena(exp, specs, int(parameters["runs"]), budget)
