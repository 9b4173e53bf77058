"""`selftaught tasks ...`: list, show, create and check tasks; score solutions with hidden utilities."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from selftaught.cli.common import JsonOpt, SandboxOpt, err, fail, out, read_text, start_pool
from selftaught.errors import UserInputError

tasks_app = typer.Typer(
    help="List, show, create and check downstream tasks; score solutions with their hidden utilities.",
    no_args_is_help=True,
)

TaskArg = Annotated[str, typer.Argument(help="task name, or path to a task folder")]
SplitOpt = Annotated[str, typer.Option("--split", help="val or test")]
TEMPLATE_FILES = ("seed_algorithm.py", "utility.py", "secret_utility.py")


def _split(split: str) -> str:
    if split not in ("val", "test"):
        raise UserInputError(f"unknown split {split!r} (use val or test)")
    return split


@tasks_app.command("list")
def tasks_list(
    folders: Annotated[
        list[str] | None, typer.Argument(help="task folders to list after the built-in and installed tasks")
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="re-measure seed scores, ignoring the cache")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the tasks with their seed scores on both splits (measured in the sandbox, then cached)."""
    from selftaught.tasks import get_task, installed_tasks
    from selftaught.tasks.seed_scores import seed_scores

    try:
        tasks = installed_tasks() + [get_task(f) for f in folders or []]
    except UserInputError as exc:
        raise fail(str(exc)) from None
    if not as_json and err.is_terminal:
        err.print("measuring seed scores that are not cached yet...", highlight=False)
    scores = seed_scores(tasks, refresh=fresh)
    items = [
        {
            "name": task.name,
            "description": task.description,
            "time_limit_s": task.time_limit_s,
            "instances_val": len(task.instances("val")),
            "instances_test": len(task.instances("test")),
            "seed_score_val": scores[task.name]["val"],
            "seed_score_test": scores[task.name]["test"],
            "checker": "trusted" if task.checker_trusted else "sandboxed",
        }
        for task in tasks
    ]
    if as_json:
        print(json.dumps(items))
        return
    table = Table(title="tasks")
    for column in ("name", "description", "time limit", "val", "test", "seed val", "seed test"):
        table.add_column(column, justify="right" if column.startswith(("seed", "val", "test")) else "left")
    for item in items:
        table.add_row(
            str(item["name"]),
            str(item["description"]),
            f"{item['time_limit_s'] * 1000:.0f} ms",
            str(item["instances_val"]),
            str(item["instances_test"]),
            f"{item['seed_score_val']:.3f}",
            f"{item['seed_score_test']:.3f}",
        )
    out.print(table)


@tasks_app.command("show")
def tasks_show(
    task: TaskArg,
    seed: Annotated[bool, typer.Option("--seed", help="print the seed solution instead")] = False,
) -> None:
    """Print the scoring function the model is shown (utility.str), or with --seed the seed solution."""
    from selftaught.tasks import get_task

    try:
        task_obj = get_task(task)
    except UserInputError as exc:
        raise fail(str(exc)) from None
    text = task_obj.seed_solution() if seed else task_obj.shown_utility()
    print(text, end="" if text.endswith("\n") else "\n")


@tasks_app.command("eval")
def tasks_eval(
    task: TaskArg,
    code: Annotated[Path, typer.Option("--code", help="solution file defining the task's function")],
    split: Annotated[str, typer.Option("--split", help="val or test")] = "val",
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = "default",
    scoring: Annotated[
        str, typer.Option("--scoring", help="strict (per instance) or reference (the reference's rules)")
    ] = "strict",
    splits: Annotated[
        str,
        typer.Option(
            "--splits",
            envvar="SELFTAUGHT_SPLITS",
            help="reference (the paper's public seeds) or fresh (instances drawn from a new secret)",
        ),
    ] = "reference",
) -> None:
    """The hidden utility of a solution file on one split (the file runs only in the sandbox)."""
    from selftaught.tasks import get_task
    from selftaught.tasks.scoring import score_solution
    from selftaught.tasks.splits import SPLITS_CHOICES, fresh_tasks, new_secret

    try:
        _split(split)
        task_obj = get_task(task)
        source = read_text(code, "solution file")
        if sandbox not in ("default", "strict"):
            raise UserInputError(f"unknown sandbox mode {sandbox!r} (use default or strict)")
        if scoring not in ("strict", "reference"):
            raise UserInputError(f"unknown scoring mode {scoring!r} (use strict or reference)")
        if splits not in SPLITS_CHOICES:
            raise UserInputError(f"unknown splits {splits!r} (use reference or fresh)")
        if splits == "fresh":  # a secret for this one scoring, never shown or kept
            (task_obj,) = fresh_tasks([task_obj], new_secret())
        pool = start_pool(sandbox, 1)
    except UserInputError as exc:
        raise fail(str(exc)) from None
    with pool:
        result = score_solution(task_obj, source, split, pool, scoring=scoring)
    payload = {
        "task": task_obj.name,
        "split": split,
        "scoring": scoring,
        "splits": splits,
        "score": result.score,
        "accepted_by_reference_only": result.accepted_by_reference_only,
        "instances": result.instances,
        "error_kind": result.error_kind,
        "error": result.error,
        "elapsed_s": result.elapsed_s,
    }
    if as_json:
        print(json.dumps(payload))
        return
    out.print(
        f"{task_obj.name} ({split}, {splits} splits, {scoring} scoring): score {result.score:.3f} "
        f"over {result.instances} instances in {result.elapsed_s:.2f} s",
        highlight=False,
    )
    if result.accepted_by_reference_only:
        err.print(
            f"{result.accepted_by_reference_only} answers got credit only under the reference's rules",
            highlight=False,
        )
    if result.error_kind:
        err.print(f"first problem: {result.error_kind}: {result.error}", highlight=False)


