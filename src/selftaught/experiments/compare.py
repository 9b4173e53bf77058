"""Arms side by side: the baselines (`experiment baselines`) and prompt variants (`experiment prompts`).

Each arm is an improver shipped as package data. In each of `runs` runs (its own streams,
so its own model samples and child seeds) every arm runs n_tests times per task; a run's
meta-utility is the mean test score over those repeats, and the table gives each arm's
mean with an interval over all its repeats (stats.score_mean_ci), and its difference to the
first arm paired by run, task and repeat with a paired t interval. Chain-of-thought is
also reported without its errors, as in the paper (repeats that returned no code are left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from selftaught.analysis.packaged import improver_source
from selftaught.analysis.stats import (
    MIN_INTERVAL_N,
    Estimate,
    bootstrap_t_ci,
    footnote,
    paired_difference,
    score_mean_ci,
)
from selftaught.experiments.arms import RepeatScore, evaluate_arm
from selftaught.experiments.session import ExperimentRun


@dataclass(frozen=True)
class ArmRow:
    arm: str
    estimate: Estimate
    diff_vs_first: Estimate | None  # paired by run, task and repeat against the first arm
    failed_runs: int  # improver runs that returned nothing usable
    improver_runs: int

    def to_json(self) -> dict[str, Any]:
        return {
            "arm": self.arm,
            **self.estimate.to_json(),
            "diff_vs_first": self.diff_vs_first.to_json() if self.diff_vs_first else None,
            "failed_improver_runs": self.failed_runs,
            "improver_runs": self.improver_runs,
        }


@dataclass(frozen=True)
class CompareResult:
    id: str
    kind: str
    runs: int
    rows: tuple[ArmRow, ...]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "runs": self.runs, "rows": [r.to_json() for r in self.rows]}

    @property
    def note(self) -> str:
        return footnote([r.estimate for r in self.rows], unit="repeats") + (
            "; an arm's mean is its mean test meta-utility over runs, tasks and repeats"
        )


def run_compare(exp: ExperimentRun, kind: str, arms: tuple[str, ...], runs: int) -> CompareResult:
    per_arm: dict[str, list[list[RepeatScore]]] = {}
    for arm in arms:
        source = improver_source(arm)
        per_arm[arm] = []
        for r in range(runs):
            exp.ctx.progress(f"{kind}: {arm}, run {r + 1} of {runs}")
            per_arm[arm].append(evaluate_arm(exp, f"{arm}/run{r}", source))
    return CompareResult(exp.run_id, kind, runs, compare_rows(arms, per_arm))


def compare_rows(arms: tuple[str, ...], per_arm: dict[str, list[list[RepeatScore]]]) -> tuple[ArmRow, ...]:
    """The table's rows from each arm's repeats, run by run (the first arm is the reference).

    An arm's interval is over all its repeats (runs x tasks x n_tests, each its own stream):
    stats.score_mean_ci, from the failure rate and the successes' scores, which holds its 95%
    from 5 repeats where t over 3 runs' means sits at the band's edge (docs/experiments.md).
    """
    first = {f"{i}/{x.pair_key}": x.scores["test"] for i, run in enumerate(per_arm[arms[0]]) for x in run}
    rows = []
    for arm in arms:
        repeats = per_arm[arm]
        flat = {f"{i}/{x.pair_key}": x.scores["test"] for i, run in enumerate(repeats) for x in run}
        diff = paired_difference(flat, first) if arm != arms[0] and len(flat) > 1 else None
        failed = sum(1 for run in repeats for x in run if not x.ok)
        total = sum(len(run) for run in repeats)
        rows.append(ArmRow(arm, score_mean_ci(flat.values()), diff, failed, total))
        if arm == "chain_of_thought":
            kept = [x.scores["test"] for run in repeats for x in run if x.ok]
            if kept:
                rows.append(
                    ArmRow(f"{arm} (errors left out)", _successes_mean(kept), None, 0, total - failed)
                )
    return tuple(rows)


def _successes_mean(values: list[float]) -> Estimate:
    """The mean of the repeats that returned code: a bootstrap-t over them (none below 5)."""
    if len(values) < MIN_INTERVAL_N:
        return score_mean_ci(values)  # the mean, with no interval
    return bootstrap_t_ci(values, bounds=(0.0, 1.0))
