"""The live pages' own sections, beside the report's: the iteration in progress, failures by
reason, an experiment's rows as they arrive, and two arms side by side.

Each is a `(data, refs) -> HTML` function like the report's sections, rendered from a
template of serve/templates with autoescape on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from markupsafe import Markup

from selftaught.report.data import ImproverRunView, ReportData
from selftaught.report.explain import CandidateCounts, count_candidates
from selftaught.report.failures import classify
from selftaught.report.html import TextRefs
from selftaught.report.intervals import Interval, mean_interval
from selftaught.report.sections import run_block
from selftaught.serve.rendering import render


def iteration_in_progress(data: ReportData) -> int | None:
    """The iteration whose improver runs are recorded but whose row is not (yet), if any."""
    recorded = {it.iteration for it in data.iterations}
    started = {r.iteration for r in data.improver_runs if r.iteration is not None} - recorded
    return max(started) if started else None


def progress_section(data: ReportData, refs: TextRefs) -> Markup:
    iteration = iteration_in_progress(data)
    runs = [r for r in data.improver_runs if iteration is not None and r.iteration == iteration]
    candidates = [c for r in runs for c in r.candidates]
    return render(
        "progress.html.j2",
        data=data,
        iteration=iteration,
        runs=runs,
        finished=sum(r.status is not None for r in runs),
        candidates=len(candidates),
        scored=sum(bool(c.scores) for c in candidates),
        run_block=partial(run_block, refs=refs, open_=True),
    )


@dataclass
class FailureRow:
    iteration: str
    part: str  # solutions or improvers
    counts: CandidateCounts


def failure_rows(data: ReportData) -> list[FailureRow]:
    """Per iteration (the one in progress too), candidates produced, scored and failed, by reason."""
    iterations = sorted({r.iteration for r in data.improver_runs}, key=lambda i: (i is None, i or 0))
    rows = []
    for iteration in iterations:
        runs = [r for r in data.improver_runs if r.iteration == iteration]
        label = "outside" if iteration is None else str(iteration)
        solutions = count_candidates(
            [(r.task, c) for r in runs if r.purpose != "self_improve" for c in r.candidates]
        )
        improvers = count_candidates(
            [(None, c) for r in runs if r.purpose == "self_improve" for c in r.candidates]
        )
        for part, counts in (("solutions", solutions), ("improvers", improvers)):
            if counts.produced:
                rows.append(FailureRow(label, part, counts))
    return rows


def failures_section(data: ReportData, refs: TextRefs) -> Markup:
    return render("failures.html.j2", rows=failure_rows(data))


def arm_of(run: ImproverRunView) -> tuple[str, str] | None:
    """(arm, run r) of an experiment's improver run, from its purpose `arm:<arm>/run<r>`."""
    if not run.purpose.startswith("arm:"):
        return None
    arm, _, rest = run.purpose[len("arm:") :].partition("/run")
    return arm, rest


def arm_rows_section(data: ReportData, refs: TextRefs) -> Markup:
    """Every improver run of an experiment's arms, in the order recorded, unfinished ones too."""
    rows = []
    for run in data.improver_runs:
        arm = arm_of(run)
        if arm is None:
            continue
        reason = classify(run.error_kind, run.error) if run.error_kind else ""
        rows.append((arm[0], arm[1], run, reason))
    arms = sorted({a for a, *_ in rows})
    return render("arm_rows.html.j2", data=data, rows=rows, arms=arms)


@dataclass
class PairedRow:
    key: str  # run r, task, repeat
    a: float | None
    b: float | None

    @property
    def difference(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass
class ArmPair:
    a: str
    b: str
    rows: list[PairedRow] = field(default_factory=list)
    mean_a: Interval | None = None
    mean_b: Interval | None = None
    difference: Interval | None = None


def arm_pair(data: ReportData, a: str, b: str) -> ArmPair:
    """Two arms' test scores paired by run, task and repeat, with each mean and the paired difference."""
    scores: dict[str, dict[str, float | None]] = {}
    for run in data.improver_runs:
        arm = arm_of(run)
        if arm is None or arm[0] not in (a, b):
            continue
        key = f"run {arm[1] or 0}, {run.task or '–'}, repeat {run.repeat if run.repeat is not None else '–'}"
        score = None if run.status is None else float(run.score_test or 0.0)
        scores.setdefault(key, {})[arm[0]] = score
    pair = ArmPair(a, b, [PairedRow(key, s.get(a), s.get(b)) for key, s in scores.items()])
    pair.mean_a = mean_interval([r.a for r in pair.rows if r.a is not None])
    pair.mean_b = mean_interval([r.b for r in pair.rows if r.b is not None])
    pair.difference = mean_interval([d for d in (r.difference for r in pair.rows) if d is not None])
    return pair


def arm_pair_section(data: ReportData, a: str, b: str) -> Markup:
    return render("arm_pair.html.j2", data=data, pair=arm_pair(data, a, b))
