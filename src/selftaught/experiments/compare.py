"""Arms side by side: the baselines (`experiment baselines`) and prompt variants (`experiment prompts`).

Each arm is an improver shipped as package data. In each of `runs` runs (its own streams,
so its own model samples and child seeds) every arm runs n_tests times per task; a run's
meta-utility is the mean test score over those repeats, and the table gives each arm's
mean over runs with a t interval. Chain-of-thought is also reported without its errors,
as in the paper (runs in which it returned no code at all are left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from selftaught.analysis.packaged import improver_source
from selftaught.analysis.stats import Estimate, footnote, mean_ci, paired_difference
from selftaught.experiments.arms import RepeatScore, evaluate_arm, mean_score
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
        return footnote([r.estimate for r in self.rows], unit="runs") + (
            "; each run's value is the mean test meta-utility over its tasks and repeats"
        )


def run_compare(exp: ExperimentRun, kind: str, arms: tuple[str, ...], runs: int) -> CompareResult:
    per_arm: dict[str, list[list[RepeatScore]]] = {}
    for arm in arms:
        source = improver_source(arm)
        per_arm[arm] = []
        for r in range(runs):
            exp.ctx.progress(f"{kind}: {arm}, run {r + 1} of {runs}")
            per_arm[arm].append(evaluate_arm(exp, f"{arm}/run{r}", source))
    first = {f"{i}/{x.pair_key}": x.scores["test"] for i, run in enumerate(per_arm[arms[0]]) for x in run}
    rows = []
    for arm in arms:
        repeats = per_arm[arm]
        values = [v for v in (mean_score(run) for run in repeats) if v is not None]
        flat = {f"{i}/{x.pair_key}": x.scores["test"] for i, run in enumerate(repeats) for x in run}
        diff = paired_difference(flat, first) if arm != arms[0] and len(flat) > 1 else None
        failed = sum(1 for run in repeats for x in run if not x.ok)
        total = sum(len(run) for run in repeats)
        rows.append(ArmRow(arm, mean_ci(values), diff, failed, total))
        if arm == "chain_of_thought":
            kept = [v for v in (mean_score(run, only_ok=True) for run in repeats) if v is not None]
            if kept:
                rows.append(ArmRow(f"{arm} (errors left out)", mean_ci(kept), None, 0, total - failed))
    return CompareResult(exp.run_id, kind, runs, tuple(rows))
