"""The `selftaught` command line: a thin layer over the library.

Bad input (unknown task or model, unreadable file, improver without
`improve_algorithm`, missing API key) prints one line and exits 2 before anything
is written. Long work shows progress on stderr; `--json` output goes to stdout.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from selftaught import __version__
from selftaught.cli_common import (
    JsonOpt,
    SandboxOpt,
    StoreOpt,
    err,
    fail,
    open_store,
    out,
    read_text,
    resolve_store_path,
    start_pool,
)
from selftaught.cli_inspect import doctor_cmd, models_cmd, runs_cmd, show_cmd
from selftaught.cli_progress import ProgressView, iteration_table
from selftaught.cli_tasks import tasks_app
from selftaught.errors import UserInputError

app = typer.Typer(
    name="selftaught",
    help="STOP, the Self-Taught Optimizer: improve programs with a language model, then the improver itself.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(tasks_app, name="tasks")

DEFAULT_MODEL = "local"

ModelOpt = Annotated[
    str, typer.Option("--model", "-m", help="local | script:PATH | openai:MODEL | replay:RUN")
]
TasksOpt = Annotated[
    list[str] | None,
    typer.Option("--tasks", help="task name or task folder path (repeatable); default parity_noise"),
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=0.001, help="wall-clock limit in seconds of one improver run")
]
NTestsOpt = Annotated[int, typer.Option("--n-tests", min=1, help="meta-utility repeats per task")]
CallsOpt = Annotated[int, typer.Option("--calls", min=1, help="language-model calls per improver run")]
SamplesOpt = Annotated[
    int, typer.Option("--samples", min=1, help="samples per model call (max_responses_per_call)")
]


def _version(value: bool) -> None:
    if value:
        out.print(f"selftaught {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """STOP, the Self-Taught Optimizer."""


def _check_improver(source: str, path: Path) -> None:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise UserInputError(
            f"improver file {str(path)!r} does not parse: line {exc.lineno}: {exc.msg}"
        ) from exc
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    if "improve_algorithm" not in names:
        raise UserInputError(f"improver file {str(path)!r} defines no top-level improve_algorithm function")


def _resolve_tasks(names: list[str] | None) -> list:
    from selftaught.tasks import get_task

    return [get_task(name) for name in (names or ["parity_noise"])]


def _make_context(config, tasks, backend, store, run_id, view, pool, attempt=1, limiter=None):
    """A run context with the right cache: the recorded run's answers for replay, else the store's cache."""
    from selftaught.models.cache import RecordedResponses, ResponseCache
    from selftaught.models.limits import Prices, UsageLimiter
    from selftaught.models.replay import ReplayModel
    from selftaught.stop.context import RunContext

    if isinstance(backend, ReplayModel):
        cache = RecordedResponses(store, backend.run_id)
    else:
        cache = ResponseCache(store, run_id) if config.cache else None
    limiter = limiter or UsageLimiter(
        config.max_calls, config.max_cost, Prices(config.price_prompt, config.price_completion)
    )
    return RunContext(
        config,
        tasks,
        pool,
        backend,
        store,
        run_id,
        on_progress=view.update,
        cache=cache,
        limiter=limiter,
        attempt=attempt,
    )


def _pool_and_store(mode: str, store_path: Path):
    """Start the sandbox first: a strict-mode refusal must not leave a store behind."""
    if mode not in ("default", "strict"):
        raise UserInputError(f"unknown sandbox mode {mode!r} (use default or strict)")
    pool = start_pool(mode)
    try:
        return pool, open_store(store_path)
    except BaseException:
        pool.close()
        raise


def _resolve_backend(config, store_path: Path):
    from selftaught.models.registry import resolve_model

    return resolve_model(config.model, config.model_options(str(store_path)))


def _execute_stop(db, run_id: str, config, task_objs, backend, pool, as_json: bool, point=None) -> None:
    """Run or continue a STOP run, record how it ended, print the table or JSON."""
    from selftaught.models.limits import RunStopped
    from selftaught.stop.loop import run_stop
    from selftaught.stop.resume import usage_so_far

    rows: list[dict] = [r.as_json() for r in point.state.results] if point else []
    status, reason, code = "failed", None, 1
    limiter = usage_so_far(db, run_id, config) if point else None
    with ProgressView(not as_json) as view:
        ctx = _make_context(
            config, task_objs, backend, db, run_id, view, pool, point.attempt if point else 1, limiter
        )
        if point:
            ctx.prefill_scores(point.scores)

        def on_iteration(result) -> None:
            rows.append(result.as_json())
            err.print(
                f"iteration {result.iteration}: {result.status}, meta-utility val "
                f"{result.meta_utility_val:.3f}, test {result.meta_utility_test:.3f}",
                highlight=False,
            )

        try:
            run_stop(ctx, on_iteration=on_iteration, state=point.state if point else None)
            status, code = "finished", 0
        except RunStopped as stopped:
            ctx.stop(stopped.reason, stopped.clean)
            status, reason, code = (
                ("stopped", stopped.reason, 0) if stopped.clean else ("failed", stopped.reason, 1)
            )
        except KeyboardInterrupt:
            ctx.stop("interrupted by the user")
            status, reason, code = "interrupted", "interrupted by the user", 130
        except BaseException as exc:
            ctx.stop(f"{exc.__class__.__name__}: {exc}")
            reason = f"{exc.__class__.__name__}: {exc}"
            raise
        finally:
            ctx.pool.close()
            db.set_run_status(run_id, status, reason)
    _close_quietly(backend)
    if status == "interrupted":
        err.print(
            f"interrupted; run {run_id} is recorded up to iteration {len(rows) - 1}. "
            f"Continue it with: selftaught resume {run_id}",
            highlight=False,
        )
        sys.stderr.flush()
        os._exit(130)  # threads still waiting on a model request must not hold the exit
    if status == "stopped":
        err.print(
            f"stopped: {reason}. Continue with: selftaught resume {run_id} (raise the limit)", highlight=False
        )
    if status == "failed" and reason:
        err.print(f"[bold red]error:[/] {reason}", highlight=False)
    if as_json:
        print(json.dumps({"run_id": run_id, "status": status, "iterations": rows}))
    elif rows:
        out.print(iteration_table(rows, run_id))
    if code:
        raise typer.Exit(code)


def _close_quietly(backend) -> None:
    try:
        backend.close()
    except Exception:  # closing must never hide the run's own outcome
        pass


BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint URL")]
ApiKeyEnvOpt = Annotated[str, typer.Option("--api-key-env", help="variable that holds the API key")]
ConcurrencyOpt = Annotated[
    int, typer.Option("--max-concurrency", min=1, help="model requests in flight at once")
]
RequestTimeoutOpt = Annotated[
    float, typer.Option("--request-timeout", min=0.001, help="seconds per model request")
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="do not serve repeated requests from the cache")]
MaxCallsOpt = Annotated[
    int | None, typer.Option("--max-calls", min=1, help="stop after this many model requests")
]
MaxCostOpt = Annotated[
    float | None, typer.Option("--max-cost", min=0.0, help="stop after spending this many USD")
]
PricePromptOpt = Annotated[
    float, typer.Option("--price-prompt", min=0.0, help="USD per million prompt tokens")
]
PriceCompletionOpt = Annotated[
    float, typer.Option("--price-completion", min=0.0, help="USD per million completion tokens")
]
MaxTokensOpt = Annotated[
    int | None, typer.Option("--max-tokens", min=1, help="most tokens per answer [default: the model's]")
]
RetriesOpt = Annotated[int, typer.Option("--max-retries", min=0, help="retries of one model request")]
ParallelOpt = Annotated[
    int, typer.Option("--parallel", min=1, help="improver runs of one evaluation at once")
]


# which `run` parameter sets which RunConfig field, where the names differ
_FIELD_OF_PARAMETER = {
    "timeout": "timeout_s",
    "request_timeout": "request_timeout_s",
    "no_cache": "cache",
    "parallel": "parallel_improvers",
}


def _run_config(ctx: typer.Context, given: dict, config_file: Path | None):
    """The run's configuration: a TOML file's settings, overridden by options given on the command line."""
    import tomllib

    from pydantic import ValidationError

    from selftaught.config import RunConfig

    values = {}
    if config_file is not None:
        try:
            values = tomllib.loads(read_text(config_file, "configuration file"))
        except tomllib.TOMLDecodeError as exc:
            raise UserInputError(f"configuration file {str(config_file)!r} is not valid TOML: {exc}") from exc
    for parameter, source in ((p, ctx.get_parameter_source(p)) for p in ctx.params):
        field = _FIELD_OF_PARAMETER.get(parameter, parameter)
        if field in given and (field not in values or source.name != "DEFAULT"):
            values[field] = given[field]
    specs = values.get("tasks") or ["parity_noise"]
    specs = [specs] if isinstance(specs, str) else list(specs)
    task_objs = _resolve_tasks(specs)
    values["tasks"] = [_task_spec(spec) for spec in specs]
    try:
        return RunConfig(**values), task_objs
    except ValidationError as exc:
        error = exc.errors()[0]
        raise UserInputError(f"invalid setting {'.'.join(map(str, error['loc']))}: {error['msg']}") from exc


def _task_spec(spec: str) -> str:
    """What to record for a task so that resume finds it again: its name, or its folder's absolute path."""
    from selftaught.tasks import builtin_names

    if spec in builtin_names() or not Path(spec).exists():
        return spec
    return str(Path(spec).resolve())


