"""`selftaught run`, `resume` and `evaluate-improver`: parse, call selftaught.api, print.

Bad input (unknown task or model, unreadable file, improver without
`improve_algorithm`, missing API key) prints one line and exits 2 before anything
is written. Long work shows progress on stderr; `--json` output goes to stdout.
Exit codes: 0 finished or stopped at a limit (resumable), 1 failed, 130 interrupted.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from selftaught.cli.common import JsonOpt, StoreOpt, err, fail, out, read_text, resolve_store_path, warn
from selftaught.cli.options import (
    ALL_SETTINGS,
    ConfigFileOpt,
    LatencyOpt,
    PlanOpt,
    option_name,
    with_settings,
)
from selftaught.cli.progress import ProgressView, iteration_table
from selftaught.config import RESUMABLE_SETTINGS
from selftaught.errors import UserInputError

if TYPE_CHECKING:
    from selftaught.api import EvaluationResult, RunResult, RunStart
    from selftaught.plan import Plan

RUN_EXIT = {"finished": 0, "stopped": 0, "failed": 1, "interrupted": 130}
EVALUATION_EXIT = {"finished": 0, "stopped": 1, "failed": 1, "interrupted": 130}
EVALUATION_SETTINGS = tuple(f for f in ALL_SETTINGS if f not in ("iterations", "accept", "alpha"))


def _config(config_file: Path | None, settings: dict[str, Any], **fixed: Any):
    from selftaught.config import load_config

    try:
        return load_config(config_file, {**settings, **fixed})
    except UserInputError as exc:
        message = str(exc)
        for field in settings:  # name the option the user typed, not the field behind it
            message = message.replace(f"invalid setting {field}:", f"invalid {option_name(field)}:")
        raise UserInputError(message) from None


def show_plan(make_plan: Any, as_json: bool) -> None:
    """Print the plan `make_plan()` builds (UserInputError: one line, exit 2); nothing is asked of a model."""
    try:
        plan: Plan = make_plan()
    except UserInputError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print(json.dumps(plan.to_json()))
    else:
        for line in plan.lines():
            print(line)


def _announce(start: RunStart) -> None:
    if start.first_iteration:
        err.print(f"resuming run {start.run_id} at iteration {start.first_iteration}", highlight=False)
        return
    err.print(
        f"run {start.run_id}: {start.iterations} iterations on {', '.join(start.tasks)} with {start.model}; "
        f"store {start.store_path}",
        highlight=False,
    )


def _on_iteration(result) -> None:
    err.print(
        f"iteration {result.iteration}: {result.status}, meta-utility val "
        f"{result.meta_utility_val:.3f}, test {result.meta_utility_test:.3f}",
        highlight=False,
    )


def _exit_now_if_interrupted(run_id: str, status: str, message: str) -> None:
    if status == "interrupted":
        err.print(message, highlight=False)
        sys.stderr.flush()
        os._exit(130)  # threads still waiting on a model request must not hold the exit


def _report_run(result: RunResult, as_json: bool) -> None:
    _exit_now_if_interrupted(
        result.run_id,
        result.status,
        f"interrupted; run {result.run_id} is recorded up to iteration {len(result.iterations) - 1}. "
        f"Continue it with: selftaught resume {result.run_id}",
    )
    if result.already_finished:
        err.print(f"run {result.run_id} is already finished", highlight=False)
    if result.status == "stopped":
        err.print(
            f"stopped: {result.reason}. Continue with: selftaught resume {result.run_id} (raise the limit)",
            highlight=False,
        )
    if result.status == "failed" and result.reason:
        err.print(f"[bold red]error:[/] {result.reason}", highlight=False)
    if as_json:
        print(json.dumps(result.to_json()))
    elif result.iterations:
        out.print(iteration_table([r.to_json() for r in result.iterations], result.run_id))
    if RUN_EXIT[result.status]:
        raise typer.Exit(RUN_EXIT[result.status])


@with_settings()
def run(
    runs: Annotated[
        int, typer.Option("--runs", min=1, help="independent STOP runs (seeds seed..seed+R-1), summarized")
    ] = 1,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    config_file: ConfigFileOpt = None,
    plan: PlanOpt = False,
    latency: LatencyOpt = 30.0,
    *,
    settings: dict[str, Any],
) -> None:
    """Run STOP: the seed improver improves itself T times; each iteration's meta-utility is recorded."""
    from selftaught.api import start_run

    if plan:
        from selftaught import plan as planning

        if runs > 1:
            show_plan(lambda: planning.plan_runs(_config(config_file, settings), runs, latency), as_json)
        else:
            show_plan(lambda: planning.plan_run(_config(config_file, settings), latency), as_json)
        return
    if runs > 1:
        from selftaught.cli.experiment import run_many

        run_many(runs, store, as_json, config_file, settings)
        return
    try:
        config = _config(config_file, settings)
        with ProgressView(not as_json) as view:
            result = start_run(
                config,
                store=resolve_store_path(store),
                on_progress=view.update,
                on_iteration=_on_iteration,
                on_start=_announce,
                on_warning=warn,
            )
    except UserInputError as exc:
        raise fail(str(exc)) from None
    _report_run(result, as_json)


