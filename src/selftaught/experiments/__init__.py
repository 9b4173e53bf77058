"""Experiments over many improver runs: transfer (Table 1), baselines, prompt variants, the recursion
ablation, and R independent STOP runs. Each is recorded as a `runs` row of kind "experiment" that owns
its improver runs, and is resumed or reprinted from the store when run again (see session.py)."""

from selftaught.experiments.api import (
    RunHooks,
    experiment_baselines,
    experiment_prompts,
    experiment_recursion,
    experiment_runs,
    experiment_transfer,
    resume_experiment,
)

__all__ = [
    "RunHooks",
    "experiment_baselines",
    "experiment_prompts",
    "experiment_recursion",
    "experiment_runs",
    "experiment_transfer",
    "resume_experiment",
]
