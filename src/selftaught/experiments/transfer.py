"""Table 1 of the paper: does an improved improver transfer to tasks it was not improved on?

Per task: u(s), the seed solution's test score; the meta-utility of the seed improver I_0
and of the given improver I_T on the held-out test split (each improver selects with the
task's validation utility), each with an interval over the repeats built from their
failure rate and their successes' scores (stats.score_mean_ci: the t interval covers
~83% at n_tests = 5 when repeats fail, see docs/experiments.md); and the paired
difference I_T - I_0, paired by (task, repeat), with a paired t interval (the two arms'
repeats run on their own streams, so their differences are near symmetric and t holds).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from selftaught.analysis.stats import Estimate, footnote, paired_difference, score_mean_ci
from selftaught.errors import UserInputError
from selftaught.experiments.arms import RepeatScore, evaluate_arm
from selftaught.experiments.session import ExperimentRun
from selftaught.runs.scope import Scope
from selftaught.store.store import Store

TRANSFER_TASKS = ("str_grid_dist", "mqap", "three_sat", "maxcut", "parity_noiseless")


@dataclass(frozen=True)
class TransferRow:
    task: str
    u_seed: float
    i0: Estimate
    it: Estimate
    diff: Estimate

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "u_seed": self.u_seed,
            "i0": self.i0.to_json(),
            "it": self.it.to_json(),
            "diff": self.diff.to_json(),
        }


@dataclass(frozen=True)
class TransferResult:
    id: str
    improver: str  # what was given: a file or RUN:ITERATION
    rows: tuple[TransferRow, ...]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "improver": self.improver, "rows": [r.to_json() for r in self.rows]}

    @property
    def note(self) -> str:
        estimates = [e for r in self.rows for e in (r.i0, r.it, r.diff)]
        return footnote(estimates, unit="repeats") + "; diff is paired by task and repeat"


def improver_from_run(store: Store, spec: str) -> tuple[str, str]:
    """The improver source named by `RUN_ID[:ITERATION]` (default: the improver in use after the last one)."""
    run_id, _, which = spec.partition(":")
    iterations = store.iterations(run_id)
    if store.run(run_id) is None:
        raise UserInputError(f"no run {run_id!r} in {store.path}")
    if not iterations:
        raise UserInputError(f"run {run_id} has recorded no iteration yet")
    if which:
        if not which.isdigit():
            raise UserInputError(f"iteration {which!r} is not a number (use RUN_ID:ITERATION)")
        chosen = [it for it in iterations if it.iteration == int(which)]
        if not chosen:
            raise UserInputError(f"run {run_id} has no iteration {which}")
        record = chosen[0]
    else:
        record = iterations[-1]
    source = store.source(record.improver_hash)
    if source is None:
        raise UserInputError(
            f"run {run_id}: the improver of iteration {record.iteration} is not in the store"
        )
    return source, f"{run_id}:{record.iteration}"


def run_transfer(exp: ExperimentRun, seed_improver: str, improver: str, label: str) -> TransferResult:
    """Evaluate I_0 and I_T on every task of the experiment and build the table."""
    ctx = exp.ctx
    ctx.progress("transfer: u(s), I_0 and I_T on each task")

    def seed_scores() -> dict[str, float]:
        scope = Scope(stream="exp/u_seed")
        return {task.name: ctx.score(task, task.seed_solution(), "test", scope).score for task in ctx.tasks}

    # the three are independent: run them at once, so model latency overlaps with scoring
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="transfer") as executor:
        seeded = executor.submit(seed_scores)
        first = executor.submit(evaluate_arm, exp, "i0", seed_improver)
        given = executor.submit(evaluate_arm, exp, "it", improver)
        u_seed, i0, it = seeded.result(), first.result(), given.result()
    rows = [transfer_row(task.name, u_seed[task.name], i0, it) for task in ctx.tasks]
    return TransferResult(exp.run_id, label, tuple(rows))


def transfer_row(task: str, u_seed: float, i0: list[RepeatScore], it: list[RepeatScore]) -> TransferRow:
    """One task's row from the two arms' repeats (repeats of other tasks are ignored)."""
    a = {r.pair_key: r.scores["test"] for r in it if r.task == task}
    b = {r.pair_key: r.scores["test"] for r in i0 if r.task == task}
    return TransferRow(
        task, u_seed, score_mean_ci(b.values()), score_mean_ci(a.values()), paired_difference(a, b)
    )
