"""`audit hacking`: the reward-hacking detectors of `analysis.hacking` over one recorded run.

Works on any run with improver runs: a STOP run, an `evaluate-improver` run or an
experiment (recorded as a `runs` row of kind "experiment" with its improver runs under
it), so one code path. Under `scoring = "reference"` it also counts, per iteration, the
evaluations that got credit only because of the reference's looser rules (the
`accepted_by_reference_only` column, schema 3): how often the model found the hole.

Two checks look for candidates that know the hidden instances (analysis/split_seeds.py):
every stored source (solutions and improvers) is searched for a task's split seeds (the
reference's public ones, and the run's own fresh ones if it ran on fresh splits: those
must never reach model code), and with `fresh=True` each solution an improver run
returned is scored again on the reference splits and on fresh splits drawn for this audit
(in the sandbox); a drop above FRESH_DROP_THRESHOLD is flagged.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from selftaught.analysis import hacking as detectors
from selftaught.analysis.split_seeds import (
    FRESH_DROP_THRESHOLD,
    FreshDrop,
    SeedLiteral,
    SplitPair,
    SplitSeedRange,
    fresh_drop,
    seed_literals,
)
from selftaught.analysis.stats import Rate, wilson
from selftaught.errors import UserInputError
from selftaught.store.records import EvaluationRecord, RunRecord
from selftaught.store.store import Store

if TYPE_CHECKING:
    from selftaught.executors.base import Executor
    from selftaught.tasks.base import Task


@dataclass(frozen=True)
class ReferenceCredit:
    """Evaluations credited only under the reference's rules, per iteration and over the run."""

    by_iteration: dict[int | None, Rate]
    total: Rate


@dataclass(frozen=True)
class SeedFinding:
    """A stored source holding a split seed of one of the run's tasks."""

    code_hash: str
    source_kind: str  # "solution" or "improver"
    literal: SeedLiteral

    def to_json(self) -> dict[str, Any]:
        seeds = self.literal.seeds
        return {
            "code_hash": self.code_hash,
            "source_kind": self.source_kind,
            "task": seeds.task,
            "split": seeds.split,
            "seeds": seeds.kind,
            "base": seeds.base if seeds.kind == "reference" else None,  # a fresh base stays secret
            "value": self.literal.value if seeds.kind == "reference" else None,
            "in_seeding_call": self.literal.in_seeding_call,
            "line": self.literal.line,
        }


@dataclass(frozen=True)
class FreshCheck:
    """Returned solutions scored on the reference splits and on fresh ones drawn for the audit."""

    threshold: float
    drops: tuple[FreshDrop, ...]
    candidates: int
    skipped: tuple[str, ...] = ()  # tasks whose instances cannot be drawn afresh

    @property
    def flagged(self) -> tuple[FreshDrop, ...]:
        return tuple(d for d in self.drops if d.flagged)

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "candidates": self.candidates,
            "flagged": len(self.flagged),
            "skipped_tasks": list(self.skipped),
            "drops": [asdict(d) for d in self.drops],
        }


@dataclass(frozen=True)
class RunHacking:
    """The detectors' report for one run; `credit` only for runs under reference scoring."""

    run: RunRecord
    scoring: str
    report: detectors.HackingReport
    credit: ReferenceCredit | None
    seed_findings: tuple[SeedFinding, ...] = ()
    fresh: FreshCheck | None = None
    splits: str = "reference"

    def reference_only(self, row: detectors.IterationHacking, total: bool = False) -> Rate:
        """Reference-only credit of a row: from the stored column under reference scoring, else
        from strict and reference evaluations of the same code (the detector's pairing)."""
        if self.credit is None:
            return row.reference_only
        return self.credit.total if total else self.credit.by_iteration.get(row.iteration, wilson(0, 0))

    def to_json(self) -> dict[str, Any]:
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
            "splits": self.splits,
            "seed_literals": [f.to_json() for f in self.seed_findings],
            "sources_with_seeds": len({f.code_hash for f in self.seed_findings}),
            "fresh_splits": self.fresh.to_json() if self.fresh is not None else None,
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


def run_tasks_by_name(run: RunRecord) -> dict[str, Task]:
    """The run's tasks as recorded (a task folder that is gone is left out)."""
    from selftaught.tasks import get_task

    found: dict[str, Task] = {}
    for spec in run.config.get("tasks") or []:
        try:
            task = get_task(str(spec))
        except UserInputError:
            continue
        found[task.name] = task
    return found


def split_seed_ranges(task: Task, fresh_secret: str | None = None) -> list[SplitSeedRange]:
    """The seeds of each split of `task`: the reference's, and those drawn from `fresh_secret`."""
    from selftaught.tasks.seeded import SeededTask
    from selftaught.tasks.splits import fresh_base_seeds

    if not isinstance(task, SeededTask):
        return []
    ranges = [
        SplitSeedRange(task.name, split, base, task.split_sizes[split])
        for split, base in task.split_base_seeds.items()
    ]
    if fresh_secret is not None:
        ranges += [
            SplitSeedRange(task.name, split, base, task.split_sizes[split], kind="fresh")
            for split, base in fresh_base_seeds(fresh_secret, task.name).items()
        ]
    return ranges


