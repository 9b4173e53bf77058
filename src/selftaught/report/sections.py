"""The report's sections, one function each: `(data, refs) -> HTML fragment`.

Add a page (experiments, audits) by writing one more such function and listing it in
`SECTIONS`; `texts_section` stays last, since it renders the texts the others linked.
"""

from __future__ import annotations

import json
import time
from html import escape

from selftaught.report.data import Candidate, ImproverRunView, ReportData
from selftaught.report.diff import diff_html
from selftaught.report.explain import explain_run
from selftaught.report.failures import classify
from selftaught.report.html import TextRefs, anchor, collapsed, fmt, table, text_block
from selftaught.report.intervals import Interval
from selftaught.report.plots import meta_utility_svg
from selftaught.report.texts import plan_texts

MAX_ERROR_CHARS = 400


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _interval(iv: Interval | None, value: float | None) -> str:
    if iv is None or iv.n < 2:
        return fmt(value)
    return f"{fmt(value)} <span class=note>[{iv.low:.3f}, {iv.high:.3f}] n={iv.n}</span>"


def _error(kind: str | None, text: str | None) -> str:
    if not kind and not text:
        return ""
    message = (text or "").strip()
    if len(message) > MAX_ERROR_CHARS:
        message = "…" + message[-MAX_ERROR_CHARS:]
    return f"<b>{escape(kind or '')}</b> <code>{escape(message)}</code>"


def summary_section(data: ReportData, refs: TextRefs) -> str:
    run = data.run
    rows = [
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
        ("started", _when(run.created)),
        ("tasks", ", ".join(data.tasks) or "–"),
    ]
    facts = table(["", ""], [(escape(k), escape(str(v))) for k, v in rows])
    story = "\n".join(explain_run(data))
    return (
        f'<section id="summary"><h2>Summary</h2>{facts}'
        f"<h3>What happened</h3><pre>{escape(story)}</pre></section>"
    )


def curve_section(data: ReportData, refs: TextRefs) -> str:
    plot = meta_utility_svg(data.iterations, data.seed_scores) if data.iterations else ""
    rows = [
        (
            str(it.iteration),
            f'<span class="{escape(it.status)}">{escape(it.status)}</span>',
            _interval(it.val, it.meta_utility_val),
            _interval(it.test, it.meta_utility_test),
            _error(it.error_kind, it.error),
            refs.link(
                it.improver_hash, it.improver_hash[:10], f"improver {it.improver_hash[:10]}", whole=True
            ),
            refs.link(
                it.candidate_hash, it.candidate_hash[:10], f"proposed improver {it.candidate_hash[:10]}"
            )
            if it.candidate_hash
            else "–",
            f"{it.seconds:.1f}",
            str(it.attempt),
        )
        for it in data.iterations
    ]
    iteration_table = table(
        ["iteration", "status", "meta-utility val", "meta-utility test", "reason", "improver in use",
         "proposed", "seconds", "attempt"],
        rows,
        numeric={0, 2, 3, 7, 8},
    )  # fmt: skip
    seeds = table(
        ["task", "u(s) val", "u(s) test"],
        [(escape(t), fmt(s.get("val")), fmt(s.get("test"))) for t, s in sorted(data.seed_scores.items())],
        numeric={1, 2},
    )
    return (
        '<section id="iterations"><h2>Meta-utility per iteration</h2>'
        f'<div class="plot">{plot}</div>'
        '<p class="note">Intervals: mean ± 95% Student-t over the repeats behind each figure. A failed '
        "iteration keeps the improver in use and its figures (marked x).</p>"
        f"{iteration_table}<h3>Seed solution u(s)</h3>{seeds}"
        f'<p class="note">u(s): {escape(data.seed_source)}</p></section>'
    )


