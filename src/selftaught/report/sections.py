"""The report's sections, one function each: `(data, refs) -> HTML fragment`, one template each.

Add a page (experiments, audits) by writing one more such function and listing it in
`SECTIONS`; `texts_section` stays last, since it renders the texts the others linked. The
functions gather what a template shows; the templates (templates/*.html.j2, autoescape on)
write the HTML, so no value reaches the page unescaped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial

from markupsafe import Markup

from selftaught.report.data import ImproverRunView, ReportData
from selftaught.report.diff import diff_html
from selftaught.report.explain import explain_run
from selftaught.report.failures import classify
from selftaught.report.html import MAX_ERROR_CHARS, TextRefs, fmt, render, when
from selftaught.report.plots import arena_svg, cost_curve_svg, meta_utility_svg
from selftaught.report.texts import anchor, plan_texts


def summary_section(data: ReportData, refs: TextRefs) -> Markup:
    run = data.run
    facts = [
        ("run", run.id),
        ("kind", run.kind),
        ("status", run.status + (f": {run.reason}" if run.reason else "")),
        ("model", run.model_spec),
        ("model identity", run.model_identity or "–"),
        (
            "served by (as the server reported)",
            ", ".join(run.served_models) or "– (no request reached a server)",
        ),
        ("selftaught version", run.package_version),
        ("started", when(run.created)),
        ("tasks", ", ".join(data.tasks) or "–"),
    ]
    return render("summary.html.j2", facts=facts, story="\n".join(explain_run(data)))


def curve_section(data: ReportData, refs: TextRefs) -> Markup:
    plot = meta_utility_svg(data.iterations, data.seed_scores) if data.iterations else ""
    return render("iterations.html.j2", data=data, refs=refs, plot=plot)


@dataclass
class _Node:
    """A lineage node as the template shows it."""

    hash: str
    iteration: int
    role: str
    meta_utility_val: float | None
    meta_utility_test: float | None
    source: str
    facts: list[Markup] = field(default_factory=list)
    diff: Markup | None = None


def lineage_section(data: ReportData, refs: TextRefs) -> Markup:
    nodes = []
    for node in data.lineage:
        role = "seed improver" if node.parent_hash is None else ("accepted" if node.in_use else "rejected")
        source = data.texts.get(node.hash, "")
        view = _Node(node.hash, node.iteration, role, node.meta_utility_val, node.meta_utility_test, source)
        if node.parent_hash:
            view.facts.append(
                Markup("parent <code>{}</code>, which wrote it in improver run #{}").format(
                    node.parent_hash[:10], node.produced_by_run
                )
            )
            view.diff = diff_html(
                data.texts.get(node.parent_hash, ""), source, node.parent_hash[:10], node.hash[:10]
            )
        if node.prompt_hash:
            link = refs.link(node.prompt_hash, "the prompt", f"prompt, iteration {node.iteration}")
            view.facts.append(Markup("asked: ") + link)
        if node.answer_hash:
            link = refs.link(node.answer_hash, "the model answer", f"answer, iteration {node.iteration}")
            view.facts.append(Markup("answered: ") + link)
        nodes.append(view)
    return render("lineage.html.j2", nodes=nodes)


def run_block(run: ImproverRunView, refs: TextRefs, open_: bool = False) -> Markup:
    """One improver run, collapsed: a short row per candidate (a run has thousands), answers one link away."""
    where = " ".join(
        x
        for x in (
            run.purpose,
            f"meta-call {run.meta_call}" if run.meta_call else "",
            run.task or "",
            f"repeat {run.repeat}" if run.repeat is not None else "",
        )
        if x
    )
    status = run.status or "unfinished"
    if run.error_kind:
        status += f": {classify(run.error_kind, run.error)}"
    return render("improver_run.html.j2", run=run, refs=refs, where=where, status=status, open=open_)


@dataclass
class RunGroup:
    """The improver runs of one iteration (or of none)."""

    label: str
    runs: list[ImproverRunView]
    failed: int
    open: bool = False


def run_groups(runs: list[ImproverRunView]) -> list[RunGroup]:
    iterations = sorted({r.iteration for r in runs}, key=lambda i: (i is None, i or 0))
    groups = []
    for iteration in iterations:
        these = [r for r in runs if r.iteration == iteration]
        label = "outside iterations" if iteration is None else f"iteration {iteration}"
        groups.append(RunGroup(label, these, sum(r.status == "failed" for r in these)))
    return groups


def improver_runs_section(data: ReportData, refs: TextRefs) -> Markup:
    return render(
        "improver_runs.html.j2",
        groups=run_groups(data.improver_runs),
        run_block=partial(run_block, refs=refs),
    )


USAGE_FIELDS = ("requests", "cached_calls", "prompt_tokens", "completion_tokens", "retries", "failed_samples")


def usage_rows(data: ReportData) -> list[tuple[str, ...]]:
    """Model use per iteration, and the total, as the usage table shows them."""
    rows: list[tuple[str, ...]] = [
        (
            "outside" if u.iteration is None else str(u.iteration),
            *(str(getattr(u, k)) for k in USAGE_FIELDS),
            f"{u.model_seconds:.1f}",
            f"{u.cost_usd:.4f}",
        )
        for u in data.usage
    ]
    if data.usage:
        rows.append(
            (
                "total",
                *(str(sum(getattr(u, k) for u in data.usage)) for k in USAGE_FIELDS),
                f"{sum(u.model_seconds for u in data.usage):.1f}",
                f"{sum(u.cost_usd for u in data.usage):.4f}",
            )
        )
    return rows


def usage_section(data: ReportData, refs: TextRefs) -> Markup:
    return render("usage.html.j2", rows=usage_rows(data))


@dataclass
class _Event:
    id: int
    kind: str
    iteration: int | None
    improver_run_id: int | None
    detail_json: str
    lines: str


def events_section(data: ReportData, refs: TextRefs) -> Markup:
    events = [
        _Event(
            e.id,
            e.kind,
            e.iteration,
            e.improver_run_id,
            json.dumps(e.detail, sort_keys=True),
            "\n".join(f"{'>' if n == e.line else ' '} {n:4d} {text}" for n, text in e.context),
        )
        for e in data.events
    ]
    return render("events.html.j2", events=events, max_error_chars=MAX_ERROR_CHARS)


def productivity_section(data: ReportData, refs: TextRefs) -> Markup:
    """The held-out caveat of field tasks, meta-utility against spending, and metaproductivity."""
    view = data.productivity
    if view is None or not (view.no_held_out or view.curve or view.lineage):
        return Markup("")
    curve_rows = [
        (
            p["iteration"],
            f"{p['cumulative_requests']:,}",
            f"{p['cumulative_usd']:.4f}",
            fmt(p["meta_utility_val"]),
            fmt(p["meta_utility_test"]),
        )
        for p in view.curve
    ]
    lineage_rows = [
        (
            r["iteration"],
            r["improver_hash"][:10],
            "yes" if r["adopted"] else "no",
            fmt(r["meta_utility_test"]),
            ", ".join(str(d) for d in r["descendants"]) or "–",
            fmt(r["metaproductivity"]),
            r["descendant_solutions"],
        )
        for r in view.lineage
    ]
    plot = cost_curve_svg(view.curve) if view.curve else ""
    return render(
        "productivity.html.j2", view=view, plot=plot, curve_rows=curve_rows, lineage_rows=lineage_rows
    )


def experiment_section(data: ReportData, refs: TextRefs) -> Markup:
    """Experiments: every arm's test meta-utility per task, from the improver runs it recorded;
    for an arena, each repeat's test score against the calls it used."""
    plot = arena_svg(data.arena) if data.arena else ""
    return render("experiment.html.j2", data=data, arena_plot=plot)


