"""The run report: one static HTML file (`selftaught report`) and its text twin (`selftaught show`)."""

from __future__ import annotations

from pathlib import Path

from selftaught.report.collect import RunNotFound, collect_report
from selftaught.report.data import ReportData
from selftaught.report.explain import explain_run, summary_line


def render_report(data: ReportData, text_budget: int | None = None) -> str:
    """The report page of `data` as one HTML string (`text_budget`: characters for all texts)."""
    from selftaught.report.html import TEXT_BUDGET_CHARS, render_page
    from selftaught.report.sections import SECTIONS

    return render_page(data, SECTIONS, text_budget or TEXT_BUDGET_CHARS)


def write_report(store, run_id: str, path: str | Path) -> Path:
    """Collect, render and write the report of `run_id`; returns the path written."""
    path = Path(path)
    path.write_text(render_report(collect_report(store, run_id)), encoding="utf-8")
    return path


__all__ = [
    "ReportData",
    "RunNotFound",
    "collect_report",
    "explain_run",
    "render_report",
    "summary_line",
    "write_report",
]
