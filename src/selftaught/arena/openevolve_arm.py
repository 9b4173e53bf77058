"""The OpenEvolve arm (`pip install 'selftaught[arena]'`): OpenEvolve as a library, behind the gateway.

Per repeat, OpenEvolve runs in a child process (openevolve_child.py) with the gateway as
its only model (`llm.api_base`, the lease token as API key), one iteration per sample of
the budget (it asks one completion per request, so N calls of S samples are N x S
iterations), evaluations one at a time so its requests come in a reproducible order,
and the evaluator file that scores on the validation split through the gateway. Its
initial program is the task's seed solution; its best program (by that validation
score) is what the arena scores on the test split. The settings below are recorded with
the experiment; everything else is OpenEvolve's default.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from selftaught.arena.budget import ArmBudget
from selftaught.arena.external import ExternalJob, python_child

CHILD_MODULE = "selftaught.arena.openevolve_child"


class OpenEvolveArm:
    """Adapter for OpenEvolve (https://github.com/codelion/openevolve)."""

    name = "openevolve"
    extra = "arena"

    def available(self) -> str | None:
        if importlib.util.find_spec("openevolve") is None:
            return "OpenEvolve is not installed (pip install 'selftaught[arena]')"
        return None

    def version(self) -> str | None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("openevolve")
        except PackageNotFoundError:
            return None

    def settings(self, budget: ArmBudget) -> dict[str, Any]:
        return {
            "optimizer": "openevolve",
            "version": self.version(),
            "max_iterations": budget.samples,  # one sample per iteration
            "diff_based_evolution": False,  # full rewrites, as selftaught's improvers ask for
            "max_code_length": 100_000,
            "checkpoint_interval": 1_000_000,
            "log_level": "WARNING",
            "llm": {"temperature": 0.7, "max_tokens": 4096, "timeout": 600, "retries": 0, "retry_delay": 1},
            "evaluator": {
                "parallel_evaluations": 1,
                "cascade_evaluation": False,
                "max_retries": 0,
                "timeout": 600,
            },
            "database": {"in_memory": True},
            "random_seed": "the experiment's seed + the repeat's index (per repeat)",
        }

    def command(self, job: ExternalJob, spec_path: Path) -> list[str]:
        return python_child(CHILD_MODULE, spec_path)
