"""Running an arena: every arm, R runs x n_tests repeats per task, at the same budget; then the table.

Arms run one after the other. An internal arm's repeats run at once (up to
`parallel_improvers`), each in its own sandboxed child; an external arm's repeats run one
at a time (the optimizer and its scorings use the cores), with the gateway serving on
127.0.0.1 for the length of the arm. Everything is recorded under the experiment, so the
same command again reprints a finished arena without a model request, and continues an
interrupted one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from selftaught.arena.arms import ArmSpec, reference_arm
from selftaught.arena.budget import ArmBudget
from selftaught.arena.external_repeat import run_external_repeat
from selftaught.arena.gateway import Gateway
from selftaught.arena.internal import run_internal_repeat
from selftaught.arena.repeat import ArenaRepeat
from selftaught.arena.server import GatewayServer
from selftaught.arena.table import ArenaResult, arena_rows
from selftaught.arena.usage import repeat_usage, usage_by_improver_run
from selftaught.experiments.session import ExperimentRun


def run_arm(exp: ExperimentRun, arm: ArmSpec, runs: int, budget: ArmBudget) -> list[ArenaRepeat]:
    ctx = exp.ctx
    jobs = [
        (run, task, repeat)
        for run in range(runs)
        for task in ctx.tasks
        for repeat in range(ctx.config.n_tests)
    ]
    ctx.progress(f"arena: {arm.name}, {len(jobs)} repeats")
    if arm.kind == "external":
        with GatewayServer(Gateway()) as server:
            return [
                run_external_repeat(exp, arm, server, task, run, repeat, budget) for run, task, repeat in jobs
            ]
    workers = max(1, min(len(jobs), ctx.config.parallel_improvers))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="arena") as executor:
        futures = [
            executor.submit(run_internal_repeat, exp, arm, task, run, repeat, budget)
            for run, task, repeat in jobs
        ]
        return [future.result() for future in futures]


def run_arena(exp: ExperimentRun, arms: list[ArmSpec], runs: int, budget: ArmBudget) -> ArenaResult:
    per_arm = {arm.name: run_arm(exp, arm, runs, budget) for arm in arms}
    by_run = usage_by_improver_run(exp.store, exp.run_id, exp.ctx.control.limiter.prices)
    usage = {
        name: [repeat_usage(by_run, r.improver_run_ids) for r in repeats] for name, repeats in per_arm.items()
    }
    reference = reference_arm(arms)
    rows = arena_rows([(a.name, a.kind) for a in arms], reference, per_arm, usage, budget)
    points = tuple(
        {**r.to_json(), **used.to_json()}
        for name in per_arm
        for r, used in zip(per_arm[name], usage[name], strict=True)
    )
    return ArenaResult(
        exp.run_id,
        reference,
        budget,
        runs,
        tuple(task.name for task in exp.ctx.tasks),
        tuple(arm.to_json() for arm in arms),
        rows,
        points,
    )
