"""Wall time of one STOP iteration against a local server that answers after a fixed delay.

Runs `selftaught run -T 1` (the seed evaluation plus one self-improvement iteration)
against the fake OpenAI-compatible server on 127.0.0.1 with the scripted example model
behind it, at --max-concurrency 1 and 16, and prints each next to the lower bound the
delays impose: with one request at a time, requests x delay; with unlimited concurrency,
the longest chain of requests that depend on each other, x delay. For the seed improver
and the example model that chain is 1 (seed evaluation) + 1 (the improver asks for
rewrites of itself) + 2 x calls (each of the two working rewrites is scored by a
meta-utility whose repeats run in parallel, each making `calls` calls in sequence)
+ calls (the evaluation of the new improver).

Each row also splits the process's wall time into its start-up (interpreter, imports, the
sandbox pool and the model backend, up to the run's first iteration), the iterations
themselves (from the store) and the shutdown. With --runs N each figure is the median of N.

Usage: python benchmarks/model_concurrency.py [--delay 0.5] [--calls 2] [--runs 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selftaught.testing.fake_openai import FakeOpenAIServer

ROOT = Path(__file__).resolve().parents[1]


def _respond():
    spec = importlib.util.spec_from_file_location("example_model", ROOT / "examples" / "scripted_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.respond


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--delay", type=float, default=0.5, help="seconds before the server answers")
    parser.add_argument("--calls", type=int, default=2)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--n-tests", type=int, default=4)
    parser.add_argument("--runs", type=int, default=1, help="runs per concurrency (medians shown)")
    args = parser.parse_args()

    chain = 1 + 1 + 2 * args.calls + args.calls
    print(f"delay {args.delay:.2f} s, samples {args.samples}, calls {args.calls}, n-tests {args.n_tests}")
    print(
        f"{'concurrency':>11} {'requests':>9} {'wall s':>8} {'start s':>8} {'iters s':>8} {'end s':>6}"
        f" {'bound s':>8}  bound"
    )
    with FakeOpenAIServer(_respond(), delay_s=args.delay) as server, tempfile.TemporaryDirectory() as tmp:
        for concurrency in (1, 16):
            stores = [Path(tmp) / f"c{concurrency}-{i}.db" for i in range(args.runs)]
            rows = [_one(args, server.base_url, concurrency, store) for store in stores]
            requests = rows[0][0]
            wall, start, iters, end = (statistics.median(r[k] for r in rows) for k in range(1, 5))
            if concurrency == 1:
                bound, how = requests * args.delay, "requests x delay"
            else:
                bound, how = max(chain, requests / concurrency) * args.delay, f"chain of {chain} x delay"
            print(
                f"{concurrency:>11} {requests:>9} {wall:>8.2f} {start:>8.2f} {iters:>8.2f} {end:>6.2f}"
                f" {bound:>8.1f}  {how}"
            )


def _one(args, base_url: str, concurrency: int, store: Path) -> tuple[int, float, float, float, float]:
    """One `selftaught run` process: requests made, wall, start-up, iterations and shutdown seconds."""
    started_wall = time.time()
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "selftaught",
            "run",
            "--model",
            "openai:bench",
            "--base-url",
            base_url,
            "-T",
            "1",
            "--n-tests",
            str(args.n_tests),
            "--samples",
            str(args.samples),
            "--calls",
            str(args.calls),
            "--max-concurrency",
            str(concurrency),
            "--parallel",
            "16",
            "--store",
            str(store),
            "--json",
        ],
        env={**os.environ, "OPENAI_API_KEY": "sk-bench"},
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.monotonic() - started
    json.loads(result.stdout)
    with sqlite3.connect(store) as db:
        requests = db.execute("SELECT COUNT(*) FROM model_calls WHERE cached_samples < n").fetchone()[0]
        first, last = db.execute("SELECT MIN(started), MAX(ended) FROM iterations").fetchone()
    start = first - started_wall
    return requests, wall, start, last - first, wall - start - (last - first)


if __name__ == "__main__":
    main()
