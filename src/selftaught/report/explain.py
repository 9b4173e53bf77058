"""The run in words: per iteration, what the model produced, what scored, what failed and why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from selftaught.report.data import Candidate, ReportData


@dataclass
class CandidateCounts:
    """Counts over distinct candidates (one per program and task; answers without code each count)."""

    produced: int = 0
    scored: int = 0
    failed: int = 0
    unscored: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    best: float | None = None
    best_task: str | None = None


def is_failed(candidate: Candidate) -> bool:
    return candidate.failure is not None and not candidate.best_score


def count_candidates(pairs: list[tuple[str | None, Candidate]]) -> CandidateCounts:
    counts = CandidateCounts(reasons=Counter())
    seen: set[tuple] = set()
    for task, c in pairs:
        if c.answer_hash is None:
            continue  # scored here but not written by the model in this run (the seed, say)
        key = (c.code_hash or f"answer:{c.answer_hash}:{c.call_id}:{c.sample}", task)
        if key in seen:
            continue
        seen.add(key)
        counts.produced += 1
        if is_failed(c):
            counts.failed += 1
            counts.reasons[c.failure or "unknown"] += 1
        elif c.scores:
            counts.scored += 1
            score = c.scores["val"].score if "val" in c.scores else c.best_score
            if score is not None and (counts.best is None or score > counts.best):
                counts.best, counts.best_task = score, task
        else:
            counts.unscored += 1
    return counts


def _describe(counts: CandidateCounts, noun: str, how: str) -> str:
    """`3 candidates written by the model, ...`: `noun` is singular and gets its plural here."""
    plural = "" if counts.produced == 1 else "s"
    text = f"{counts.produced} {noun}{plural} {how}, {counts.scored} scored, {counts.failed} failed"
    if counts.reasons:
        text += " (" + ", ".join(f"{n} {reason}" for reason, n in counts.reasons.most_common()) + ")"
    if counts.unscored:
        text += f", {counts.unscored} never scored"
    return text


def explain_run(data: ReportData) -> list[str]:
    """Lines for `selftaught show RUN`: the text twin of the report."""
    run = data.run
    lines = [f"run {run.id}: {run.status}" + (f" ({run.reason})" if run.reason else "")]
    for it in data.iterations:
        runs = [r for r in data.improver_runs if r.iteration == it.iteration]
        solutions = count_candidates(
            [(r.task, c) for r in runs if r.purpose != "self_improve" for c in r.candidates]
        )
        improvers = count_candidates(
            [(None, c) for r in runs if r.purpose == "self_improve" for c in r.candidates]
        )
        head = f"iteration {it.iteration} ({it.status})"
        if it.status == "failed":
            head += f": {it.error_kind or 'failed'}" + (f": {_first_line(it.error)}" if it.error else "")
        lines.append(head)
        if improvers.produced:
            lines.append("  improvers: " + _describe(improvers, "improver", "proposed"))
            if improvers.best is not None:
                lines.append(f"  best proposed improver: validation meta-utility {improvers.best:.3f}")
        lines.append("  solutions: " + _describe(solutions, "candidate", "written by the model"))
        if solutions.best is not None:
            reference = data.seed_scores.get(solutions.best_task or "", {}).get("val")
            versus = f" against u(s) {reference:.3f}" if reference is not None else " (u(s) not recorded)"
            verdict = ""
            if reference is not None:
                verdict = (
                    ": better than the seed" if solutions.best > reference else ": no better than the seed"
                )
            lines.append(
                f"  best candidate: {solutions.best:.3f} on val ({solutions.best_task}){versus}{verdict}"
            )
        elif solutions.produced:
            seeds = [
                f"{data.seed_scores[t]['val']:.3f} ({t})"
                for t in _tasks(runs)
                if "val" in data.seed_scores.get(t, {})
            ]
            lines.append(
                "  best candidate: none scored" + (f"; u(s) on val {', '.join(seeds)}" if seeds else "")
            )
    if not data.iterations:
        lines.append("no iteration recorded")
    return lines


def _tasks(runs) -> list[str]:
    return sorted({r.task for r in runs if r.task and r.purpose != "self_improve"})


def _first_line(text: str) -> str:
    stripped = text.strip().splitlines()
    return stripped[-1][:200] if stripped else ""


def summary_line(data: ReportData) -> str:
    """One sentence for the end of a run or a report: how the meta-utility moved, and against what."""
    its = data.iterations
    if not its:
        return f"run {data.run.id} ({data.run.status}): no iteration recorded"
    improved = sum(it.status == "improved" for it in its)
    failed = sum(it.status == "failed" for it in its)
    first, last = its[0].meta_utility_val, its[-1].meta_utility_val
    text = (
        f"{len(its) - 1} self-improvement iterations ({improved} improved, {failed} failed); "
        f"validation meta-utility {_num(first)} at the seed, {_num(last)} at the end"
    )
    references = [s["val"] for s in data.seed_scores.values() if "val" in s]
    if references:
        text += f"; the seed solution scores {_num(sum(references) / len(references))}"
    return text


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