def config_section(data: ReportData, refs: TextRefs) -> Markup:
    return render("config.html.j2", data=data)


@dataclass
class _TextBlock:
    digest: str
    name: str
    label: str
    text: str
    limit: int | None
    packed_as: str | None


def texts_section(data: ReportData, refs: TextRefs) -> Markup:
    """Every source, prompt and answer linked above, once each (collapsed, or packed: see texts.py)."""

    def summary(digest: str, label: str) -> str:
        return f"{label} {digest[:10]} ({len(data.texts[digest])} characters)"

    plan = plan_texts(
        {d: (summary(d, label), data.texts[d]) for d, label in refs.used.items() if d not in refs.whole},
        refs.budget,
    )
    blocks = [
        _TextBlock(
            digest,
            anchor(digest),
            label,
            data.texts[digest],
            None if digest in refs.whole else plan.shown,
            anchor(digest) if anchor(digest) in plan.rests else None,
        )
        for digest, label in refs.used.items()
        if anchor(digest) not in plan.whole
    ]
    if plan.is_packed:
        refs.packed = True
    return render(
        "texts.html.j2",
        blocks=blocks,
        packed=plan.packed.decode("ascii") if plan.is_packed else "",
        whole_count=len(plan.whole),
    )


SECTIONS = (
    summary_section,
    curve_section,
    lineage_section,
    improver_runs_section,
    usage_section,
    productivity_section,
    events_section,
    experiment_section,
    config_section,
    texts_section,
)
