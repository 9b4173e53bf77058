"""Utilities on the trusted side: a task's utility, and the meta-utility of an improver.

The meta-utility of an improver is the mean, over tasks and `n_tests` repeats, of the
hidden utility of the solution the improver returns when run on the task's seed
solution with a fresh model handle and a fresh utility budget. A repeat whose improver
fails (exception, timeout, budget overrun, nothing returned) counts as 0. Under
`scoring = "reference"`, as in the reference implementation, a candidate improver
whose meta-utility is asked for during self-improvement scores 0 as a whole when any
one of its repeats raised. Repeats and
tasks run at the same time, each improver in its own child; every repeat has its own
deterministic stream, so results do not depend on the order answers arrive in.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources

from selftaught.inside.helpers import extract_code
from selftaught.stop.context import RunContext, Scope
from selftaught.stop.improver_run import ImproverOutcome, run_improver
from selftaught.tasks.base import Task


class TaskUtility:
    """The utility an improver gets for a downstream task: hidden scoring on one split."""

    def __init__(self, ctx: RunContext, task: Task, split: str = "val") -> None:
        self.ctx = ctx
        self.task = task
        self.split = split
        self.str = task.shown_utility()
        self.budget = ctx.config.utility_budget

    def score(self, code: object, scope: Scope) -> float:
        return self.ctx.score(self.task, code, self.split, scope).score

    def restart(self) -> None:
        """Nothing to start over: scores are memoized by code, not numbered."""

    def prefetch(self, answers: list[str]) -> None:
        """Start scoring the code blocks of model answers an improver just received (eager scoring):
        what it will most likely ask `utility` for next. Scoring is pure, so nothing but CPU is spent
        on a block it never asks for, and nothing is recorded for it."""
        for answer in answers:
            code = extract_code(answer) if isinstance(answer, str) else None
            if code:
                self.ctx.prefetch_score(self.task, code, self.split)


@dataclass
class RepeatResult:
    task: str
    repeat: int
    outcome: ImproverOutcome
    scores: dict[str, float]


@dataclass
class ImproverEvaluation:
    """Meta-utility of one improver, per split, with the repeats it is the mean of."""

    meta_utility: dict[str, float]
    per_task: dict[str, dict[str, float]]
    repeats: list[RepeatResult] = field(default_factory=list)


@dataclass(frozen=True)
class _Where:
    """Where an evaluation's improver runs are recorded: scope, purpose, stream segment, meta-call index."""

    scope: Scope
    purpose: str
    segment: str
    meta_call: int | None


def _one_repeat(
    ctx: RunContext, improver_source: str, task: Task, repeat: int, splits: tuple[str, ...], where: _Where
) -> RepeatResult:
    scope, purpose, segment, meta_call = where.scope, where.purpose, where.segment, where.meta_call
    run_scope = ctx.start_improver_run(
        scope,
        purpose,
        improver_source,
        f"{segment}/{task.name}/r{repeat}",
        task=task.name,
        repeat=repeat,
        meta_call=meta_call,
    )
    outcome = run_improver(ctx, improver_source, task.seed_solution(), TaskUtility(ctx, task), run_scope)
    scores = _split_scores(ctx, task, outcome, splits, run_scope)
    ctx.finish_improver_run(run_scope, outcome, "solution", scores)
    ctx.progress()
    return RepeatResult(task.name, repeat, outcome, scores)


def run_repeat(
    ctx: RunContext,
    improver_source: str,
    task: Task,
    repeat: int,
    splits: tuple[str, ...],
    *,
    scope: Scope,
    purpose: str,
    segment: str,
) -> RepeatResult:
    """One improver run on `task`'s seed, recorded on stream `<scope>/<segment>/<task>/r<repeat>`, scored."""
    return _one_repeat(ctx, improver_source, task, repeat, splits, _Where(scope, purpose, segment, None))


