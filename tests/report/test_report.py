"""The report of a real scripted run: what it says, that it escapes, and that a browser opens it cleanly."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from selftaught.report import collect_report, explain_run, render_report
from selftaught.store.store import Store
from tests.conftest import run_cli
from tests.report.browser import browser_missing, visit


def _data(scripted_run):
    return collect_report(Store.open_existing(scripted_run.store), scripted_run.run_id)


def test_explain_names_why_each_candidate_failed(scripted_run):
    lines = explain_run(_data(scripted_run))
    text = "\n".join(lines)
    assert lines[0] == f"run {scripted_run.run_id}: finished"
    assert [line for line in lines if line.startswith("iteration ")] == [
        "iteration 0 (seed)",
        "iteration 1 (improved)",
        "iteration 2 (improved)",
    ]
    for reason in ("missing module pandas", "exception: ValueError", "timeout", "syntax error",
                   "no code block in the answer", "exception: ZeroDivisionError"):  # fmt: skip
        assert reason in text, reason
    # iteration 0: the seed improver wrote one candidate per sample and repeat; only the learner scored
    assert any(
        line.startswith("  solutions: 7 candidates written by the model, 1 scored, 6 failed (")
        for line in lines
    )
    seed_score = re.search(r"against u\(s\) (\d\.\d+): better than the seed", text)
    assert seed_score and 0.3 < float(seed_score.group(1)) < 0.7  # the seed guesses parity bits


def test_candidates_are_matched_to_the_answers_they_came_from(scripted_run):
    data = _data(scripted_run)
    first = next(r for r in data.improver_runs if r.purpose == "iteration_eval" and r.iteration == 0)
    from_answers = [c for c in first.candidates if c.answer_hash is not None]
    assert len(from_answers) == 6 and sorted(c.sample for c in from_answers) == list(range(6))
    pandas = next(c for c in from_answers if c.failure == "missing module pandas")
    assert "import pandas" in data.texts[pandas.answer_hash]
    assert pandas.scores["val"].error_kind == "load_error"
    returned = [c for c in first.candidates if c.returned]
    assert len(returned) == 1 and returned[0].scores["test"].score == pytest.approx(first.score_test)
    # the lineage: the accepted improver came from an answer of the self-improvement run
    node = data.lineage[1]
    assert node.in_use and node.parent_hash == data.lineage[0].hash
    assert "def improve_algorithm" in data.texts[node.answer_hash]
    assert data.events and data.events[0].kind == "process_import"
    assert any("import subprocess" in line for _, line in data.events[0].context)


def test_model_text_is_escaped(scripted_run):
    html = render_report(_data(scripted_run))
    assert "<script" not in html.lower()
    assert "&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in html
    # nothing to fetch: no external link, script, stylesheet or font (SVG namespaces are names, not fetches)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html, re.I)
    assert "<link" not in html and "@import" not in html
    assert not re.search(r"""url\(\s*["']?(?!#)""", html)  # only references inside the page


def _fields(record) -> set[str]:
    return set(type(record).model_fields) | set(type(record).model_computed_fields)


def _fields(record) -> set[str]:
    return set(type(record).model_fields) | set(type(record).model_computed_fields)


def test_reads_return_records_named_by_the_schema_columns(scripted_run):
    store = Store.open_existing(scripted_run.store)
    db = sqlite3.connect(scripted_run.store)

    def columns(table):
        return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}

    run = store.run(scripted_run.run_id)
    assert columns("runs") | {"status", "reason", "config"} <= _fields(run)
    assert run.status == "finished" and run.config["iterations"] == 2
    assert columns("iterations") <= _fields(store.iterations(scripted_run.run_id)[0])
    improver_runs = store.improver_runs(scripted_run.run_id, iteration=1)
    assert {r.iteration for r in improver_runs} == {1}
    assert columns("improver_runs") | (columns("improver_run_results") - {"improver_run_id"}) <= _fields(
        improver_runs[0]
    )
    one = improver_runs[0].id
    assert all(e.improver_run_id == one for e in store.evaluations(scripted_run.run_id, one))
    calls = store.model_calls(scripted_run.run_id, one)
    assert calls and columns("model_calls") <= _fields(calls[0])
    event = store.events(scripted_run.run_id)[0]
    assert isinstance(event.detail, dict) and event.detail["module"] == "subprocess"
    assert store.run("no-such-run") is None


def test_report_command_writes_a_page_and_refuses_bad_input(scripted_run, tmp_path):
    out = tmp_path / "page.html"
    result = run_cli("report", scripted_run.run_id, "-o", str(out), "--store", str(scripted_run.store))
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 10_000 and str(out) in result.stdout
    first, last = scripted_run.iterations[0], scripted_run.iterations[-1]
    expected = (
        f"validation meta-utility {first['meta_utility_val']:.3f} at the seed, "
        f"{last['meta_utility_val']:.3f} at the end"
    )
    assert expected in result.stdout.replace("\n", " ")
    for args in (["no-such-run"], [scripted_run.run_id, "-o", str(tmp_path / "missing" / "x.html")]):
        bad = run_cli("report", *args, "--store", str(scripted_run.store))
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    missing = run_cli("report", scripted_run.run_id, "--store", str(tmp_path / "none.db"))
    assert missing.returncode == 2 and not (tmp_path / "none.db").exists()


