"""The report of a 6-iteration, 5-repeat run at the paper's budgets stays under 5 MB."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from selftaught.report import collect_report, render_report
from selftaught.report.texts import anchor
from selftaught.store.store import Store
from tests.report.page_texts import page_texts

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "report_size.py"


@pytest.mark.slow
def test_a_full_size_run_reports_under_five_megabytes(tmp_path):
    spec = importlib.util.spec_from_file_location("report_size", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run_id = module.build_store(tmp_path / "synthetic.db", answer_chars=2500)
    data = collect_report(Store.open_existing(tmp_path / "synthetic.db"), run_id)
    html = render_report(data)
    assert len(data.improver_runs) == 221 and len(data.iterations) == 7
    assert len(html.encode()) < 5_000_000
    # collapsed, not dropped: every answer is in the page whole, shown or packed
    answers = {c.answer_hash for r in data.improver_runs for c in r.candidates if c.answer_hash}
    assert len(answers) > 5000
    held = page_texts(html)
    assert all(held.get(anchor(digest)) == data.texts[digest] for digest in answers)
