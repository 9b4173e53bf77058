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
from selftaught.runs.context import RunContext
from selftaught.runs.scope import Scope
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

    def prefetch(self, answers: list[str], scope: Scope | None = None) -> None:
        """Start scoring the code blocks of model answers an improver just received (eager scoring):
        what it will most likely ask `utility` for next. Scoring is pure, so nothing but CPU is spent
        on a block it never asks for, and nothing is recorded for it."""
        self.ctx.prefetch_scores(self.task, _code_blocks(answers), self.split)

    def finish(self, scope: Scope | None = None, wait: bool = True) -> None:
        """Nothing outlives the improver run."""


def _code_blocks(answers: list[str]) -> list[str]:
    """The non-blank code blocks of model answers, in answer order (what `utility` can be asked for)."""
    blocks = (extract_code(answer) if isinstance(answer, str) else None for answer in answers)
    return [code for code in blocks if isinstance(code, str) and code.strip()]


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


@dataclass
class _Speculation:
    """A meta-utility evaluation started before the improver asked for it (`--speculate`)."""

    code: str
    future: Future[float]
    claimed: bool = False


class MetaUtility:
    """The utility an improver gets when it improves an improver: validation meta-utility.

    Its calls are numbered (`meta1`, `meta2`, ...: their streams). An improver run redone after
    its sandbox worker was lost (`restart`) numbers its calls from 1 again and gets the
    evaluations the lost try already made (or is still making) for the same code, so a redo
    records what a run without the loss records, and pays nothing twice.

    Speculation (`speculate`, the `--speculate` setting): when the improver receives model
    answers, the evaluation of each of their code blocks starts at once, numbered as if the
    improver asked for the blocks next, in answer order (block j of answers arriving after
    call c is call c + j; blocks without code are skipped, as `score` does not number them).
    That is the order of the seed improver (`max(candidates, key=utility)`), so its six
    evaluations run at the same time instead of one after another. A speculation is claimed
    when the improver's own call of that number asks for the same code: the call gets its
    score, and the records are the ones that call would have made itself (same stream, same
    meta-call number, same model answers), so results are identical to a run without
    speculation. A call that asks for other code than was speculated under its number is
    evaluated itself under that number, as without speculation. Speculations never claimed
    by the time the improver run ends are waited for (an improver run ends only when its
    evaluations have, unless the run is stopping) and their improver runs relabelled
    `speculative`: they are not results, but their model calls were made, so they count in
    `show`, `--max-calls` and `--max-cost` (their stream may be the same as a claimed call's;
    the purpose tells them apart).
    """

    def __init__(self, ctx: RunContext, *, speculate: bool | None = None) -> None:
        self.ctx = ctx
        self.str = meta_utility_text(ctx)
        self.budget = ctx.config.meta_utility_budget
        self.speculate = bool(getattr(ctx.config, "speculate", False)) if speculate is None else speculate
        self.calls = 0
        self._made: dict[int, tuple[str, Future[float]]] = {}  # call number -> (code, its score)
        self._speculated: dict[int, _Speculation] = {}  # call number -> an evaluation started early
        self._lock = threading.Lock()
        self.claimed = 0  # speculations an improver call asked for (for tests, diagnostics)
        self.unclaimed = 0  # speculations it never asked for, recorded as speculative

    def restart(self) -> None:
        with self._lock:
            self.calls = 0

    def prefetch(self, answers: list[str], scope: Scope | None = None) -> None:
        """Speculation: start evaluating the answers' code blocks under the call numbers they get if
        the improver asks for each of them next, in order (see the class docstring)."""
        if not self.speculate or scope is None:
            return
        started = []
        with self._lock:
            number = self.calls
            for code in _code_blocks(answers):
                number += 1
                if number > self.budget:  # calls past the budget score 0 unevaluated
                    break
                if number in self._made or number in self._speculated:
                    continue  # asked for already (a redo), or speculated from earlier answers
                speculation = _Speculation(code, Future())
                self._speculated[number] = speculation
                started.append((number, speculation))
        for number, speculation in started:
            threading.Thread(
                target=self._speculate,
                args=(speculation, scope, number),
                name=f"speculate{number}",
                daemon=True,
            ).start()

    def _speculate(self, speculation: _Speculation, scope: Scope, call: int) -> None:
        try:
            speculation.future.set_result(self._evaluate(speculation.code, scope, call))
        except BaseException as exc:  # noqa: BLE001 - handed to the call that claims it, if one does
            speculation.future.set_exception(exc)

    def finish(self, scope: Scope | None = None, wait: bool = True) -> None:
        """The improver run ended: wait for the speculations it never asked for, and label them.
        Without `wait` (the run is stopping, and stops them) only the improver runs they have
        started so far are labelled."""
        with self._lock:
            left, self._speculated = self._speculated, {}
        for call, speculation in sorted(left.items()):
            if wait:
                speculation.future.exception()  # nobody asked for it (a stopped run says so itself)
            self.unclaimed += 1
            store, run_id = self.ctx.store, self.ctx.run_id
            if store is not None and run_id is not None and scope is not None:
                store.mark_speculative(run_id, scope.improver_run_id, call, speculation.code)

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
                speculation = self._speculated.get(self.calls)
                if speculation is not None and speculation.code == code:  # claimed: it is this call's
                    del self._speculated[self.calls]
                    self.claimed += 1
                    future, mine = speculation.future, False
                else:
                    future, mine = Future(), True
                self._made[self.calls] = (code, future)
            call = self.calls
        if not mine:
            try:
                return future.result()
            except BaseException:
                with self._lock:  # a stopped run, not a score: a redo evaluates again
                    if self._made.get(call, (None, None))[1] is future:
                        self._made.pop(call)
                raise
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