DOM_FACTS = """() => ({
    cells: Array.from(document.querySelectorAll('#iterations table')[0].querySelectorAll('tbody tr'))
        .map(tr => Array.from(tr.cells).slice(0, 4).map(td => td.textContent)),
    svgs: document.querySelectorAll('#iterations svg').length,
    svgLines: document.querySelectorAll('#iterations svg path').length,
    added: document.querySelectorAll('#lineage pre.diff span.add').length,
    bold: Array.from(document.querySelectorAll('b')).filter(b => b.textContent === 'bold').length,
    hostileText: document.body.textContent.includes("</script><b>bold</b>"),
})"""


@pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or "")
def test_the_page_opens_in_headless_chromium_without_errors_or_requests(scripted_run, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_report(_data(scripted_run)), encoding="utf-8")
    screenshot = tmp_path / "report.png"
    seen = visit(page, DOM_FACTS, screenshot)
    assert seen.console_errors == []
    assert seen.requests == [page.resolve().as_uri()]
    rows = seen.facts["cells"]
    assert [row[0] for row in rows] == ["0", "1", "2"]
    assert [row[1] for row in rows] == ["seed", "improved", "improved"]
    for row, recorded in zip(rows, scripted_run.iterations, strict=True):
        assert row[2].startswith(f"{recorded['meta_utility_val']:.3f}")
        assert row[3].startswith(f"{recorded['meta_utility_test']:.3f}")
    assert seen.facts["svgs"] == 1 and seen.facts["svgLines"] > 5
    assert seen.facts["added"] > 0
    assert seen.facts["bold"] == 0 and seen.facts["hostileText"]
    assert screenshot.stat().st_size > 5_000


def test_show_names_why_each_candidate_failed(scripted_run):
    result = run_cli("show", scripted_run.run_id, "--store", str(scripted_run.store))
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for reason in ("missing module pandas", "timeout", "syntax error", "no code block in the answer"):
        assert reason in text, reason
    assert "candidates written by the model" in text and "better than the seed" in text
    shown = run_cli("show", scripted_run.run_id, "--store", str(scripted_run.store), "--json")
    data = json.loads(shown.stdout)
    assert any("missing module pandas" in line for line in data["explained"])


UNPACK_ALL = """async () => {
    const pause = () => new Promise(r => setTimeout(r, 25));
    const wait = async (test) => { for (let i = 0; i < 200 && !test(); i++) await pause(); };
    let opened = 0;
    for (const button of Array.from(document.querySelectorAll('button.rest'))) {
        const id = button.dataset.for;
        button.click();
        opened++;
        await wait(() => !document.getElementById(id).querySelector('button.rest'));
    }
    for (const link of Array.from(document.querySelectorAll('a[href^="#t"]'))) {
        const id = link.getAttribute('href').slice(1);
        if (document.getElementById(id)) continue;
        link.click();
        opened++;
        await wait(() => document.getElementById(id));
    }
    const texts = {};
    for (const block of document.querySelectorAll('details[id^="t"]')) {
        texts[block.id] = block.querySelector('pre').textContent;
    }
    return {
        texts,
        opened,
        buttonsShown: document.querySelectorAll('button.rest:not([hidden])').length,
        bold: Array.from(document.querySelectorAll('b')).filter(b => b.textContent === 'bold').length,
    };
}"""


def _render_packed(data, marker: str) -> str:
    """The page with the largest text budget under which its texts are packed the way `marker` shows."""
    total = sum(len(t) for t in data.texts.values())
    for budget in range(total, 0, -max(1, total // 100)):
        html = render_report(data, text_budget=budget)
        if marker in html:
            return html
    pytest.fail(f"no budget packs the texts with {marker}")


@pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or "")
@pytest.mark.parametrize("marker", ['class="rest"', 'id="packed-note"'], ids=["rests", "whole"])
def test_packed_texts_open_whole_in_the_browser(scripted_run, tmp_path, marker):
    from selftaught.report.texts import anchor

    data = _data(scripted_run)
    page = tmp_path / "report.html"
    page.write_text(_render_packed(data, marker), encoding="utf-8")
    seen = visit(page, UNPACK_ALL)
    assert seen.console_errors == [] and seen.requests == [page.resolve().as_uri()]
    texts = seen.facts["texts"]
    by_anchor = {anchor(digest): text for digest, text in data.texts.items()}
    assert len(texts) > 10 and seen.facts["opened"] > 0
    assert all(text == by_anchor[name] for name, text in texts.items())  # shown + rest, or whole
    assert seen.facts["buttonsShown"] == 0 and seen.facts["bold"] == 0
    assert any("</script><b>bold</b>" in text for text in texts.values())
