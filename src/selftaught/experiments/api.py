"""One function per experiment, for Python users and the `selftaught experiment` commands.

Each takes a RunConfig (model, tasks, budgets, seed, scoring, sandbox) and a store, and
returns a named result whose `to_json()` is what `--json` prints. Running one again with
the same settings continues it, or reprints it, from the store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selftaught.config import RESUMABLE_SETTINGS, RunConfig, load_config
from selftaught.errors import UserInputError
from selftaught.experiments.compare import CompareResult, run_compare
from selftaught.experiments.multirun import MultiRunResult, run_members, summarize
from selftaught.experiments.recursion import RecursionResult, run_recursion
from selftaught.experiments.session import open_experiment, recorded_experiment
from selftaught.experiments.transfer import TRANSFER_TASKS, TransferResult, improver_from_run, run_transfer
from selftaught.runs.calls import JsonResult, RunHooks
from selftaught.store.store import Store


def _open(config: RunConfig, kind: str, parameters: dict[str, Any], store: Store, hooks: RunHooks):
    return open_experiment(config, kind, parameters, store=store, hooks=hooks)


def _seed_source() -> str:
    from selftaught.stop.seed import seed_improver_source

    return seed_improver_source()


def experiment_transfer(
    config: RunConfig, improver: str, *, store: Store, hooks: RunHooks | None = None
) -> TransferResult:
    """`improver` is a file path or RUN_ID[:ITERATION]; default tasks are the paper's five transfer tasks."""
    hooks = hooks or RunHooks()
    path = Path(improver)
    if path.is_file():
        from selftaught.api import check_improver

        source, label = path.read_text(encoding="utf-8"), str(path)
        check_improver(source, label)
    elif ":" in improver or store.run(improver) is not None:
        source, label = improver_from_run(store, improver)
    else:
        raise UserInputError(f"improver {improver!r} is neither a file nor a run of {store.path}")
    parameters = {"improver": label, "improver_hash": store.put_source(source, "improver")}
    with _open(config, "transfer", parameters, store, hooks) as exp:
        return run_transfer(exp, _seed_source(), source, label)


def transfer_config(settings: dict[str, Any], config_file: Path | None = None) -> RunConfig:
    """Transfer's settings: the five transfer tasks unless tasks are given."""
    return load_config(config_file, {"tasks": list(TRANSFER_TASKS), **settings, "iterations": 0})


def experiment_baselines(
    config: RunConfig, runs: int, *, store: Store, hooks: RunHooks | None = None
) -> CompareResult:
    from selftaught.analysis.packaged import BASELINES

    return _compare(config, "baselines", BASELINES, runs, store, hooks or RunHooks())


def experiment_prompts(
    config: RunConfig, runs: int, *, store: Store, hooks: RunHooks | None = None
) -> CompareResult:
    from selftaught.analysis.packaged import PROMPT_VARIANTS

    return _compare(config, "prompts", PROMPT_VARIANTS, runs, store, hooks or RunHooks())


def _compare(
    config: RunConfig, kind: str, arms: tuple[str, ...], runs: int, store: Store, hooks: RunHooks
) -> CompareResult:
    if runs < 1:
        raise UserInputError("--runs must be at least 1")
    with _open(config, kind, {"arms": list(arms), "runs": runs}, store, hooks) as exp:
        return run_compare(exp, kind, arms, runs)


def recursion_config(store: Store, run_id: str, settings: dict[str, Any]) -> RunConfig:
    """The recorded run's settings (its budgets make the ablation matched), with transport overrides."""
    run = store.run(run_id)
    if run is None or run.kind != "stop":
        raise UserInputError(f"no STOP run {run_id!r} in {store.path}")
    return load_config(None, settings, base=run.config)


def experiment_recursion(
    config: RunConfig, run_id: str, *, store: Store, hooks: RunHooks | None = None
) -> RecursionResult:
    with _open(config, "recursion", {"run": run_id}, store, hooks or RunHooks()) as exp:
        return run_recursion(exp, run_id)


def experiment_runs(
    config: RunConfig, runs: int, *, store: Store, hooks: RunHooks | None = None
) -> MultiRunResult:
    """R STOP runs with seeds seed..seed+R-1 (reused, resumed or started), summarized."""
    from selftaught.api import resume_run, start_run

    hooks = hooks or RunHooks()
    if runs < 1:
        raise UserInputError("--runs must be at least 1")
    with _open(config, "runs", {"runs": runs}, store, hooks) as exp:

        def start(member: RunConfig) -> str:
            result = start_run(member, store=store, pool=exp.ctx.executor, on_progress=hooks.on_progress)
            _check(result.status, result.reason, result.run_id)
            return result.run_id

        def resume(run_id: str) -> None:
            result = resume_run(store, run_id, pool=exp.ctx.executor, on_progress=hooks.on_progress)
            _check(result.status, result.reason, run_id)

        ids = run_members(store, config, runs, start, resume)
        return summarize(store, exp.run_id, ids)


def _check(status: str, reason: str | None, run_id: str) -> None:
    from selftaught.models.limits import RunStopped

    if status == "interrupted":
        raise KeyboardInterrupt
    if status != "finished":
        raise RunStopped(f"member run {run_id} {status}: {reason}", clean=status == "stopped")


def resume_experiment(
    store: Store,
    run_id: str,
    *,
    hooks: RunHooks | None = None,
    overrides: dict[str, Any] | None = None,
) -> JsonResult:
    """Continue (or reprint) a recorded experiment with the settings it was recorded with: the
    kind's result (a transfer's, a comparison's, a recursion's, a multi-run's or an arena's).

    `overrides` may change the settings of config.RESUMABLE_SETTINGS (limits, transport), which
    an experiment's identity leaves out; anything else is refused.
    """
    config, kind, parameters = recorded_experiment(store, run_id)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    refused = sorted(set(overrides) - set(RESUMABLE_SETTINGS))
    if refused:
        raise UserInputError(
            f"a resumed experiment keeps its {', '.join(refused)}; only limits and transport may change"
        )
    config = load_config(base=config.model_dump(), given=overrides)
    hooks = hooks or RunHooks()
    if kind == "transfer":
        improver = parameters["improver"]
        source = store.source(parameters["improver_hash"])
        if source is None:
            raise UserInputError(f"experiment {run_id}: its improver is not in the store")
        with _open(config, kind, parameters, store, hooks) as exp:
            return run_transfer(exp, _seed_source(), source, improver)
    if kind in ("baselines", "prompts"):
        with _open(config, kind, parameters, store, hooks) as exp:
            return run_compare(exp, kind, tuple(parameters["arms"]), int(parameters["runs"]))
    if kind == "recursion":
        return experiment_recursion(config, parameters["run"], store=store, hooks=hooks)
    if kind == "runs":
        return experiment_runs(config, int(parameters["runs"]), store=store, hooks=hooks)
    if kind == "arena":
        from selftaught.arena.api import resume_arena

        return resume_arena(config, parameters, store, hooks)
    raise UserInputError(f"experiment {run_id} is of an unknown kind {kind!r}")