def lineage_section(data: ReportData, refs: TextRefs) -> str:
    parts = []
    for node in data.lineage:
        role = "seed improver" if node.parent_hash is None else ("accepted" if node.in_use else "rejected")
        head = (
            f"iteration {node.iteration}: improver <code>{node.hash[:10]}</code> ({role}), "
            f"meta-utility val {fmt(node.meta_utility_val)}, test {fmt(node.meta_utility_test)}"
        )
        facts = []
        if node.parent_hash:
            facts.append(f"parent <code>{node.parent_hash[:10]}</code>, which wrote it in improver run "
                         f"#{node.produced_by_run}")  # fmt: skip
        if node.prompt_hash:
            facts.append(
                "asked: " + refs.link(node.prompt_hash, "the prompt", f"prompt, iteration {node.iteration}")
            )
        if node.answer_hash:
            facts.append(
                "answered: "
                + refs.link(node.answer_hash, "the model answer", f"answer, iteration {node.iteration}")
            )
        source = data.texts.get(node.hash, "")
        body = f"<p>{'; '.join(facts)}</p>" if facts else ""
        if node.parent_hash:
            body += "<h4>Diff against its parent</h4>" + diff_html(
                data.texts.get(node.parent_hash, ""), source, node.parent_hash[:10], node.hash[:10]
            )
        body += collapsed(f"source ({len(source.splitlines())} lines)", text_block(source, None))
        parts.append(f'<div class="node"><h3>{head}</h3>{body}</div>')
    return '<section id="lineage"><h2>Improver lineage</h2>' + "".join(parts) + "</section>"


def _last_line(text: str | None, limit: int = 120) -> str:
    lines = (text or "").strip().splitlines()
    last = lines[-1].strip() if lines else ""
    return last if len(last) <= limit else last[: limit - 1] + "…"


def _candidate_row(index: int, c: Candidate, refs: TextRefs, run: ImproverRunView) -> tuple[str, ...]:
    """One short row per candidate (a run has thousands): the full answer is one link away."""
    if c.answer_hash is not None:
        origin = refs.link(c.answer_hash, f"call {c.call_id} #{c.sample}", f"answer, improver run #{run.id}")
    else:
        origin = refs.link(c.code_hash, "not from an answer", f"program, improver run #{run.id}")
    errors = [s for s in c.scores.values() if s.error_kind]
    failure = f"<span class=failed>{escape(c.failure)}</span>" if c.failure else ""
    if errors:
        failure += f" <code>{escape(_last_line(errors[0].error), quote=False)}</code>"
    return (
        str(index),
        origin,
        fmt(c.scores["val"].score) if "val" in c.scores else "–",
        fmt(c.scores["test"].score) if "test" in c.scores else "–",
        failure,
        "yes" if c.returned else "",
    )


def _run_block(run: ImproverRunView, refs: TextRefs) -> str:
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
    summary = (
        f'#{run.id} {escape(where)}: <span class="{escape(run.status or "")}">{escape(status)}</span>, '
        f"{len(run.candidates)} candidates, val {fmt(run.score_val)}, test {fmt(run.score_test)}"
    )
    head = (
        f"<p>improver {refs.link(run.improver_hash, run.improver_hash[:10], 'improver')}, stream "
        f"<code>{escape(run.stream)}</code>, {run.calls} model calls, "
        f"{fmt(run.elapsed_s, 1)} s{', parent #' + str(run.parent_id) if run.parent_id else ''}"
        f"{'; ' + _error(run.error_kind, run.error) if run.error_kind else ''}</p>"
    )
    rows = [_candidate_row(i, c, refs, run) for i, c in enumerate(run.candidates, 1)]
    candidates = table(
        ["#", "from", "program", "val", "test", "failure", "returned"], rows, numeric={0, 3, 4}
    )
    return collapsed(summary, head + (candidates if rows else "<p class=note>no candidates</p>"))


def improver_runs_section(data: ReportData, refs: TextRefs) -> str:
    parts = []
    iterations = sorted({r.iteration for r in data.improver_runs}, key=lambda i: (i is None, i or 0))
    for iteration in iterations:
        runs = [r for r in data.improver_runs if r.iteration == iteration]
        label = "outside iterations" if iteration is None else f"iteration {iteration}"
        failed = sum(r.status == "failed" for r in runs)
        parts.append(collapsed(f"{label}: {len(runs)} improver runs, {failed} failed",
                               "".join(_run_block(r, refs) for r in runs)))  # fmt: skip
    return (
        '<section id="improver-runs"><h2>Improver runs</h2><p class="note">Each candidate is a program '
        "extracted from a model answer; scores are the hidden utility on each split.</p>"
        + "".join(parts)
        + "</section>"
    )


