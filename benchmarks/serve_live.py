"""Print how soon `selftaught serve` shows what a run records, and what a paper-sized run's page costs.

1. Latency: a STOP run against the fake OpenAI server (answers after --delay s) while its page
   is open in headless Chromium; for each iteration recorded after the page opened, the time
   from the row's `ended` to the page showing it (the page asks each second). Over --runs runs.
2. Cost: on the synthetic paper-sized store of benchmarks/report_size.py (221 improver runs,
   about 5,000 answers): the version query a live page asks each second, the run page built
   cold and again after the store grew, and the bytes of a full page and of a live update.

Usage: python benchmarks/serve_live.py [--runs 3] [--delay 0.4] [--skip-latency] [--skip-size]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import EXAMPLE_MODEL, load_respond  # noqa: E402
from tests.serve.conftest import serving  # noqa: E402
from tests.serve.test_browser import _wait_for_run, browse  # noqa: E402

# Date.now() at which each iteration's row first shows in the page's iteration table
WATCH_ALL = """() => {
    window.seen = {};
    const mark = () => {
        for (const tr of document.querySelectorAll('#iterations table:first-of-type tbody tr')) {
            const n = tr.cells[0].textContent.trim();
            if (!(n in window.seen)) window.seen[n] = Date.now();
        }
    };
    mark();
    new MutationObserver(mark).observe(document.body, {subtree: true, childList: true});
}"""


def one_run(folder: Path, delay: float, iterations: int) -> list[float]:
    """Latencies (s) of the iterations recorded while the page was open, in one run."""
    from selftaught.testing.fake_openai import FakeOpenAIServer

    store = folder / "runs.db"
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench"}
    with FakeOpenAIServer(load_respond(EXAMPLE_MODEL), delay_s=delay) as fake:
        process = subprocess.Popen(
            [sys.executable, "-m", "selftaught", "run", "--model", "openai:fake", "--base-url", fake.base_url,
             "-T", str(iterations), "--n-tests", "1", "--samples", "2", "--calls", "2", "--store", str(store),
             "--json"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        run_id = _wait_for_run(store, process)
        with serving(store) as base:

            def steps(page):
                page.evaluate(WATCH_ALL)
                opened = time.time()
                page.wait_for_function(
                    f"() => window.seen['{iterations}'] !== undefined", timeout=600_000, polling=100
                )
                return opened, page.evaluate("() => window.seen")

            visit = browse(f"{base}/runs/{run_id}", steps)
        process.communicate(timeout=600)
    opened, seen = visit.result
    with sqlite3.connect(store) as db:
        ended = dict(db.execute("SELECT iteration, ended FROM iterations WHERE run_id = ?", (run_id,)))
    return [seen[str(i)] / 1000 - t for i, t in ended.items() if t > opened + 0.5 and str(i) in seen]


def latency(runs: int, delay: float) -> None:
    found: list[float] = []
    for r in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            found += one_run(Path(folder), delay, iterations=3)
        print(f"  run {r + 1}: {len(found)} iterations so far", file=sys.stderr)
    if not found:
        print("latency: no iteration was recorded while the page was open")
        return
    print(
        f"latency from an iteration's row to the page showing it, {len(found)} iterations in {runs} runs "
        f"(fake server answering after {delay} s): median {statistics.median(found):.2f} s, "
        f"max {max(found):.2f} s"
    )


def size() -> None:
    import importlib.util

    from selftaught.serve.pages import Pages
    from selftaught.serve.readonly import ReadOnlyStore
    from selftaught.store.store import Store

    spec = importlib.util.spec_from_file_location("report_size", ROOT / "benchmarks" / "report_size.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = Path(tempfile.mkdtemp(prefix="serve-size-"))
    run_id = module.build_store(folder / "synthetic.db", answer_chars=2500)
    store = ReadOnlyStore.open(folder / "synthetic.db")
    pages = Pages(store)
    versions = []
    for _ in range(20):
        started = time.monotonic()
        pages.version("run", run_id)
        versions.append(time.monotonic() - started)
    started = time.monotonic()
    pages.run(run_id)
    cold = time.monotonic() - started
    with serving(folder / "synthetic.db") as base:
        page = urllib.request.urlopen(f"{base}/runs/{run_id}", timeout=120).read()
        version = page.decode().split('data-version="')[1].split('"')[0]
        writer = Store.open(folder / "synthetic.db")
        first = writer.improver_runs(run_id)[-1]
        rebuilt, updates = [], []
        for n in range(3):  # the store grows by one evaluation: the page asks, gets what changed
            writer.add_evaluation(
                run_id=run_id, iteration=first.iteration, improver_run_id=first.id,
                code_hash=first.improver_hash, task=f"bench{n}", split="val", score=0.5, instances=1,
                elapsed_s=0.1,
            )  # fmt: skip
            started = time.monotonic()
            reply = urllib.request.urlopen(f"{base}/runs/{run_id}?live={version}", timeout=120).read()
            rebuilt.append(time.monotonic() - started)
            update = json.loads(reply)
            version = update["version"]
            updates.append((len(reply), sorted(update["parts"])))
        writer.close()
    print(
        f"paper-sized run ({len(store.improver_runs(run_id))} improver runs): version query median "
        f"{statistics.median(versions) * 1000:.1f} ms over 20; run page built cold in {cold:.2f} s; after "
        f"the store grew, a live update in median {statistics.median(rebuilt):.2f} s over 3"
    )
    print(
        f"page {len(page) / 1e6:.2f} MB; live updates {[n for n, _ in updates]} bytes, parts {updates[0][1]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.4)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-size", action="store_true")
    args = parser.parse_args()
    if not args.skip_latency:
        latency(args.runs, args.delay)
    if not args.skip_size:
        size()


if __name__ == "__main__":
    main()
