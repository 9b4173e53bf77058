"""`selftaught serve` in Debian's headless Chromium: the runs list, an experiment, a comparison, the
token off loopback, and a STOP run watched live while it runs; no console error, no other host."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_MODEL, load_respond
from tests.report.browser import CHROMIUM, CHROMIUM_ARGS, browser_missing
from tests.serve.conftest import serve_extra_missing, serving

pytestmark = [
    pytest.mark.skipif(serve_extra_missing() is not None, reason=serve_extra_missing() or ""),
    pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or ""),
]


@dataclass
class Visit:
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    result: object = None


def browse(url: str, steps: Callable, javascript: bool = True) -> Visit:
    """Open `url` in headless Chromium, run `steps(page)`, and record console errors and requests."""
    from playwright.sync_api import sync_playwright

    visit = Visit()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(java_script_enabled=javascript)
            page.on("console", lambda m: m.type == "error" and visit.console_errors.append(m.text))
            page.on("pageerror", lambda exc: visit.console_errors.append(str(exc)))
            page.on("request", lambda r: visit.requests.append(r.url))
            page.goto(url, wait_until="load")
            visit.result = steps(page)
        finally:
            browser.close()
    return visit


def _only_to(base: str, visit: Visit) -> None:
    assert visit.console_errors == []
    assert visit.requests and all(r.startswith(base + "/") for r in visit.requests), visit.requests


ROW_IDS = "(css) => Array.from(document.querySelectorAll(css + ' tbody tr'), tr => tr.cells[0].textContent)"


def test_runs_list_then_a_comparison(store_with_runs):
    with serving(store_with_runs.path) as base:

        def steps(page):
            runs = page.evaluate(ROW_IDS, "#runs")
            experiments = page.evaluate(ROW_IDS, "#experiments")
            page.select_option("#compare select[name=a]", store_with_runs.run_id)
            page.select_option("#compare select[name=b]", store_with_runs.hostile_id)
            page.click("#compare button")
            page.wait_for_load_state("load")
            columns = page.evaluate(
                "() => Array.from(document.querySelectorAll('.pair > .part > h2'), h => h.textContent)"
            )
            page.wait_for_timeout(2500)  # two live polls: their answers must not break the page
            return (
                runs,
                experiments,
                columns,
                page.evaluate("() => document.querySelectorAll('.pair svg').length"),
            )

        visit = browse(base + "/", steps)
        runs, experiments, columns, plots = visit.result
        assert store_with_runs.run_id in runs and store_with_runs.hostile_id in runs
        assert experiments == [store_with_runs.experiment_id]
        assert columns == [store_with_runs.run_id, store_with_runs.hostile_id] and plots == 2
        assert not any(tag in json.dumps(visit.result) for tag in ("<script", "xss-probe"))
        _only_to(base, visit)


def test_with_javascript_off_a_run_page_is_a_snapshot(store_with_runs):
    with serving(store_with_runs.path) as base:
        url = f"{base}/runs/{store_with_runs.run_id}"

        def steps(page):
            page.wait_for_timeout(2500)  # no poll happens
            return page.evaluate(ROW_IDS, "#iterations table:first-of-type"), page.evaluate(
                "() => document.getElementById('live-status').textContent"
            )

        visit = browse(url, steps, javascript=False)
        rows, status = visit.result
        assert rows == ["0", "1", "2"] and status.startswith("a snapshot taken")
        assert visit.console_errors == [] and visit.requests == [url]


def test_an_experiment_and_two_arms_side_by_side(store_with_runs):
    with serving(store_with_runs.path) as base:

        def steps(page):
            rows = page.evaluate("() => document.querySelectorAll('#arm-rows tbody tr').length")
            arms = page.evaluate("() => document.querySelectorAll('#experiment tbody tr').length")
            page.select_option("#arm-rows select[name=a]", "chain_of_thought")
            page.select_option("#arm-rows select[name=b]", "greedy_iterative")
            page.click("#arm-rows button")
            page.wait_for_load_state("load")
            pairs = page.evaluate("() => document.querySelectorAll('#arm-pair tbody tr').length")
            return rows, arms, pairs, page.url

        visit = browse(f"{base}/runs/{store_with_runs.experiment_id}", steps)
        rows, arms, pairs, url = visit.result
        assert rows >= 4 and arms >= 4 and pairs >= 1
        assert "a=chain_of_thought" in url and "b=greedy_iterative" in url
        _only_to(base, visit)


def test_off_loopback_the_browser_needs_the_token(store_with_runs):
    with serving(store_with_runs.path, token="t0ken-for-the-test") as base:

        def steps(page):
            refused = page.evaluate("() => document.body.textContent")
            page.goto(base + "/?token=t0ken-for-the-test", wait_until="load")
            signed_in_at = page.url  # the token left the address once the cookie was set
            page.click(f"a[href='/runs/{store_with_runs.run_id}']")  # the cookie carries the token on
            page.wait_for_load_state("load")
            page.wait_for_timeout(1500)  # a live poll, with the cookie too
            return refused, signed_in_at, page.evaluate("() => document.querySelector('h1').textContent")

        visit = browse(base + "/", steps)
        refused, signed_in_at, heading = visit.result
        assert "a token is needed" in refused and heading == f"selftaught run {store_with_runs.run_id}"
        assert signed_in_at == base + "/"
        assert visit.console_errors == [
            "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
        ]


# Marks when the page first shows iteration 1's row and the iteration in progress (Date.now()).
WATCH = """() => {
    window.seen = {};
    const mark = () => {
        const rows = Array.from(document.querySelectorAll('#iterations table:first-of-type tbody tr'));
        if (!window.seen.iteration1 && rows.some(tr => tr.cells[0].textContent.trim() === '1'))
            window.seen.iteration1 = Date.now();
        if (!window.seen.progress && document.getElementById('in-progress'))
            window.seen.progress = Date.now();
    };
    mark();
    new MutationObserver(mark).observe(document.body, {subtree: true, childList: true});
}"""


GROUPS = """() => Array.from(document.querySelectorAll('.parts > .part'), p => p.id)
    .filter(id => id.startsWith('part-improver-runs'))"""


def _wait_for_run(store: Path, process: subprocess.Popen) -> str:
    """The id of the run once it is recorded (the store is opened read-only, as the server does)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        if store.exists():
            try:
                with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
                    rows = db.execute("SELECT id FROM runs").fetchall()
                if rows:
                    return rows[0][0]
            except sqlite3.OperationalError:
                pass  # the writer is still creating the schema
        time.sleep(0.1)
    pytest.fail("the run never recorded itself")


