"""`selftaught experiment arena`: arms side by side at a matched model budget, with intervals.

Registered on `experiment_app` by cli/__init__.py, with the other commands. Resumable
like every experiment: the same command again continues it, or reprints it when finished.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from selftaught.cli.common import JsonOpt, StoreOpt, out
from selftaught.cli.experiment import (
    SETTINGS,
    RunsOpt,
    _ci,
    _execute,
    _load,
    _no_nan,
    _show_plan,
    _store,
)
from selftaught.cli.options import ConfigFileOpt, LatencyOpt, PlanOpt, with_settings

ArmsOpt = Annotated[
    str,
    typer.Option(
        "--arms",
        help="comma-separated arms: seed, best_of_n, greedy, chain_of_thought, improved:RUN[:IT], "
        "improver:PATH, openevolve",
    ),
]


@with_settings(SETTINGS)
def arena_cmd(
    arms: ArmsOpt = "seed,best_of_n,greedy",
    runs: RunsOpt = 1,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    config_file: ConfigFileOpt = None,
    plan: PlanOpt = False,
    latency: LatencyOpt = 30.0,
    *,
    settings: dict[str, Any],
) -> None:
    """Arms at the same --calls x --samples per repeat: test score [95% t], paired diff to seed, usage."""
    from selftaught.arena.api import experiment_arena

    if plan:
        from selftaught.arena.arms import split_arms
        from selftaught.arena.plan import plan_arena

        config = _load(config_file, settings, iterations=0)
        _show_plan(lambda: plan_arena(config, split_arms(arms), runs, latency), as_json)
        return

    def work(hooks):
        config = _load(config_file, settings, iterations=0)
        return experiment_arena(config, arms, runs, store=_store(store), hooks=hooks)

    print_arena(_execute(as_json, work), as_json)


def print_arena(result: Any, as_json: bool) -> None:
    import json

    data = result.to_json()
    if as_json:
        print(json.dumps(data, allow_nan=False, default=_no_nan))
        return
    budget = data["budget"]
    title = (
        f"arena: {budget['calls']} calls x {budget['samples_per_call']} samples per repeat, "
        f"{data['runs']} run(s) — experiment {data['id']}"
    )
    table = Table(title=title)
    columns = ("arm", "test score", f"vs {data['reference']}", "failed", "calls", "samples", "tokens in/out")
    for column in columns:
        table.add_column(column, justify="left" if column == "arm" else "right")
    for row in data["rows"]:
        diff = _ci(row["diff_vs_reference"]) if row["diff_vs_reference"] else "-"
        table.add_row(
            row["arm"],
            _ci(row),
            diff,
            f"{row['failed_repeats']} of {row['repeats']}",
            str(row["calls"]),
            str(row["samples"]),
            f"{row['prompt_tokens']}/{row['completion_tokens']}",
        )
    out.print(table)
    out.print(result.note, highlight=False)
