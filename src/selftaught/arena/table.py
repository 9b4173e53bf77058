"""The arena's table: each arm's mean test score with a t interval, its paired difference to the
reference arm (the seed improver), and what it used (calls, samples, tokens, cost).

An arm's interval is a Student t interval over its repeats (runs x tasks x n_tests, each on
its own stream; a repeat that returned nothing scores 0); the difference is paired by
(run, task, repeat) with a paired t interval (stats.mean_ci and stats.paired_difference).
`repeats` holds every repeat's calls, samples and test score: the data of a plot of
score against calls used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from selftaught.analysis.stats import Estimate, footnote, mean_ci, paired_difference
from selftaught.arena.budget import ArmBudget
from selftaught.arena.repeat import ArenaRepeat
from selftaught.arena.usage import Usage


@dataclass(frozen=True)
class ArenaRow:
    arm: str
    kind: str
    estimate: Estimate
    diff: Estimate | None
    repeats: int
    failed: int
    usage: Usage
    exact_budget: int  # repeats that used exactly the budget's samples

    def to_json(self) -> dict[str, Any]:
        return {
            "arm": self.arm,
            "kind": self.kind,
            **self.estimate.to_json(),
            "diff_vs_reference": self.diff.to_json() if self.diff is not None else None,
            "repeats": self.repeats,
            "failed_repeats": self.failed,
            "repeats_at_budget": self.exact_budget,
            **self.usage.to_json(),
        }


@dataclass(frozen=True)
class ArenaResult:
    id: str
    reference: str
    budget: ArmBudget
    runs: int
    tasks: tuple[str, ...]
    arms: tuple[dict[str, Any], ...]
    rows: tuple[ArenaRow, ...]
    repeats: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": "arena",
            "reference": self.reference,
            "budget": self.budget.to_json(),
            "runs": self.runs,
            "tasks": list(self.tasks),
            "arms": list(self.arms),
            "rows": [r.to_json() for r in self.rows],
            "repeats": list(self.repeats),
        }

    @property
    def note(self) -> str:
        return (
            footnote([r.estimate for r in self.rows], unit="repeats")
            + f"; differences paired by run, task and repeat against {self.reference}; budget per repeat: "
            f"{self.budget.calls} calls x {self.budget.samples_per_call} samples"
        )


def arena_rows(
    arms: list[tuple[str, str]],
    reference: str,
    repeats: dict[str, list[ArenaRepeat]],
    usage: dict[str, list[Usage]],
    budget: ArmBudget,
) -> tuple[ArenaRow, ...]:
    """Rows in the order of `arms` ((name, kind) pairs); `usage[arm][i]` belongs to `repeats[arm][i]`."""
    base = {r.pair_key: r.test for r in repeats[reference]}
    rows = []
    for name, kind in arms:
        mine = repeats[name]
        scores = {r.pair_key: r.test for r in mine}
        diff = paired_difference(scores, base) if name != reference and len(scores) > 1 else None
        total = Usage()
        for used in usage[name]:
            total.add(used)
        exact = sum(1 for used in usage[name] if used.samples == budget.samples)
        failed = sum(1 for r in mine if not r.ok)
        rows.append(ArenaRow(name, kind, mean_ci(scores.values()), diff, len(mine), failed, total, exact))
    return tuple(rows)
