"""Commands that read what was recorded or what is available: runs, show, models, doctor."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.table import Table

from selftaught.cli.common import JsonOpt, StoreOpt, fail, out, resolve_store_path
from selftaught.cli.progress import iteration_table


def runs_cmd(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List the runs in the store, newest first."""
    from selftaught.api import open_store
    from selftaught.errors import UserInputError

    path = resolve_store_path(store)
    try:
        summaries = open_store(path).runs() if path.exists() else []
    except UserInputError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "kind": s.kind,
                        "status": s.status,
                        "model": s.model_spec,
                        "started": iso(s.created),
                    }
                    for s in summaries
                ]
            )
        )
        return
    table = Table(title=f"runs in {path}")
    for column in ("id", "kind", "status", "model", "started"):
        table.add_column(column, overflow="fold")
    for s in summaries:
        table.add_row(s.id, s.kind, s.status, s.model_spec, iso(s.created))
    out.print(table)


def usage_payload(usage: dict, config: dict) -> dict:
    """Per-iteration and total model use, with cost when the run had a price table."""
    from selftaught.models.limits import Prices

    prices = Prices.of(config)
    per_iteration = []
    totals: dict[str, float] = {}
    for iteration, figures in usage.items():
        entry = {
            "iteration": iteration,
            **figures,
            "cost_usd": prices.cost(figures["prompt_tokens"], figures["completion_tokens"]),
        }
        per_iteration.append(entry)
        for key, value in entry.items():
            if key != "iteration" and value is not None:
                totals[key] = totals.get(key, 0) + value
    return {"per_iteration": per_iteration, "total": totals}


def iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(timestamp))


def _print_speculative(speculative: dict[str, int]) -> None:
    """What --speculate spent on evaluations no improver asked for (counted in the usage too)."""
    if speculative["improver_runs"]:
        out.print(
            f"speculative (--speculate, never asked for): {speculative['improver_runs']} improver runs,"
            f" {speculative['model_calls']} model calls ({speculative['requests']} paid requests, counted"
            " in the usage below)",
            highlight=False,
        )


def show_cmd(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="run id (see `selftaught runs`)")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one run: configuration, per-iteration meta-utility, and what was recorded."""
    from selftaught.api import open_store
    from selftaught.errors import UserInputError

    try:
        db = open_store(resolve_store_path(store))
    except UserInputError as exc:
        raise fail(str(exc)) from None
    run = db.run(run_id)
    if run is None:
        raise fail(f"no run {run_id!r} in {db.path}")
    iterations = [it.model_dump() for it in db.iterations(run_id)]
    payload: dict[str, Any] = {
        "run_id": run_id,
        "kind": run.kind,
        "status": run.status,
        "reason": run.reason,
        "model": run.model_spec,
        "model_identity": run.model_identity,
        "started": iso(run.created),
        "config": run.config,
        "iterations": [
            {
                "iteration": it["iteration"],
                "meta_utility_val": it["meta_utility_val"],
                "meta_utility_test": it["meta_utility_test"],
                "status": it["status"],
                "improver_hash": it["improver_hash"],
                "error_kind": it["error_kind"],
                "acceptance": it.get("acceptance"),  # the paired test under --accept significant
            }
            for it in iterations
        ],
        "recorded": db.counts(run_id),
        "speculative": db.speculative_usage(run_id),  # --speculate's evaluations nobody asked for
        "served_models": db.served_models(run_id),
        "usage": usage_payload(db.usage(run_id), run.config),
    }
    from selftaught.tasks.field import recorded_task_notes

    payload["task_formats"] = recorded_task_notes(list(run.config.get("tasks") or []))
    cost_line = None
    if run.kind == "stop":
        from selftaught.analysis.cost_per_gain import cost_per_gain
        from selftaught.analysis.metaproductivity import lineage_productivity

        gain = cost_per_gain(db, run_id)
        payload["metaproductivity"] = [row.to_json() for row in lineage_productivity(db, run_id)]
        payload["cost_per_gain"] = gain.to_json()
        cost_line = gain.text()
    explained = explanation(db, run_id)
    payload["explained"] = explained.lines  # the text below, line by line
    payload["candidates"] = explained.per_iteration  # the same counts, as data
    if as_json:
        print(json.dumps(payload))
        return
    out.print(
        f"[bold]run {run_id}[/] ({payload['kind']}, {payload['status']}) model {payload['model']} "
        f"[{payload['model_identity']}] started {payload['started']}",
        highlight=False,
    )
    out.print("config: " + json.dumps(payload["config"], sort_keys=True), highlight=False, soft_wrap=True)
    for note in payload["task_formats"]:
        if note["held_out"] is False:
            out.print(
                f"note: {note['task']} ({note['label']} format) has no held-out split: the optimized and "
                "the reported score are the same evaluation",
                highlight=False,
                soft_wrap=True,
            )
    if iterations:
        out.print(iteration_table(payload["iterations"], run_id))
    out.print("recorded: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in payload["recorded"].items()))
    _print_speculative(payload["speculative"])
    if payload["served_models"]:
        out.print("served by: " + ", ".join(payload["served_models"]), highlight=False)
    if payload["usage"]["per_iteration"]:
        table = Table(title="model use")
        for column in (
            "iteration",
            "requests",
            "cached calls",
            "prompt tok",
            "completion tok",
            "retries",
            "failed samples",
            "cost USD",
        ):
            table.add_column(column, justify="right")
        for entry in [
            *payload["usage"]["per_iteration"],
            {"iteration": "total", **payload["usage"]["total"]},
        ]:
            table.add_row(
                *(
                    str(entry.get(k, "-")) if k != "cost_usd" else f"{entry.get(k, 0):.4f}"
                    for k in (
                        "iteration",
                        "requests",
                        "cached_calls",
                        "prompt_tokens",
                        "completion_tokens",
                        "retries",
                        "failed_samples",
                        "cost_usd",
                    )
                )
            )
        out.print(table)
    if payload.get("metaproductivity"):
        out.print(_productivity_table(payload["metaproductivity"]))
    if cost_line is not None:
        out.print(cost_line, highlight=False, soft_wrap=True)
    out.print("what happened:", highlight=False)
    for line in explained.lines[1:]:
        out.print(line, highlight=False, soft_wrap=True)
    out.print(
        f"the full picture, with each candidate's code: selftaught report {run_id}",
        highlight=False,
        soft_wrap=True,
    )


def _productivity_table(rows: list[dict[str, Any]]) -> Table:
    """Each improver's own test meta-utility beside its metaproductivity (its descendants' mean)."""
    table = Table(title="metaproductivity: the test score of each improver's descendants' solutions")
    for column in ("proposed at", "from", "in use", "own test", "descendants", "their mean test"):
        table.add_column(column, justify="right")
    for row in rows:
        own, mean = row["meta_utility_test"], row["metaproductivity"]
        table.add_row(
            "seed" if row["iteration"] == 0 else f"iteration {row['iteration']}",
            "-" if row["parent"] is None else str(row["parent"]),
            "yes" if row["adopted"] else "no",
            "-" if own is None else f"{own:.3f}",
            str(len(row["descendants"])),
            "-" if mean is None else f"{mean:.3f} ({row['descendant_solutions']} solutions)",
        )
    return table


@dataclass
class Explanation:
    """`show`'s account of a run's candidates: the report's text twin and its JSON form."""

    lines: list[str]
    per_iteration: list[dict[str, Any]]