def usage_section(data: ReportData, refs: TextRefs) -> str:
    rows: list[tuple[str, ...]] = [
        (
            "outside" if u.iteration is None else str(u.iteration),
            str(u.requests), str(u.cached_calls), str(u.prompt_tokens), str(u.completion_tokens),
            str(u.retries), str(u.failed_samples), f"{u.model_seconds:.1f}", f"{u.cost_usd:.4f}",
        )
        for u in data.usage
    ]  # fmt: skip
    if data.usage:
        rows.append(("total", *(str(sum(getattr(u, k) for u in data.usage)) for k in
                     ("requests", "cached_calls", "prompt_tokens", "completion_tokens", "retries",
                      "failed_samples")),
                     f"{sum(u.model_seconds for u in data.usage):.1f}",
                     f"{sum(u.cost_usd for u in data.usage):.4f}"))  # fmt: skip
    headers = ["iteration", "requests", "cached calls", "prompt tokens", "completion tokens", "retries",
               "failed samples", "model seconds", "cost USD"]  # fmt: skip
    return (
        '<section id="usage"><h2>Model use and cost</h2>'
        + table(headers, rows, set(range(1, 9)))
        + "</section>"
    )


def events_section(data: ReportData, refs: TextRefs) -> str:
    if not data.events:
        return '<section id="events"><h2>Safety events</h2><p>none recorded</p></section>'
    rows = []
    for e in data.events:
        lines = "\n".join(f"{'>' if n == e.line else ' '} {n:4d} {text}" for n, text in e.context)
        detail = json.dumps(e.detail, sort_keys=True)
        rows.append(
            (
                str(e.id), escape(e.kind), str(e.iteration if e.iteration is not None else "–"),
                str(e.improver_run_id or "–"), f"<code>{escape(detail[:MAX_ERROR_CHARS])}</code>",
                f"<pre>{escape(lines)}</pre>" if lines else "",
            )
        )  # fmt: skip
    headers = ["#", "kind", "iteration", "improver run", "detail", "offending lines"]
    return '<section id="events"><h2>Safety events</h2>' + table(headers, rows) + "</section>"


def experiment_section(data: ReportData, refs: TextRefs) -> str:
    """Experiments: every arm's test meta-utility per task, from the improver runs it recorded."""
    if not data.arms:
        return ""
    rows = [
        (
            escape(a.arm),
            escape(a.task),
            _interval(a.test, a.test.mean if a.test else None),
            str(a.repeats),
            str(a.failed),
        )
        for a in data.arms
    ]
    headers = ["arm", "task", "test meta-utility [95% t]", "improver runs", "failed"]
    note = (
        "<p>Recomputed from the recorded improver runs (the run's repeats pooled; "
        "<code>selftaught resume ID</code> prints the experiment's own table).</p>"
    )
    return '<section id="experiment"><h2>Experiment arms</h2>' + note + table(headers, rows) + "</section>"


def config_section(data: ReportData, refs: TextRefs) -> str:
    rows = [(escape(k), f"<code>{escape(json.dumps(v))}</code>") for k, v in sorted(data.run.config.items())]
    return '<section id="config"><h2>Configuration</h2>' + table(["setting", "value"], rows) + "</section>"


def texts_section(data: ReportData, refs: TextRefs) -> str:
    """Every source, prompt and answer linked above, once each (collapsed, or packed: see texts.py)."""

    def summary(digest: str, label: str) -> str:
        return f"{label} {digest[:10]} ({len(data.texts[digest])} characters)"

    plan = plan_texts(
        {d: (summary(d, label), data.texts[d]) for d, label in refs.used.items() if d not in refs.whole},
        refs.budget,
    )
    blocks = []
    for digest, label in refs.used.items():
        name = anchor(digest)
        if name in plan.whole:
            continue
        blocks.append(
            collapsed(
                f"{escape(label)} <code>{digest[:10]}</code> ({len(data.texts[digest])} characters)",
                text_block(
                    data.texts[digest],
                    None if digest in refs.whole else plan.shown,
                    name if name in plan.rests else None,
                ),
                id_=name,
            )
        )
    packed = ""
    if plan.is_packed:
        refs.packed = True
        if plan.whole:
            count = len(plan.whole)
            packed += (
                f'<p class="note" id="packed-note">{count} answers and prompts are packed in this page to '
                "keep it under 5 MB: with JavaScript, their links above open them; without, they are in "
                "the run store (sources and model_calls tables).</p>"
                f'<p class="note" id="packed-ready" hidden>{count} answers and prompts are packed in this '
                "page: follow a link above to open one here.</p>"
            )
        # inert data (a block the page does not run): base64 of gzip of the packed texts
        block = plan.packed.decode("ascii")
        packed += f'<script type="application/octet-stream" id="packed">{block}</script>'
    return '<section id="texts"><h2>Sources and answers</h2>' + "".join(blocks) + packed + "</section>"


SECTIONS = (
    summary_section,
    curve_section,
    lineage_section,
    improver_runs_section,
    usage_section,
    events_section,
    experiment_section,
    config_section,
    texts_section,
)
