"""An external arm's repeat: the optimizer's child, against a lease on the gateway, then the test split.

The repeat is one improver run in the store (stream `arena/<arm>/run<r>/<task>/r<repeat>`,
its "improver" the adapter's recorded settings), so its model calls are recorded under it,
a finished repeat is reused by a rerun, and an unfinished one (kill -9) runs again with
its paid calls served from the response cache. The child gets the gateway's address, a
lease token for this repeat's budget and an evaluator file that posts programs back for
validation scoring; what it returns as its best is scored on the test split here.
A crash, a hang or no program ends this repeat only, recorded with the reason.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from selftaught.arena.arms import ArmSpec
from selftaught.arena.budget import ArmBudget
from selftaught.arena.external import ExternalJob, external_optimizer, run_external, write_evaluator
from selftaught.arena.gateway import MODEL_NAME
from selftaught.arena.repeat import STREAM_ROOT, ArenaRepeat, repeat_segment
from selftaught.arena.server import GatewayServer
from selftaught.experiments.session import ExperimentRun
from selftaught.runs.scope import Scope
from selftaught.seeding import stable_seed
from selftaught.stop.improver_run import ImproverOutcome
from selftaught.tasks.base import Task

EVALUATOR_TIMEOUT_S = 900.0


def external_timeout_s(timeout_s: float, budget: ArmBudget) -> float:
    """How long a repeat may run: the improver timeout per sample of the budget, and one more."""
    return float(timeout_s) * (budget.samples + 1)


def run_external_repeat(
    exp: ExperimentRun,
    arm: ArmSpec,
    server: GatewayServer,
    task: Task,
    run: int,
    repeat: int,
    budget: ArmBudget,
) -> ArenaRepeat:
    ctx = exp.ctx
    adapter = external_optimizer(arm.name)
    assert adapter is not None and arm.settings is not None
    segment = repeat_segment(arm.slug, run, task.name, repeat)
    stream = f"{STREAM_ROOT}/{segment}"
    recorded = exp.reuse(stream)
    if recorded is not None:
        ok = recorded.status == "ok"
        return ArenaRepeat(
            arm.name,
            run,
            task.name,
            repeat,
            ok,
            recorded.error_kind,
            recorded.error,
            recorded.score_val,
            float(recorded.score_test or 0.0) if ok else 0.0,
            [recorded.id],
        )
    ctx.check_running()
    settings_text = json.dumps(arm.settings, sort_keys=True, indent=1)
    scope = ctx.start_improver_run(
        Scope(stream=STREAM_ROOT), f"arena:{arm.name}", settings_text, segment, task=task.name, repeat=repeat
    )
    lease = server.gateway.open_lease(ctx, task, scope, budget)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix=f"selftaught-arena-{arm.slug}-") as folder:
            workdir = Path(folder)
            job = ExternalJob(
                api_base=server.api_base,
                api_key=lease.token,
                model=MODEL_NAME,
                budget=budget,
                initial_program=task.seed_solution(),
                evaluator_path=write_evaluator(
                    workdir / "selftaught_evaluator.py", server.evaluate_url, lease.token, EVALUATOR_TIMEOUT_S
                ),
                workdir=workdir,
                result_path=workdir / "result.json",
                seed=stable_seed("arena", ctx.config.seed, stream) % (2**31),
                timeout_s=external_timeout_s(ctx.config.timeout_s, budget),
                task=task.name,
                utility_text=task.shown_utility(),
            )
            result = run_external(adapter, job, arm.settings)
    finally:
        server.gateway.close_lease(lease.token)
    ctx.check_running()  # a run stopped meanwhile (limits, replay miss) is not the optimizer's failure
    elapsed = time.monotonic() - started
    usage = lease.usage
    best = result.best_program
    scores: dict[str, float] | None = None
    if best is not None:
        scores = {split: ctx.score(task, best, split, scope).score for split in ("val", "test")}
    outcome = ImproverOutcome(
        best is not None, best, result.error_kind, result.error, elapsed, usage.requests, usage.evaluations
    )
    ctx.finish_improver_run(scope, outcome, "solution", scores)
    ctx.progress()
    assert scope.improver_run_id is not None
    return ArenaRepeat(
        arm.name,
        run,
        task.name,
        repeat,
        best is not None,
        result.error_kind,
        result.error,
        scores["val"] if scores else None,
        scores["test"] if scores else 0.0,
        [scope.improver_run_id],
    )