def _split_scores(
    ctx: RunContext, task: Task, outcome: ImproverOutcome, splits: tuple[str, ...], scope: Scope
) -> dict[str, float]:
    """The returned solution's score on each split, the splits scored at the same time (each
    is on the iteration's critical path when it is the last repeat to finish)."""
    if not outcome.ok:
        return dict.fromkeys(splits, 0.0)
    if len(splits) == 1:
        return {splits[0]: ctx.score(task, outcome.solution, splits[0], scope).score}
    with ThreadPoolExecutor(max_workers=len(splits), thread_name_prefix="split") as threads:
        futures = {split: threads.submit(ctx.score, task, outcome.solution, split, scope) for split in splits}
        return {split: future.result().score for split, future in futures.items()}


def measure_improver(
    ctx: RunContext,
    improver_source: str,
    splits: tuple[str, ...],
    scope: Scope,
    purpose: str,
    segment: str,
    *,
    meta_call: int | None = None,
) -> ImproverEvaluation:
    """Run the improver `n_tests` times per task (concurrently) and score what it returns on each split."""
    jobs = [(task, repeat) for task in ctx.tasks for repeat in range(ctx.config.n_tests)]
    workers = max(1, min(len(jobs), ctx.config.parallel_improvers))
    where = _Where(scope, purpose, segment, meta_call)
    threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="improver")
    try:
        futures = [
            threads.submit(_one_repeat, ctx, improver_source, task, repeat, splits, where)
            for task, repeat in jobs
        ]
        repeats = [future.result() for future in futures]
    finally:
        threads.shutdown(wait=False, cancel_futures=True)
    per_task = {
        task.name: {
            split: _mean([r.scores[split] for r in repeats if r.task == task.name]) for split in splits
        }
        for task in ctx.tasks
    }
    meta = {split: _mean([r.scores[split] for r in repeats]) for split in splits}
    return ImproverEvaluation(meta, per_task, repeats)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def meta_utility_text(ctx: RunContext) -> str:
    """The meta-utility's shown text, with this run's budgets filled in."""
    template = resources.files("selftaught.data").joinpath("meta_utility.txt").read_text()
    config = ctx.config
    return template.format(
        meta_budget=config.meta_utility_budget,
        n_tests=config.n_tests,
        calls=config.calls,
        samples=config.samples,
    )


class MetaUtility:
    """The utility an improver gets when it improves an improver: validation meta-utility.

    Its calls are numbered (`meta1`, `meta2`, ...: their streams). An improver run redone after
    its sandbox worker was lost (`restart`) numbers its calls from 1 again and gets the
    evaluations the lost try already made (or is still making) for the same code, so a redo
    records what a run without the loss records, and pays nothing twice.
    """

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.str = meta_utility_text(ctx)
        self.budget = ctx.config.meta_utility_budget
        self.calls = 0
        self._made: dict[int, tuple[str, Future[float]]] = {}  # call number -> (code, its score)
        self._lock = threading.Lock()

    def restart(self) -> None:
        with self._lock:
            self.calls = 0

    def score(self, code: object, scope: Scope) -> float:
        if not isinstance(code, str) or not code.strip():
            return 0.0
        with self._lock:
            self.calls += 1
            made = self._made.get(self.calls)
            if made is not None and made[0] == code:
                future, mine = made[1], False
            else:
                if made is not None:  # a redo that asks otherwise: a number no try has used
                    self.calls = max(self._made) + 1
                future, mine = Future(), True
                self._made[self.calls] = (code, future)
            call = self.calls
        if not mine:
            return future.result()
        try:
            future.set_result(self._evaluate(code, scope, call))
        except BaseException as exc:
            future.set_exception(exc)
            with self._lock:  # a stopped run, not a score: a redo evaluates again
                self._made.pop(call, None)
            raise
        return future.result()

    def _evaluate(self, code: str, scope: Scope, call: int) -> float:
        evaluation = measure_improver(
            self.ctx, code, ("val",), scope, "meta_call", f"meta{call}", meta_call=call
        )
        if self.ctx.config.scoring == "reference" and any(raised(r.outcome) for r in evaluation.repeats):
            return 0.0  # the reference's improver-level zero: one repeat that raised voids the rest
        return evaluation.meta_utility["val"]


def raised(outcome: ImproverOutcome) -> bool:
    """Whether an improver run ended by raising (exception, timeout, budget overrun), not by returning."""
    return not outcome.ok and outcome.error_kind not in (None, "empty")
