"""The unit of every experiment: an arm's improver run on each task and repeat, scored per split.

Each (arm, task, repeat) has its own deterministic stream, `exp/<arm>/<task>/r<repeat>`,
so a rerun reuses what was recorded on that stream (no model call, no scoring), and two
arms are paired by (task, repeat). The improver sees the task's validation utility, as in
the paper; what it returns is scored on the splits asked for (the test split by default).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from selftaught.experiments.session import ExperimentRun
from selftaught.runs.scope import Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.meta_utility import MetaUtility, run_repeat
from selftaught.tasks.base import Task

STREAM_ROOT = "exp"


@dataclass(frozen=True)
class RepeatScore:
    """One improver run of an arm: where it ran, whether it returned code, and its scores."""

    arm: str
    task: str
    repeat: int
    stream: str
    ok: bool
    error_kind: str | None
    scores: dict[str, float]

    @property
    def pair_key(self) -> str:
        return f"{self.task}/r{self.repeat}"


def arm_stream(arm: str, task: str, repeat: int) -> str:
    return f"{STREAM_ROOT}/{arm}/{task}/r{repeat}"


def evaluate_arm(
    exp: ExperimentRun,
    arm: str,
    improver_source: str,
    *,
    splits: tuple[str, ...] = ("test",),
    tasks: list[Task] | None = None,
    iteration: int | None = None,
) -> list[RepeatScore]:
    """Run `improver_source` n_tests times per task (reusing what the store has), in task, repeat order."""
    ctx = exp.ctx
    tasks = tasks or ctx.tasks
    jobs = [(task, repeat) for task in tasks for repeat in range(ctx.config.n_tests)]
    scope = Scope(iteration=iteration, stream=STREAM_ROOT)

    def one(task: Task, repeat: int) -> RepeatScore:
        stream = arm_stream(arm, task.name, repeat)
        recorded = exp.reuse(stream)
        if recorded is not None:
            scores = {"val": recorded.score_val, "test": recorded.score_test}
            return RepeatScore(
                arm,
                task.name,
                repeat,
                stream,
                recorded.status == "ok",
                recorded.error_kind,
                {s: float(scores.get(s) or 0.0) for s in splits},
            )
        ctx.check_running()
        result = run_repeat(
            ctx, improver_source, task, repeat, splits, scope=scope, purpose=f"arm:{arm}", segment=arm
        )
        return RepeatScore(
            arm, task.name, repeat, stream, result.outcome.ok, result.outcome.error_kind, result.scores
        )

    workers = max(1, min(len(jobs), ctx.config.parallel_improvers))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="arm") as executor:
        futures = [executor.submit(one, task, repeat) for task, repeat in jobs]
        return [future.result() for future in futures]


@dataclass(frozen=True)
class Improvement:
    """One improvement step: which improver rewrote which, and what it returned (None if it failed)."""

    arm: str
    step: int
    stream: str
    candidate: str | None
    error_kind: str | None


def improve_once(exp: ExperimentRun, arm: str, step: int, improver: str, target: str) -> Improvement:
    """`improver` rewrites the improver `target`, scored by the validation meta-utility (or reused)."""
    ctx = exp.ctx
    segment = f"{arm}/t{step}/self"
    stream = f"{STREAM_ROOT}/{segment}"
    recorded = exp.reuse(stream)
    if recorded is not None:
        ok = recorded.status == "ok" and recorded.result_hash is not None
        candidate = exp.store.source(recorded.result_hash) if ok and recorded.result_hash else None
        return Improvement(arm, step, stream, candidate, recorded.error_kind)
    ctx.check_running()
    scope = ctx.start_improver_run(Scope(iteration=step, stream=STREAM_ROOT), f"arm:{arm}", improver, segment)
    outcome = run_improver(ctx, improver, target, MetaUtility(ctx), scope)
    ctx.finish_improver_run(scope, outcome, "improver")
    return Improvement(arm, step, stream, outcome.solution if outcome.ok else None, outcome.error_kind)


def mean_score(repeats: list[RepeatScore], split: str = "test", *, only_ok: bool = False) -> float | None:
    """Mean over the repeats (failed ones count 0, or are left out with `only_ok`); None if none remain."""
    values = [r.scores[split] for r in repeats if r.ok or not only_ok]
    return sum(values) / len(values) if values else None
