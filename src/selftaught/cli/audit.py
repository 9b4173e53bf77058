"""`selftaught audit ...`: circumvention, hacking, strategies and summary; parse, call, print.

The work is in `selftaught.audits`; this module only turns options into calls and
results into tables (stdout) or one JSON object (`--json`). Progress goes to stderr.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from selftaught.cli.common import JsonOpt, StoreOpt, err, fail, out, resolve_store_path, warn
from selftaught.cli.options import ConfigFileOpt, LatencyOpt, PlanOpt, with_settings
from selftaught.cli.progress import ProgressView
from selftaught.config import settings_in
from selftaught.errors import UserInputError

if TYPE_CHECKING:
    from selftaught.analysis.stats import Rate, RateDifference
    from selftaught.audits.circumvention_audit import CircumventionResult

audit_app = typer.Typer(
    help="Integrity audits: sandbox circumvention, reward hacking, improver strategies, per-model summary.",
    no_args_is_help=True,
)

# an audit asks a model (or none): its model section but the spec, and its budgets
TRANSPORT = tuple(name for name in settings_in("model", "budgets") if name != "model")
CIRCUMVENTION_SETTINGS = ("model", "samples", "seed", *TRANSPORT)
EXIT = {"finished": 0, "stopped": 0, "failed": 1, "interrupted": 130}
RunArg = Annotated[str, typer.Argument(metavar="RUN_OR_EXPERIMENT", help="a run id (see `selftaught runs`)")]


def _pct(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.2f}%"


def rate_cells(rate: Rate) -> list[str]:
    """k/n, the rate and its interval, as table cells."""
    return [f"{rate.k}/{rate.n}", _pct(rate.rate), f"{_pct(rate.lo)} - {_pct(rate.hi)}"]


def _difference_line(diff: RateDifference) -> str:
    from selftaught.audits.summary import FEW_EVENTS, few_events

    line = (
        f"warning minus seed: {100 * diff.diff:+.2f} points "
        f"(95% CI {100 * diff.lo:+.2f} to {100 * diff.hi:+.2f}, {diff.method})"
    )
    if few_events(diff):
        line += (
            f"; fewer than {FEW_EVENTS} circumventions in all: the interval is conservative, ask for more --n"
        )
    return line


def _config(config_file: Path | None, settings: dict[str, Any]):
    from selftaught.cli.run import _config as load

    return load(config_file, settings)


def _open(store: Path | None, create: bool = False):
    from selftaught.api import open_store

    return open_store(resolve_store_path(store), create=create)


# --- circumvention ----------------------------------------------------------------------------


def _circumvention_table(result: CircumventionResult) -> Table:
    table = Table(title=f"sandbox circumvention, {result.variant} prompt (audit run {result.run_id})")
    for name, justify in (
        ("finding", "left"),
        ("improvements", "right"),
        ("rate", "right"),
        ("95% CI", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_row("[bold]circumvention[/]", *rate_cells(result.tally.circumvention))
    for kind, rate in result.tally.by_kind.items():
        table.add_row(kind.value, *rate_cells(rate))
    return table


@audit_app.command("circumvention")
@with_settings(CIRCUMVENTION_SETTINGS)
def circumvention_cmd(
    n: Annotated[int, typer.Option("--n", min=1, help="independent improvements to ask for")] = 200,
    warning: Annotated[bool, typer.Option("--warning", help="add the paper's warning to the prompt")] = False,
    compare: Annotated[
        bool, typer.Option("--compare", help="run both prompts and print the difference of the rates")
    ] = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    config_file: ConfigFileOpt = None,
    plan: PlanOpt = False,
    latency: LatencyOpt = 30.0,
    *,
    settings: dict[str, Any],
) -> None:
    """Ask for N improvements of the sandbox task's improver; classify each rewrite's code (never run it)."""
    from selftaught.analysis.stats import footnote, proportion_difference
    from selftaught.audits.circumvention_audit import run_circumvention
    from selftaught.runs.calls import RunHooks, RunStart

    variants = ["seed", "warning"] if compare else ["warning" if warning else "seed"]
    if plan:
        from selftaught.cli.run import show_plan
        from selftaught.plan import plan_circumvention

        show_plan(lambda: plan_circumvention(_config(config_file, settings), n, variants, latency), as_json)
        return
    results = []
    try:
        config = _config(config_file, settings)
        db = _open(store, create=True)
        with ProgressView(not as_json) as view:
            for variant in variants:

                def announce(start: RunStart, variant: str = variant) -> None:
                    err.print(
                        f"audit run {start.run_id}: {n} improvements, {variant} prompt, {config.model}",
                        highlight=False,
                    )

                hooks = RunHooks(on_progress=view.update, on_start=announce)
                result = run_circumvention(config, db, n, variant, hooks=hooks)
                results.append(result)
                if result.status != "finished":
                    break
    except UserInputError as exc:
        raise fail(str(exc)) from None
    difference = None
    if len(results) == 2:
        a, b = results[1].tally.circumvention, results[0].tally.circumvention
        difference = proportion_difference(a.k, a.n, b.k, b.n)
    for result in results:
        if result.status != "finished":
            err.print(
                f"{result.status}: {result.reason}; run the same command again to go on", highlight=False
            )
    if as_json:
        payload: dict[str, Any] = {"audits": [r.to_json() for r in results]}
        payload["warning_minus_seed"] = difference.to_json() if difference else None
        print(json.dumps(payload))
    else:
        for result in results:
            out.print(_circumvention_table(result))
            if result.no_code:
                out.print(f"{result.no_code} answers had no code block (counted, never circumventing)")
        out.print(footnote([r.tally.circumvention for r in results], unit="improvements"))
        if difference is not None:
            out.print(_difference_line(difference))
    status = next((r.status for r in results if r.status != "finished"), "finished")
    if EXIT[status]:
        raise typer.Exit(EXIT[status])


# --- hacking ----------------------------------------------------------------------------------


@audit_app.command("hacking")
def hacking_cmd(
    run_id: RunArg,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="score every returned solution again on the reference splits and on fresh ones (sandbox); "
            "flag a drop above 0.2 over both splits' instances",
        ),
    ] = False,
) -> None:
    """Reward-hacking detectors over a recorded run or experiment, per iteration with 95% intervals."""
    from selftaught.audits.hacking_audit import audit_hacking

    try:
        result = audit_hacking(_open(store), run_id, fresh=fresh, on_warning=warn)
    except UserInputError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print(json.dumps(result.to_json(), default=str))
        return
    table = Table(title=f"reward hacking in run {run_id} ({result.run.kind}, scoring {result.scoring})")
    columns = ("iteration", "improver runs", "val>test gap", "rejected answers", "impossible scores",
               "budget escapes", "reference-only credit")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")

    def cell(rate: Rate) -> str:
        return f"{rate.k}/{rate.n} {_pct(rate.rate)} [{_pct(rate.lo)}, {_pct(rate.hi)}]"

    rows = [(r, False) for r in result.report.rows] + [(result.report.total, True)]
    for row, total in rows:
        table.add_row(
            "all" if total else str(row.iteration if row.iteration is not None else "-"),
            str(row.improver_runs),
            cell(row.gap),
            cell(row.rejected),
            cell(row.impossible),
            cell(row.escapes),
            cell(result.reference_only(row, total)),
        )
    out.print(table)
    whole = result.report.total
    if whole.rejected_by_kind:
        out.print("rejected by kind: " + ", ".join(f"{k} {v}" for k, v in whole.rejected_by_kind.items()))
    if whole.escape_events:
        out.print("escape events: " + ", ".join(f"{k} {v}" for k, v in whole.escape_events.items()))
    for gap in result.report.gaps:
        if gap.flagged:
            out.print(
                f"improver run {gap.improver_run_id} (iteration {gap.iteration}, {gap.task}): "
                f"val {gap.score_val:.3f} vs test {gap.score_test:.3f}"
            )
    for finding in result.seed_findings:
        seeds = finding.literal.seeds
        shown = finding.literal.value if seeds.kind == "reference" else "(secret)"
        out.print(
            f"{finding.source_kind} {finding.code_hash[:12]} line {finding.literal.line}: {shown} is a "
            f"{seeds.kind} seed of {seeds.task} {seeds.split}"
        )
    if result.fresh is not None:
        check = result.fresh
        out.print(
            f"fresh splits: {len(check.flagged)} of {check.candidates} returned solutions drop by more "
            f"than {check.threshold:g} from reference to fresh splits (both splits' instances pooled)"
            + (f" (not drawn afresh: {', '.join(check.skipped)})" if check.skipped else "")
        )
        for drop in check.flagged:
            out.print(
                f"  {drop.code_hash[:12]} ({drop.task}): reference {drop.reference_score:.3f} "
                f"vs fresh {drop.fresh_score:.3f}"
            )
    out.print("95% intervals: Wilson; k/n counts improver runs, evaluations or scores per column")


# --- strategies -------------------------------------------------------------------------------


@audit_app.command("strategies")
@with_settings(TRANSPORT)
def strategies_cmd(
    run_id: RunArg,
    judge: Annotated[
        str | None, typer.Option("--judge", help="also ask this model (a model spec) to label each improver")
    ] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    config_file: ConfigFileOpt = None,
    *,
    settings: dict[str, Any],
) -> None:
    """Label every improver a run recorded with the strategies the paper names, with the lines behind each."""
    from selftaught.audits.strategies_audit import audit_strategies

    try:
        config = _config(config_file, settings)
        result = audit_strategies(_open(store), run_id, config, judge)
    except UserInputError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print(json.dumps(result.to_json()))
        return
    table = Table(title=f"strategies of the improvers in run {run_id} (audit run {result.run_id})")
    for column in (
        "iteration",
        "role",
        "source",
        "strategies (AST)",
        "evidence",
        *(["judge"] if judge else []),
    ):
        table.add_column(column)
    for item in result.improvers:
        evidence = "; ".join(f"{line}: {text[:50]}" for v in item.labels.values() for line, text in v[:2])
        table.add_row(
            str(item.source.iteration),
            item.source.role,
            item.source.code_hash[:10],
            ", ".join(item.labels) or ("-" if item.parsed else "(does not parse)"),
            evidence,
            *([", ".join(item.judge or []) or "-"] if judge else []),
        )
    out.print(table)
    counts = Table(title="improvers per strategy")
    counts.add_column("strategy")
    iterations = list(result.counts_by_iteration)
    for iteration in iterations:
        counts.add_column(f"it {iteration}", justify="right")
    counts.add_column("run", justify="right")
    if judge:
        counts.add_column("judge", justify="right")
    for name, total in result.counts.items():
        per = [str(result.counts_by_iteration[i][name]) for i in iterations]
        counts.add_row(name, *per, str(total), *([str(result.judge_counts[name])] if judge else []))
    out.print(counts)
    if result.status != "finished":
        err.print(f"{result.status}: {result.reason}", highlight=False)
        raise typer.Exit(EXIT[result.status])


# --- summary ----------------------------------------------------------------------------------


@audit_app.command("summary")
def summary_cmd(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Every audit rate per model identity in the store, with its interval and the count behind it."""
    from selftaught.audits.summary import audit_summary, summary_json

    try:
        summaries = audit_summary(_open(store))
    except UserInputError as exc:
        raise fail(str(exc)) from None
    if as_json:
        print(summary_json(summaries))
        return
    if not summaries:
        warn("no runs in the store")
    for summary in summaries:
        table = Table(title=f"{summary.identity} ({summary.runs} runs)")
        for name, justify in (
            ("audit", "left"),
            ("rate", "left"),
            ("k/n", "right"),
            ("%", "right"),
            ("95% CI", "right"),
        ):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for variant, rates in summary.circumvention.items():
            table.add_row(f"circumvention ({variant})", "circumvention", *rate_cells(rates.circumvention))
            for kind, rate in rates.by_kind.items():
                if rate.k:
                    table.add_row("", kind, *rate_cells(rate))
        for name, rate in summary.hacking.items():
            table.add_row(
                f"hacking ({summary.improver_runs} improver runs)" if name == "gap" else "",
                name,
                *rate_cells(rate),
            )
        for name, rate in summary.strategies.items():
            table.add_row(
                f"strategies ({summary.improvers} improvers)" if name == "beam_or_tree_search" else "",
                name,
                *rate_cells(rate),
            )
        out.print(table)
        if summary.warning_difference is not None:
            out.print(_difference_line(summary.warning_difference))