@tasks_app.command("instances")
def tasks_instances(task: TaskArg, split: SplitOpt = "val", as_json: JsonOpt = False) -> None:
    """A split's instances; with --json one object per line: index, seed and the algorithm's arguments."""
    from selftaught.tasks import get_task
    from selftaught.tasks.instances import instance_rows, instances_digest

    try:
        task_obj = get_task(task)
        rows = instance_rows(task_obj, _split(split))
    except UserInputError as exc:
        raise fail(str(exc)) from None
    if as_json:
        for row in rows:
            print(json.dumps(row.as_dict(), separators=(",", ":"), allow_nan=False))
        return
    out.print(
        f"{task_obj.name} ({split}): {len(rows)} instances, {task_obj.time_limit_s * 1000:.0f} ms each, "
        f"sha256 {instances_digest(task_obj, split)} (--json prints them)",
        highlight=False,
    )


@tasks_app.command("new")
def tasks_new(
    name: Annotated[str, typer.Argument(help="name of the task; a folder of that name is created")],
    parent: Annotated[Path, typer.Option("--dir", help="where to create the folder")] = Path("."),
) -> None:
    """Create a task folder with a working example (0/1 knapsack) to edit into your own task."""
    try:
        if not name.isidentifier():
            raise UserInputError(f"task name {name!r} must be a Python identifier (letters, digits, _)")
        folder = parent / name
        if folder.exists():
            raise UserInputError(f"{str(folder)!r} already exists")
        template = resources.files("selftaught.tasks").joinpath("template")
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise UserInputError(f"cannot create {str(folder)!r}: {exc}") from exc
    except UserInputError as exc:
        raise fail(str(exc)) from None
    for filename in TEMPLATE_FILES:
        (folder / filename).write_text(
            template.joinpath(filename).read_text(encoding="utf-8"), encoding="utf-8"
        )
    (folder / "README.md").write_text(template.joinpath("README.txt").read_text(encoding="utf-8"))
    out.print(f"created task folder {folder}", highlight=False)
    out.print(f"next: selftaught tasks check {folder}", highlight=False)


@tasks_app.command("check")
def tasks_check(
    path: Annotated[Path, typer.Argument(help="task folder")],
    as_json: JsonOpt = False,
) -> None:
    """Say which format a task folder is in, validate it and score its seed on both splits.

    Formats: selftaught's own, OpenEvolve, ShinkaEvolve, AlgoTune (docs/tasks.md). Problems
    exit with status 2 and one error line.
    """
    from selftaught.sandbox.pool import WorkerPool
    from selftaught.tasks import load_task_folder
    from selftaught.tasks.field import FIELD_FORMATS, format_label, task_record
    from selftaught.tasks.field.common import NO_HELD_OUT
    from selftaught.tasks.scoring import score_solution

    try:
        task = load_task_folder(path)
    except UserInputError as exc:
        raise fail(str(exc)) from None
    record = task_record(task)
    field = record["format"] in FIELD_FORMATS
    with WorkerPool(1) as pool:
        results = {
            split: score_solution(task, task.seed_solution(), split, pool) for split in ("val", "test")
        }
    problems = [
        f"seed on {split}: {r.error_kind}: {r.error}"
        for split, r in results.items()
        if r.error_kind in ("load_error", "missing_entry") or (field and r.error_kind)
    ]
    check_error = getattr(task, "first_check_error", None)
    if check_error:
        problems.append(f"secret_utility.check raised on the seed's output: {check_error}")
    payload = {
        "name": task.name,
        "format": record["format"],
        "route": record["route"],
        "held_out": record["held_out"],
        "kind": getattr(task, "kind", "trusted" if task.checker_trusted else "sandboxed"),
        "entry": task.entry,
        "time_limit_s": task.time_limit_s,
        "instances_val": len(task.instances("val")),
        "instances_test": len(task.instances("test")),
        "seed_score_val": results["val"].score,
        "seed_score_test": results["test"].score,
        "seed_errors": {s: r.error_kind for s, r in results.items() if r.error_kind},
        "problems": problems,
    }
    if as_json:
        print(json.dumps(payload))
    else:
        out.print(f"format: {format_label(record['format'])}", highlight=False)
        if record["route"]:
            out.print(f"where it runs: {record['route']}", highlight=False, soft_wrap=True)
        if not record["held_out"] and not problems:
            err.print(f"note: {NO_HELD_OUT}", highlight=False, soft_wrap=True)
        if field:
            per = {"openevolve": "evaluation", "shinka": "run of the program", "algotune": "problem"}
            out.print(
                f"{task.name}: {task.time_limit_s:g} s per {per[record['format']]}, "
                f"{payload['instances_val']} val / {payload['instances_test']} test instances",
                highlight=False,
            )
        else:
            out.print(
                f"{task.name}: {payload['kind']} hidden utility, entry {task.entry!r}, "
                f"{task.time_limit_s * 1000:.0f} ms limit, {payload['instances_val']} val / "
                f"{payload['instances_test']} test instances",
                highlight=False,
            )
        out.print(
            f"seed score: val {payload['seed_score_val']:.3f}, test {payload['seed_score_test']:.3f}",
            highlight=False,
        )
        for split, r in results.items():
            if r.error_kind and not problems:
                err.print(f"note: seed on {split}: {r.error_kind}: {r.error}", highlight=False)
        if not task.checker_trusted and not field:
            err.print(
                "warning: reference-style secret_utility.utility runs inside the candidate's sandboxed "
                "process, so a candidate can tamper with its own score; prefer instances() + check()",
                highlight=False,
            )
    if problems:
        raise fail(problems[0])