@app.command()
def run(
    ctx: typer.Context,
    model: ModelOpt = DEFAULT_MODEL,
    tasks: TasksOpt = None,
    iterations: Annotated[
        int, typer.Option("--iterations", "-T", min=0, help="self-improvement iterations")
    ] = 6,
    n_tests: NTestsOpt = 5,
    calls: CallsOpt = 4,
    samples: SamplesOpt = 6,
    seed: Annotated[int, typer.Option("--seed", help="seed recorded with the run and passed to models")] = 0,
    timeout: TimeoutOpt = 1800.0,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    base_url: BaseUrlOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    max_concurrency: ConcurrencyOpt = 16,
    request_timeout: RequestTimeoutOpt = 600.0,
    max_retries: RetriesOpt = 5,
    max_tokens: MaxTokensOpt = None,
    no_cache: NoCacheOpt = False,
    max_calls: MaxCallsOpt = None,
    max_cost: MaxCostOpt = None,
    price_prompt: PricePromptOpt = 0.0,
    price_completion: PriceCompletionOpt = 0.0,
    parallel: ParallelOpt = 8,
    sandbox: SandboxOpt = "default",
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config", help="TOML file of run settings (the keys of RunConfig); options given here win"
        ),
    ] = None,
) -> None:
    """Run STOP: the seed improver improves itself T times; each iteration's meta-utility is recorded."""
    store_path = resolve_store_path(store)
    given = {
        "model": model,
        "tasks": tasks,
        "iterations": iterations,
        "n_tests": n_tests,
        "calls": calls,
        "samples": samples,
        "seed": seed,
        "timeout_s": timeout,
        "base_url": base_url,
        "api_key_env": api_key_env,
        "max_concurrency": max_concurrency,
        "request_timeout_s": request_timeout,
        "max_retries": max_retries,
        "max_tokens": max_tokens,
        "cache": not no_cache,
        "max_calls": max_calls,
        "max_cost": max_cost or None,
        "price_prompt": price_prompt,
        "price_completion": price_completion,
        "parallel_improvers": parallel,
        "sandbox": sandbox,
    }
    try:
        config, task_objs = _run_config(ctx, given, config_file)
        backend = _resolve_backend(config, store_path)
        pool, db = _pool_and_store(config.sandbox, store_path)
    except UserInputError as exc:
        raise fail(str(exc)) from None
    run_id = db.new_run("stop", config.model_dump(), config.model, getattr(backend, "identity", None))
    err.print(
        f"run {run_id}: {config.iterations} iterations on {', '.join(t.name for t in task_objs)} with "
        f"{config.model}; "
        f"store {db.path}",
        highlight=False,
    )
    _execute_stop(db, run_id, config, task_objs, backend, pool, as_json)


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="the run to continue (see `selftaught runs`)")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    max_calls: MaxCallsOpt = None,
    max_cost: MaxCostOpt = None,
) -> None:
    """Continue an interrupted or stopped STOP run from the store; paid-for calls come from the cache."""
    from selftaught.stop.resume import load_resume_point
    from selftaught.store.store import Store, StoreError

    store_path = resolve_store_path(store)
    try:
        try:
            db = Store.open_existing(store_path)
        except StoreError as exc:
            raise UserInputError(str(exc)) from exc
        point = load_resume_point(db, run_id)
        overrides = {k: v for k, v in {"max_calls": max_calls, "max_cost": max_cost}.items() if v is not None}
        if overrides:
            point.config = point.config.model_copy(update=overrides)
        task_objs = _resolve_tasks(point.config.tasks)
        done = point.status == "finished" or point.state.next_iteration > point.config.iterations
        backend = None if done else _resolve_backend(point.config, store_path)
        pool = None if done else start_pool(point.config.sandbox)
    except UserInputError as exc:
        raise fail(str(exc)) from None
    if done:
        err.print(f"run {run_id} is already finished", highlight=False)
        rows = [r.as_json() for r in point.state.results]
        if as_json:
            print(json.dumps({"run_id": run_id, "status": "finished", "iterations": rows}))
        else:
            out.print(iteration_table(rows, run_id))
        return
    db.set_run_status(
        run_id, "running", f"resumed (attempt {point.attempt})" + (f" with {overrides}" if overrides else "")
    )
    err.print(f"resuming run {run_id} at iteration {point.state.next_iteration}", highlight=False)
    _execute_stop(db, run_id, point.config, task_objs, backend, pool, as_json, point)


