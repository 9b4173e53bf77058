"""Wall time of one experiment against a local server that answers after a fixed delay.

Runs `selftaught experiment transfer` of the scripted example model's improved improver
(from a short STOP run made first, not timed) on two tasks against the fake
OpenAI-compatible server on 127.0.0.1, and prints its wall time next to the bound the
delays impose: every improver run of both arms is independent, so with enough concurrency
the bound is the longest chain of dependent requests, `calls` (each improver makes its
calls one after another) times the delay, or requests / concurrency x delay if larger.
A second run of the same command is timed too: it must make no request at all.

Usage: python benchmarks/experiment_latency.py [--delay 0.5] [--calls 2] [--n-tests 4]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selftaught.testing.fake_openai import FakeOpenAIServer

ROOT = Path(__file__).resolve().parents[1]


def _respond():
    spec = importlib.util.spec_from_file_location("example_model", ROOT / "examples" / "scripted_model.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.respond


def _cli(*args: str) -> dict:
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench"}
    command = [sys.executable, "-m", "selftaught", *args, "--json"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _requests(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return db.execute("SELECT COUNT(*) FROM model_calls WHERE cached_samples < n").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--delay", type=float, default=0.5, help="seconds before the server answers")
    parser.add_argument("--calls", type=int, default=2)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--n-tests", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    budget = ("--samples", str(args.samples), "--calls", str(args.calls), "--n-tests", str(args.n_tests))
    with FakeOpenAIServer(_respond(), delay_s=args.delay) as server, tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "bench.db"
        model = ("--model", "openai:bench", "--base-url", server.base_url, "--store", str(store))
        run = _cli("run", *model, "-T", "1", *budget)
        before = _requests(store)
        transfer = (
            "experiment", "transfer", "--improver", run["run_id"], *model, *budget,
            "--tasks", "parity_noiseless", "--tasks", "str_grid_dist",
            "--max-concurrency", str(args.concurrency), "--parallel", "16",
        )  # fmt: skip
        started = time.monotonic()
        _cli(*transfer)
        wall = time.monotonic() - started
        requests = _requests(store) - before
        started = time.monotonic()
        _cli(*transfer)
        again, again_requests = time.monotonic() - started, _requests(store) - before - requests
    bound = max(args.calls, requests / args.concurrency) * args.delay
    print(f"delay {args.delay:.2f} s, samples {args.samples}, calls {args.calls}, n-tests {args.n_tests}")
    print(f"{'':>16} {'requests':>9} {'wall s':>8} {'bound s':>8}")
    print(f"{'transfer':>16} {requests:>9} {wall:>8.1f} {bound:>8.1f}")
    print(f"{'the same again':>16} {again_requests:>9} {again:>8.1f} {0.0:>8.1f}")


if __name__ == "__main__":
    main()