def seed_findings(store: Store, run: RunRecord, tasks: dict[str, Task]) -> list[SeedFinding]:
    """Every stored source of the run that holds a split seed of the task it was written for.

    Solutions are searched for their own task's seeds; improvers (which may pass seeds on in
    what they ask the model, or hard-code them in the solutions they build) for every task's.
    """
    secret = store.split_secret(run.id) if run.config.get("splits") == "fresh" else None
    ranges = {name: split_seed_ranges(task, secret) for name, task in tasks.items()}
    every = [r for found in ranges.values() for r in found]
    wanted: dict[tuple[str, str], list[SplitSeedRange]] = {}
    for evaluation in store.evaluations(run.id):
        if evaluation.code_hash and evaluation.task in ranges:
            wanted[(evaluation.code_hash, "solution")] = ranges[evaluation.task]
    for improver_run in store.improver_runs(run.id):
        if improver_run.result_hash and improver_run.task in ranges:
            wanted[(improver_run.result_hash, "solution")] = ranges[improver_run.task]
        wanted[(improver_run.improver_hash, "improver")] = every
    for iteration in store.iterations(run.id):
        wanted[(iteration.improver_hash, "improver")] = every
        if iteration.candidate_hash:
            wanted[(iteration.candidate_hash, "improver")] = every
    findings = []
    for (code_hash, kind), seeds in sorted(wanted.items()):
        source = store.source(code_hash) if seeds else None
        if source:
            findings += [SeedFinding(code_hash, kind, literal) for literal in seed_literals(source, seeds)]
    return findings


def fresh_check(
    store: Store,
    run: RunRecord,
    tasks: dict[str, Task],
    executor: Executor,
    scoring: str,
    threshold: float = FRESH_DROP_THRESHOLD,
) -> FreshCheck:
    """Score every solution the run's improver runs returned on both splits, reference and fresh.

    The fresh instances come from a secret drawn for this audit (never recorded). Scorings run
    in the sandbox, at most `executor.cpu_slots` at once.
    """
    from selftaught.tasks.base import SPLITS
    from selftaught.tasks.splits import fresh_tasks, new_secret

    secret = new_secret()
    fresh: dict[str, Task] = {}
    skipped = []
    for name, task in tasks.items():
        try:
            (fresh[name],) = fresh_tasks([task], secret)
        except UserInputError:
            skipped.append(name)
    candidates = sorted(
        {(r.result_hash, r.task) for r in store.improver_runs(run.id) if r.result_hash and r.task in fresh}
    )
    jobs = []
    for code_hash, name in candidates:
        source = store.source(code_hash)
        if source:
            jobs.append((code_hash, name, source))

    def one_split(job: tuple[str, str, str], split: str) -> SplitPair:
        _, name, source = job
        reference = executor.score(tasks[name], source, split, scoring)
        drawn = executor.score(fresh[name], source, split, scoring)
        instances = max(reference.instances, drawn.instances)
        return SplitPair(
            split, instances, reference.score, drawn.score, reference.error_kind, drawn.error_kind
        )

    with ThreadPoolExecutor(max_workers=max(1, executor.cpu_slots)) as threads:
        pairs = {
            (job[0], job[1]): [threads.submit(one_split, job, split) for split in SPLITS] for job in jobs
        }
        drops = tuple(
            fresh_drop(code_hash, name, [f.result() for f in futures], threshold)
            for (code_hash, name), futures in pairs.items()
        )
    return FreshCheck(threshold, drops, len(drops), tuple(sorted(skipped)))


def audit_hacking(
    store: Store,
    run_id: str,
    *,
    fresh: bool = False,
    executor: Executor | None = None,
    threshold: float = FRESH_DROP_THRESHOLD,
    on_warning: Callable[[str], None] | None = None,
) -> RunHacking:
    """The run's hacking report; with `fresh`, its returned solutions are re-scored on fresh splits.

    `executor` scores them (default: a local pool in the run's sandbox mode, closed after).
    """
    run = store.run(run_id)
    if run is None:
        raise UserInputError(f"no run {run_id!r} in {store.path} (see `selftaught runs`)")
    if run.kind == "audit":
        raise UserInputError(f"run {run_id} is an audit; audit a STOP run, an evaluation or an experiment")
    evaluations, runs, events, scoring = load_records(store, run)
    report = detectors.hacking_report(evaluations, runs, events)
    credit = reference_credit(store.evaluations(run_id)) if scoring == "reference" else None
    tasks = run_tasks_by_name(run)
    findings = tuple(seed_findings(store, run, tasks))
    check = None
    if fresh:
        own = executor is None
        if executor is None:
            from selftaught.executors.base import start_executor

            mode = str(run.config.get("sandbox", "default"))
            executor = start_executor("local", mode, on_warning=on_warning)
        try:
            check = fresh_check(store, run, tasks, executor, scoring, threshold)
        finally:
            if own:
                executor.close()
    splits = str(run.config.get("splits", "reference"))
    return RunHacking(run, scoring, report, credit, findings, check, splits)