@app.command("evaluate-improver")
def evaluate_improver_cmd(
    file: Annotated[Path, typer.Argument(help="Python file defining improve_algorithm")],
    model: ModelOpt = DEFAULT_MODEL,
    tasks: TasksOpt = None,
    n_tests: NTestsOpt = 5,
    calls: CallsOpt = 4,
    samples: SamplesOpt = 6,
    split: Annotated[str, typer.Option("--split", help="val or test")] = "val",
    timeout: TimeoutOpt = 1800.0,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    base_url: BaseUrlOpt = None,
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    max_concurrency: ConcurrencyOpt = 16,
    max_tokens: MaxTokensOpt = None,
    no_cache: NoCacheOpt = False,
    parallel: ParallelOpt = 8,
    sandbox: SandboxOpt = "default",
) -> None:
    """The meta-utility of an improver file: run it n-tests times per task, score what it returns."""
    from selftaught.config import RunConfig
    from selftaught.models.limits import RunStopped
    from selftaught.stop.context import Scope
    from selftaught.stop.meta_utility import evaluate_improver

    store_path = resolve_store_path(store)
    try:
        if split not in ("val", "test"):
            raise UserInputError(f"unknown split {split!r} (use val or test)")
        source = read_text(file, "improver file")
        _check_improver(source, file)
        task_objs = _resolve_tasks(tasks)
        config = RunConfig(
            model=model,
            tasks=[t.name for t in task_objs],
            iterations=0,
            n_tests=n_tests,
            calls=calls,
            samples=samples,
            timeout_s=timeout,
            base_url=base_url,
            api_key_env=api_key_env,
            max_concurrency=max_concurrency,
            cache=not no_cache,
            parallel_improvers=parallel,
            max_tokens=max_tokens,
            sandbox=sandbox,
        )
        backend = _resolve_backend(config, store_path)
        pool, db = _pool_and_store(config.sandbox, store_path)
    except UserInputError as exc:
        raise fail(str(exc)) from None
    run_id = db.new_run(
        "evaluate-improver",
        {**config.model_dump(), "file": str(file), "split": split},
        model,
        getattr(backend, "identity", None),
    )
    status, reason = "failed", None
    try:
        with ProgressView(not as_json) as view:
            ctx = _make_context(config, task_objs, backend, db, run_id, view, pool)
            try:
                ctx.progress(f"evaluating {file.name}")
                evaluation = evaluate_improver(
                    ctx, source, (split,), Scope(stream="evaluate"), "evaluate", "eval"
                )
                status = "finished"
            except RunStopped as stopped:
                ctx.stop(stopped.reason)
                reason = stopped.reason
                raise fail(stopped.reason) from None
            except KeyboardInterrupt:
                ctx.stop("interrupted by the user")
                status, reason = "interrupted", "interrupted by the user"
            finally:
                ctx.pool.close()
    finally:
        db.set_run_status(run_id, status, reason)
        _close_quietly(backend)
    if status == "interrupted":
        err.print(f"interrupted; what run {run_id} did is recorded", highlight=False)
        sys.stderr.flush()
        os._exit(130)  # threads still waiting on a model request must not hold the exit
    result = {
        "run_id": run_id,
        "split": split,
        "meta_utility": evaluation.meta_utility[split],
        "per_task": {name: scores[split] for name, scores in evaluation.per_task.items()},
        "failed_runs": sum(1 for r in evaluation.repeats if not r.outcome.ok),
    }
    if as_json:
        print(json.dumps(result))
        return
    table = Table(title=f"meta-utility of {file} ({split})")
    table.add_column("task")
    table.add_column("meta-utility", justify="right")
    for name, value in result["per_task"].items():
        table.add_row(name, f"{value:.3f}")
    table.add_row("[bold]mean[/]", f"[bold]{result['meta_utility']:.3f}[/]")
    out.print(table)
    if result["failed_runs"]:
        err.print(f"{result['failed_runs']} of {len(evaluation.repeats)} improver runs failed (scored 0)")


app.command("runs")(runs_cmd)
app.command("show")(show_cmd)
app.command("doctor")(doctor_cmd)
app.command("models")(models_cmd)
app.command("report")(__import__("selftaught.cli_report").cli_report.report_cmd)


def main() -> None:
    """Entry point of the `selftaught` script."""
    try:
        app()
    except UserInputError as exc:  # raised from deeper layers after validation
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
