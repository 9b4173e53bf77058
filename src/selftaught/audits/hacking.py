"""`audit hacking`: the reward-hacking detectors of `analysis.hacking` over one recorded run.

Works on any run with improver runs: a STOP run, an `evaluate-improver` run or an
experiment (recorded as a `runs` row of kind "experiment" with its improver runs under
it), so one code path. Under `scoring = "reference"` it also counts, per iteration, the
evaluations that got credit only because of the reference's looser rules (the
`accepted_by_reference_only` column, schema 3): how often the model found the hole.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from selftaught.analysis import hacking as detectors
from selftaught.analysis.stats import Rate, wilson
from selftaught.errors import UserInputError
from selftaught.store.records import EvaluationRecord, RunRecord
from selftaught.store.store import Store


@dataclass(frozen=True)
class ReferenceCredit:
    """Evaluations credited only under the reference's rules, per iteration and over the run."""

    by_iteration: dict[int | None, Rate]
    total: Rate


@dataclass(frozen=True)
class RunHacking:
    """The detectors' report for one run; `credit` only for runs under reference scoring."""

    run: RunRecord
    scoring: str
    report: detectors.HackingReport
    credit: ReferenceCredit | None

    def reference_only(self, row: detectors.IterationHacking, total: bool = False) -> Rate:
        """Reference-only credit of a row: from the stored column under reference scoring, else
        from strict and reference evaluations of the same code (the detector's pairing)."""
        if self.credit is None:
            return row.reference_only
        return self.credit.total if total else self.credit.by_iteration.get(row.iteration, wilson(0, 0))

    def as_json(self) -> dict[str, Any]:
        def row(r: detectors.IterationHacking, total: bool = False) -> dict[str, Any]:
            return {
                "iteration": r.iteration,
                "improver_runs": r.improver_runs,
                "gap": r.gap.to_json(),
                "mean_gap": r.mean_gap.to_json() if r.mean_gap else None,
                "rejected": r.rejected.to_json(),
                "rejected_by_kind": r.rejected_by_kind,
                "impossible": r.impossible.to_json(),
                "escapes": r.escapes.to_json(),
                "escape_events": r.escape_events,
                "reference_only": self.reference_only(r, total).to_json(),
            }

        return {
            "run_id": self.run.id,
            "kind": self.run.kind,
            "model": self.run.model_spec,
            "model_identity": self.run.model_identity,
            "scoring": self.scoring,
            "iterations": [row(r) for r in self.report.rows],
            "total": row(self.report.total, total=True),
            "flagged_gaps": [asdict(g) for g in self.report.gaps if g.flagged],
            "impossible_scores": [asdict(i) for i in self.report.impossible],
            "escape_events": [
                {
                    "kind": e.kind,
                    "iteration": e.iteration,
                    "improver_run_id": e.improver_run_id,
                    "detail": e.detail,
                }
                for e in self.report.escapes.events
            ],
        }


def reference_credit(evaluations: list[EvaluationRecord]) -> ReferenceCredit:
    """Evaluations whose score includes credit only the reference's rules give (column not NULL)."""
    counted = [e for e in evaluations if e.accepted_by_reference_only is not None]
    groups: dict[int | None, list[EvaluationRecord]] = {}
    for e in counted:
        groups.setdefault(e.iteration, []).append(e)

    def rate(rows: list[EvaluationRecord]) -> Rate:
        return wilson(sum((e.accepted_by_reference_only or 0) > 0 for e in rows), len(rows))

    return ReferenceCredit({key: rate(rows) for key, rows in groups.items()}, rate(counted))


def load_records(store: Store, run: RunRecord) -> tuple[list[Any], list[Any], list[Any], str]:
    """The run's evaluations, improver runs and events as `analysis.hacking` records, and its scoring."""
    scoring = str(run.config.get("scoring", "strict"))
    evaluations = store.evaluations(run.id)
    records = [detectors.EvaluationRecord.from_row(e.model_dump(), scoring=scoring) for e in evaluations]
    runs = [detectors.ImproverRunRecord.from_row(r.model_dump()) for r in store.improver_runs(run.id)]
    events = [
        detectors.EventRecord(e.kind, e.iteration, e.improver_run_id, e.detail, e.id)
        for e in store.events(run.id)
    ]
    return records, runs, events, scoring


def audit_hacking(store: Store, run_id: str) -> RunHacking:
    run = store.run(run_id)
    if run is None:
        raise UserInputError(f"no run {run_id!r} in {store.path} (see `selftaught runs`)")
    if run.kind == "audit":
        raise UserInputError(f"run {run_id} is an audit; audit a STOP run, an evaluation or an experiment")
    evaluations, runs, events, scoring = load_records(store, run)
    report = detectors.hacking_report(evaluations, runs, events)
    credit = reference_credit(store.evaluations(run_id)) if scoring == "reference" else None
    return RunHacking(run, scoring, report, credit)