def explanation(db, run_id: str) -> Explanation:
    """Per iteration: candidates produced, scored, failed with counts per reason, best against u(s)."""
    from selftaught.report import collect_report, explain_run
    from selftaught.report.explain import count_candidates

    data = collect_report(db, run_id)
    per_iteration = []
    for it in data.iterations:
        runs = [r for r in data.improver_runs if r.iteration == it.iteration]
        entry: dict[str, Any] = {"iteration": it.iteration, "status": it.status}
        for key, self_improve in (("solutions", False), ("improvers", True)):
            chosen = [r for r in runs if (r.purpose == "self_improve") == self_improve]
            counts = count_candidates(
                [(None if self_improve else r.task, c) for r in chosen for c in r.candidates]
            )
            entry[key] = {
                "produced": counts.produced,
                "scored": counts.scored,
                "failed": counts.failed,
                "never_scored": counts.unscored,
                "failures": dict((counts.reasons or Counter()).most_common()),
                "best_val": counts.best,
                "best_task": counts.best_task,
            }
            if not self_improve:
                reference = data.seed_scores.get(counts.best_task or "", {}).get("val")
                entry[key]["seed_val"] = reference
                entry[key]["better_than_seed"] = (
                    None if reference is None or counts.best is None else counts.best > reference
                )
        per_iteration.append(entry)
    return Explanation(explain_run(data), per_iteration)


def doctor_cmd(as_json: JsonOpt = False) -> None:
    """Report which sandbox protections this machine gives, and whether --sandbox strict can run."""
    from selftaught.sandbox.doctor import probe, report_lines

    protections = probe()
    if as_json:
        print(json.dumps([p.to_dict() for p in protections]))
        return
    for line in report_lines(protections):
        out.print(line, highlight=False, soft_wrap=True)


def models_cmd() -> None:
    """List the model kinds and whether each is ready to use."""
    from rich.markup import escape

    from selftaught.models.registry import model_kinds

    table = Table(title="model kinds")
    table.add_column("kind")
    table.add_column("usage")
    table.add_column("ready")
    for kind in model_kinds():
        try:
            ready = kind.readiness() if kind.readiness else "yes"
        except Exception as exc:  # noqa: BLE001 - a kind's readiness probe must never break the listing
            ready = f"unknown ({exc.__class__.__name__})"
        table.add_row(kind.name, escape(kind.description), escape(ready))
    out.print(table)
