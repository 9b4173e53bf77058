"""External arms by the adapter contract: one asks until refused, one crashes, one hangs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from selftaught.arena.budget import ArmBudget
from selftaught.arena.external import ExternalJob, register_external
from selftaught.config import load_config
from selftaught.store.store import Store
from tests.arena.conftest import ARENA_MODEL, HERE


class ScriptArm:
    """A test adapter: its child is a Python snippet or file."""

    extra = "none"

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.argv = argv

    def available(self) -> str | None:
        return None

    def settings(self, budget: ArmBudget) -> dict[str, Any]:
        return {"optimizer": self.name, "argv": self.argv[1:], "samples": budget.samples}

    def command(self, job: ExternalJob, spec_path: Path) -> list[str]:
        return [*self.argv, str(spec_path)]


def test_external_arms_spend_their_budget_or_end_only_their_own_repeat(tmp_path):
    from selftaught.arena.api import experiment_arena

    register_external(ScriptArm("polite", [sys.executable, str(HERE / "polite_client.py")]))
    register_external(ScriptArm("crashes", [sys.executable, "-c", "import sys; sys.exit(3)"]))
    register_external(ScriptArm("hangs", [sys.executable, "-c", "import time; time.sleep(120)"]))
    config = load_config(
        None,
        {
            "model": ARENA_MODEL,
            "tasks": ["parity_noise"],
            "calls": 2,
            "samples": 2,
            "n_tests": 1,
            "timeout_s": 2,
        },
    )
    with Store.open(tmp_path / "ext.db") as store:
        result = experiment_arena(config, "polite,crashes,hangs", 1, store=store)
        data = result.to_json()
        rows = {row["arm"]: row for row in data["rows"]}
        repeats = {r["arm"]: r for r in data["repeats"]}
        # asked with n=1 until refused: 4 requests of one sample, the fifth answered 429
        assert rows["polite"]["samples"] == 4 and rows["polite"]["calls"] == 4
        assert rows["polite"]["repeats_at_budget"] == 1 and repeats["polite"]["ok"]
        assert repeats["polite"]["test"] > 0 and repeats["polite"]["val"] is not None
        assert repeats["crashes"]["error_kind"] == "crash" and "status 3" in repeats["crashes"]["error"]
        assert repeats["hangs"]["error_kind"] == "timeout" and "killed" in repeats["hangs"]["error"]
        assert rows["hangs"]["failed_repeats"] == 1 and rows["hangs"]["mean"] == 0.0
        assert store.run(result.id).status == "finished"