@with_settings(RESUMABLE_SETTINGS)
def resume(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="the run to continue (see `selftaught runs`)")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    *,
    settings: dict[str, Any],
) -> None:
    """Continue an interrupted or stopped STOP run from the store; paid-for calls come from the cache.

    Only limits and transport settings may change; the rest is the run's recorded configuration.
    """
    from selftaught.api import open_store, resume_run

    try:
        db = open_store(resolve_store_path(store))
        recorded = db.run(run_id)
        if recorded is not None and recorded.kind == "experiment":
            from selftaught.cli.experiment import resume_experiment_cmd

            resume_experiment_cmd(run_id, store, as_json, settings)
            return
        with ProgressView(not as_json) as view:
            result = resume_run(
                db,
                run_id,
                overrides=settings,
                on_progress=view.update,
                on_iteration=_on_iteration,
                on_start=_announce,
                on_warning=warn,
            )
    except UserInputError as exc:
        raise fail(str(exc)) from None
    _report_run(result, as_json)


@with_settings(EVALUATION_SETTINGS)
def evaluate_improver_cmd(
    file: Annotated[Path, typer.Argument(help="Python file defining improve_algorithm")],
    split: Annotated[str, typer.Option("--split", help="val or test")] = "val",
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    config_file: ConfigFileOpt = None,
    *,
    settings: dict[str, Any],
) -> None:
    """The meta-utility of an improver file: run it n-tests times per task, score what it returns."""
    from selftaught.api import evaluate_improver

    try:
        source = read_text(file, "improver file")
        config = _config(config_file, settings, iterations=0)
        with ProgressView(not as_json) as view:
            result = evaluate_improver(
                source,
                config,
                split=split,
                store=resolve_store_path(store),
                label=str(file),
                on_progress=view.update,
                on_warning=warn,
            )
    except UserInputError as exc:
        raise fail(str(exc)) from None
    _report_evaluation(result, file, as_json)


def _report_evaluation(result: EvaluationResult, file: Path, as_json: bool) -> None:
    _exit_now_if_interrupted(
        result.run_id, result.status, f"interrupted; what run {result.run_id} did is recorded"
    )
    if result.status != "finished" or result.meta_utility is None:
        err.print(f"[bold red]error:[/] {result.reason or result.status}", highlight=False)
        raise typer.Exit(EVALUATION_EXIT[result.status])
    if as_json:
        print(json.dumps(result.to_json()))
        return
    table = Table(title=f"meta-utility of {file} ({result.split})")
    table.add_column("task")
    table.add_column("meta-utility", justify="right")
    for name, value in result.per_task.items():
        table.add_row(name, f"{value:.3f}")
    table.add_row("[bold]mean[/]", f"[bold]{result.meta_utility:.3f}[/]")
    out.print(table)
    if result.failed_runs:
        err.print(f"{result.failed_runs} of {result.improver_runs} improver runs failed (scored 0)")
