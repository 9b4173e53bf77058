"""`selftaught experiment ...`: parse, call selftaught.experiments, print the table (or JSON).

Every experiment is resumable: the same command again (or `selftaught resume ID`)
continues it from the store, or reprints it when it has finished, without repaying any
model call. Exit codes as for `run`: 0 finished or stopped at a limit, 1 failed, 130 interrupted.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from selftaught.cli.common import JsonOpt, StoreOpt, err, fail, out, resolve_store_path, warn
from selftaught.cli.options import ALL_SETTINGS, ConfigFileOpt, LatencyOpt, PlanOpt, with_settings
from selftaught.cli.progress import ProgressView
from selftaught.errors import UserInputError

experiment_app = typer.Typer(
    help="Experiments over many improver runs, each with confidence intervals (see docs/experiments.md).",
    no_args_is_help=True,
)
SETTINGS = tuple(f for f in ALL_SETTINGS if f not in ("iterations", "accept"))
RunsOpt = Annotated[int, typer.Option("--runs", min=1, help="independent runs (each its own streams)")]


def _hooks(view: ProgressView):
    from selftaught.runs.calls import RunHooks, RunStart

    def started(start: RunStart) -> None:
        how = "continued from the store" if start.continued else "recorded"
        err.print(f"experiment {start.run_id} ({how})", highlight=False)

    return RunHooks(on_progress=view.update, on_warning=warn, on_start=started)


def _ci(estimate: dict[str, Any]) -> str:
    mean, (lo, hi) = estimate["mean"], estimate["ci"]
    if mean is None:
        return "-"
    if lo is None or hi is None:
        return f"{mean:.3f}"
    return f"{mean:.3f} [{lo:.3f}, {hi:.3f}]"


def _execute(as_json: bool, work) -> Any:
    """Run `work(hooks)`; map how it ended to the exit code, as `run` does."""
    from selftaught.models.limits import RunStopped

    try:
        with ProgressView(not as_json) as view:
            return work(_hooks(view))
    except UserInputError as exc:
        raise fail(str(exc)) from None
    except RunStopped as stopped:
        err.print(f"stopped: {stopped}. Run the same command again to continue.", highlight=False)
        raise typer.Exit(0 if stopped.clean else 1) from None
    except KeyboardInterrupt:
        err.print("interrupted; run the same command again to continue from the store", highlight=False)
        sys.stderr.flush()
        os._exit(130)


def print_result(result: Any, as_json: bool) -> None:
    """The table of any experiment result, its interval method and counts underneath."""
    data = result.to_json()
    if as_json:
        print(json.dumps(data, allow_nan=False, default=_no_nan))
        return
    from selftaught.arena.table import ArenaResult

    if isinstance(result, ArenaResult):
        from selftaught.cli.arena import print_arena

        return print_arena(result, as_json)
    from selftaught.experiments.compare import CompareResult
    from selftaught.experiments.multirun import MultiRunResult
    from selftaught.experiments.recursion import RecursionResult
    from selftaught.experiments.transfer import TransferResult

    if isinstance(result, TransferResult):
        table = Table(title=f"transfer of {result.improver} (test split) — experiment {result.id}")
        for column in ("task", "u(s)", "I_0", "I_T", "I_T - I_0"):
            table.add_column(column, justify="left" if column == "task" else "right")
        for row in data["rows"]:
            table.add_row(
                row["task"], f"{row['u_seed']:.3f}", _ci(row["i0"]), _ci(row["it"]), _ci(row["diff"])
            )
    elif isinstance(result, CompareResult):
        table = Table(title=f"{result.kind}: meta-utility over {result.runs} runs — experiment {result.id}")
        for column in ("arm", "meta-utility", "vs first arm", "failed improver runs"):
            table.add_column(column, justify="left" if column == "arm" else "right")
        for row in data["rows"]:
            diff = _ci(row["diff_vs_first"]) if row["diff_vs_first"] else "-"
            failed = f"{row['failed_improver_runs']} of {row['improver_runs']}"
            table.add_row(row["arm"], _ci(row), diff, failed)
    elif isinstance(result, RecursionResult):
        table = Table(title=f"recursion ablation of run {result.source_run} (test) — experiment {result.id}")
        table.add_column("step", justify="right")
        arms = [c["arm"] for c in data["costs"]]
        for arm in arms:
            table.add_column(arm, justify="right")
        table.add_column("I_t metaproductivity", justify="right")
        productive = {p["step"]: p for p in data.get("metaproductivity", [])}
        steps = sorted({row["step"] for row in data["rows"]})
        for step in steps:
            cells = {row["arm"]: row for row in data["rows"] if row["step"] == step}
            table.add_row(
                str(step),
                *(_ci(cells[a]) + ("" if cells[a]["adopted"] else " (kept)") for a in arms if a in cells),
                _productivity(productive.get(step)),
            )
        table.add_row(
            "calls / evals", *(f"{c['model_calls']} / {c['evaluations']}" for c in data["costs"]), ""
        )
    else:
        assert isinstance(result, MultiRunResult)
        table = Table(title=f"{len(result.run_ids)} STOP runs (test meta-utility) — experiment {result.id}")
        table.add_column("iteration", justify="right")
        table.add_column("mean [95% CI]", justify="right")
        table.add_column("metaproductivity [95% CI]", justify="right")
        productivity = {p["iteration"]: p["metaproductivity"] for p in data.get("metaproductivity", [])}
        for row in data["rows"]:
            mp = productivity.get(row["iteration"])
            table.add_row(str(row["iteration"]), _ci(row), _ci(mp) if mp else "-")
        gained = data["gained"]
        lo, hi = gained["ci"]
        table.caption = (
            f"gained >= {gained['threshold']:g}: {gained['k']} of {gained['n']} runs [{lo:.2f}, {hi:.2f}]; "
            f"runs: {', '.join(result.run_ids)}"
        )
    out.print(table)
    out.print(result.note, highlight=False)


def _productivity(step: dict[str, Any] | None) -> str:
    """I_t's metaproductivity (its descendants' mean test score) beside its own, for the recursion table."""
    if step is None or step["metaproductivity"] is None:
        return "- (no descendant)"
    own = step["meta_utility_test"]
    return f"{step['metaproductivity']:.3f}" + ("" if own is None else f" vs own {own:.3f}")


def _no_nan(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _load(config_file: Path | None, settings: dict[str, Any], **fixed: Any):
    from selftaught.config import load_config

    return load_config(config_file, {**settings, **fixed})


def _store(store: Path | None):
    from selftaught.api import open_store

    return open_store(resolve_store_path(store), create=True)


@experiment_app.command("transfer")
@with_settings(SETTINGS)
def transfer_cmd(
    improver: Annotated[str, typer.Option("--improver", help="improver file, or RUN_ID[:ITERATION]")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    config_file: ConfigFileOpt = None,
    plan: PlanOpt = False,
    latency: LatencyOpt = 30.0,
    *,
    settings: dict[str, Any],
) -> None:
    """Table 1: u(s), I_0 and I_T on held-out tasks (default: the five transfer tasks), with intervals."""
    from selftaught.experiments import experiment_transfer
    from selftaught.experiments.api import transfer_config

    if plan:
        from selftaught.plan import plan_transfer

        _show_plan(lambda: plan_transfer(transfer_config(settings, config_file), latency), as_json)
        return

    def work(hooks):
        db = _store(store)
        return experiment_transfer(transfer_config(settings, config_file), improver, store=db, hooks=hooks)

    print_result(_execute(as_json, work), as_json)


@experiment_app.command("baselines")
@with_settings(SETTINGS)
def baselines_cmd(
    runs: RunsOpt = 3,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    config_file: ConfigFileOpt = None,
    plan: PlanOpt = False,
    latency: LatencyOpt = 30.0,
    *,
    settings: dict[str, Any],
) -> None:
    """The seed improver against chain-of-thought, greedy iterative and best-of-N, over --runs runs."""
    from selftaught.experiments import experiment_baselines

    if plan:
        _plan_compare("baselines", runs, as_json, config_file, settings, latency)
        return
    _compare(experiment_baselines, runs, store, as_json, config_file, settings)


@experiment_app.command("prompts")
@with_settings(SETTINGS)
def prompts_cmd(
    runs: RunsOpt = 3,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    config_file: ConfigFileOpt = None,
    plan: PlanOpt = False,
    latency: LatencyOpt = 30.0,
    *,
    settings: dict[str, Any],
) -> None:
    """The seed improver under prompt variants (its own wording, a terse one, one with a sandbox warning)."""
    from selftaught.experiments import experiment_prompts

    if plan:
        _plan_compare("prompts", runs, as_json, config_file, settings, latency)
        return
    _compare(experiment_prompts, runs, store, as_json, config_file, settings)


def _show_plan(make_plan, as_json: bool) -> None:
    from selftaught.cli.run import show_plan

    show_plan(make_plan, as_json)


def _plan_compare(kind: str, runs: int, as_json: bool, config_file: Path | None, settings, latency: float):
    from selftaught.analysis.packaged import BASELINES, PROMPT_VARIANTS
    from selftaught.plan import plan_compare

    arms = BASELINES if kind == "baselines" else PROMPT_VARIANTS
    _show_plan(
        lambda: plan_compare(_load(config_file, settings, iterations=0), kind, arms, runs, latency), as_json
    )


def _compare(experiment, runs: int, store: Path | None, as_json: bool, config_file: Path | None, settings):
    """`baselines` and `prompts`: arms of shipped improvers side by side over `runs` runs."""

    def work(hooks):
        config = _load(config_file, settings, iterations=0)
        return experiment(config, runs, store=_store(store), hooks=hooks)

    print_result(_execute(as_json, work), as_json)


@experiment_app.command("recursion")
@with_settings(
    (
        "model",
        "sandbox",
        "max_calls",
        "max_cost",
        "max_concurrency",
        "parallel_improvers",
        "executor",
        "ray_address",
        "alpha",
    )
)
def recursion_cmd(
    run: Annotated[str, typer.Option("--run", help="the STOP run whose improvers I_t are compared")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    plan: PlanOpt = False,
    latency: LatencyOpt = 30.0,
    *,
    settings: dict[str, Any],
) -> None:
    """Recursive self-improvement against I_0 improving I_{t-1} and I_{t-1} improving I_0, matched budget."""
    from selftaught.experiments import experiment_recursion
    from selftaught.experiments.api import recursion_config

    if plan:
        from selftaught.api import open_store
        from selftaught.plan import plan_recursion

        def recursion_plan():
            db = open_store(resolve_store_path(store))
            return plan_recursion(recursion_config(db, run, settings), db, run, latency)

        _show_plan(recursion_plan, as_json)
        return

    def work(hooks):
        db = _store(store)
        return experiment_recursion(recursion_config(db, run, settings), run, store=db, hooks=hooks)

    print_result(_execute(as_json, work), as_json)


@experiment_app.command("runs")
@with_settings()
def runs_cmd(
    runs: RunsOpt = 3,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    config_file: ConfigFileOpt = None,
    plan: PlanOpt = False,
    latency: LatencyOpt = 30.0,
    *,
    settings: dict[str, Any],
) -> None:
    """R independent STOP runs (seeds seed..seed+R-1): per-iteration mean, intervals, share that gained."""
    if plan:
        from selftaught.plan import plan_runs

        _show_plan(lambda: plan_runs(_load(config_file, settings), runs, latency), as_json)
        return
    run_many(runs, store, as_json, config_file, settings)


def run_many(runs: int, store: Path | None, as_json: bool, config_file: Path | None, settings: dict) -> None:
    """`experiment runs` and `run --runs R`."""
    from selftaught.experiments import experiment_runs

    def work(hooks):
        db = _store(store)
        return experiment_runs(_load(config_file, settings), runs, store=db, hooks=hooks)

    print_result(_execute(as_json, work), as_json)


def resume_experiment_cmd(
    run_id: str, store: Path | None, as_json: bool, overrides: dict[str, Any] | None = None
) -> None:
    """`selftaught resume ID` of an experiment (`overrides`: the limits and transport given)."""
    from selftaught.experiments import resume_experiment

    def work(hooks):
        return resume_experiment(_store(store), run_id, hooks=hooks, overrides=overrides)

    print_result(_execute(as_json, work), as_json)