@pytest.mark.slow
def test_a_run_in_progress_shows_each_new_iteration_as_it_is_recorded(tmp_path):
    from selftaught.testing.fake_openai import FakeOpenAIServer

    store = tmp_path / "runs.db"
    env = {
        **{k: v for k, v in os.environ.items() if k != "SELFTAUGHT_FAILPOINTS"},
        "OPENAI_API_KEY": "sk-test",
    }
    with FakeOpenAIServer(load_respond(EXAMPLE_MODEL), delay_s=0.4) as fake:
        process = subprocess.Popen(
            [sys.executable, "-m", "selftaught", "run", "--model", "openai:fake", "--base-url", fake.base_url,
             "-T", "2", "--n-tests", "1", "--samples", "2", "--calls", "2", "--store", str(store), "--json"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            run_id = _wait_for_run(store, process)
            with serving(store) as base:

                def steps(page):
                    page.evaluate(WATCH)
                    groups_at_open = page.evaluate(GROUPS)
                    page.wait_for_function("() => window.seen.iteration1", timeout=300_000)
                    seen = page.evaluate("() => window.seen")
                    page.wait_for_function(
                        "() => document.getElementById('part-improver-runs-2')", timeout=300_000
                    )
                    page.wait_for_timeout(1500)
                    return seen, groups_at_open, page.evaluate(GROUPS)

                visit = browse(f"{base}/runs/{run_id}", steps)
            stdout, stderr = process.communicate(timeout=600)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, stderr
    with sqlite3.connect(store) as db:
        ended = dict(
            db.execute("SELECT iteration, ended FROM iterations WHERE run_id = ?", (run_id,)).fetchall()
        )
    seen, groups_at_open, groups = visit.result
    latency = seen["iteration1"] / 1000 - ended[1]
    print(f"iteration 1 recorded at {ended[1]:.3f}, shown {latency:.2f} s later")
    assert latency > -0.5  # shown after it was recorded (clocks of one machine)
    assert seen["iteration1"] / 1000 < ended[2]  # shown while the run went on: live, not at the end
    assert "progress" in seen  # the iteration in progress was shown, with its improver runs
    # each iteration's improver runs came as a part of their own, put in place between their neighbours
    assert "part-improver-runs-2" not in groups_at_open
    assert groups == [
        "part-improver-runs",
        "part-improver-runs-0",
        "part-improver-runs-1",
        "part-improver-runs-2",
    ]
    assert json.loads(stdout)["status"] == "finished"
    _only_to(base, visit)
