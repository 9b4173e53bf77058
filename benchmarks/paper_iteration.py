"""One STOP iteration at the paper's budgets against a server with a fixed latency, next to its bounds.

Runs `selftaught run -T 1` (the seed evaluation, one self-improvement step, the evaluation
of the new improver) at the paper's budgets (6 samples x 4 calls, n_tests 5, parity_noise)
against the fake OpenAI-compatible server on 127.0.0.1, which answers every request after
--latency seconds. The model behind it is scripted here:

- asked to improve an improver, every sample is the seed improver (with a comment naming
  the sample), so each candidate improver makes one model call and the improver in use
  asks for the meta-utility of all 6 of them, one after another;
- asked to improve a solution, every sample is a distinct program (numbered by a
  counter), either `cheap` (predicts zeros, well under 1 ms a scoring) or `brute` (a
  brute-force parity learner over every parity vector of weight <= 3, about 28 ms of its
  own compute per validation scoring on this project's 2-core machine).

So an iteration makes 41 requests (5 + 1 + 6 x 5 + 5), of which a chain of 9 depend on
each other (seed evaluation, the improvement request, 6 meta-utility evaluations, the
new improver's evaluation): the chain bound is 9 x latency, as the issue that asked for this
benchmark counts it. A run now evaluates the seed improver while the first step runs (the step
does not depend on it), so its own chain is 8 requests; the `own` column is the wall time over
8 x latency. The CPU-aware bound adds the
candidates' own compute (each scoring the run recorded, timed in this process without a
sandbox, summed) divided by the cores. Every row prints the whole process's wall time
(interpreter start to exit), the requests made, the most in flight at once, both bounds
and both ratios, as medians of --runs runs, with the load average before and after.

Usage: python benchmarks/paper_iteration.py [--latency 1.0] [--runs 3] [--candidates cheap,brute]
       [--concurrency 16,1] [--ray] [--extra-args=--speculate]
"""

from __future__ import annotations

import argparse
import itertools
import os
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from selftaught.stop.seed import seed_improver_source
from selftaught.testing.fake_openai import FakeOpenAIServer

CHAIN = 9  # seed evaluation, improvement request, 6 meta-utility evaluations, new improver's evaluation
OWN_CHAIN = 8  # the same without the seed evaluation, which runs alongside the improvement request
N_TESTS, SAMPLES, CALLS = 5, 6, 4
TASK = "parity_noise"

CHEAP = '''import numpy as np


def algorithm(train_samples, train_parity, test_samples):
    """Predict 0 everywhere (variant {variant})."""
    return np.zeros(len(test_samples), dtype=int)
'''

BRUTE = '''import itertools

import numpy as np


def algorithm(train_samples, train_parity, test_samples):
    """Brute force (variant {variant}): the parity vector of weight <= 3 that fits the labels best."""
    X = np.asarray(train_samples)
    y = np.asarray(train_parity).reshape(-1)
    n_bits = X.shape[1]
    candidates = [np.zeros(n_bits, dtype=int)]
    for weight in range(1, 4):
        for ones in itertools.combinations(range(n_bits), weight):
            vector = np.zeros(n_bits, dtype=int)
            vector[list(ones)] = 1
            candidates.append(vector)
    C = np.array(candidates)
    errors = ((X @ C.T) % 2 != y[:, None]).sum(axis=0)
    best = C[int(np.argmin(errors))]
    return (np.asarray(test_samples) @ best) % 2
'''

KINDS = {"cheap": CHEAP, "brute": BRUTE}


class Model:
    """The scripted model: seed-improver copies for improvers, numbered programs for solutions."""

    def __init__(self, kind: str) -> None:
        self.template = KINDS[kind]
        self.seed_improver = seed_improver_source()
        self.counter = itertools.count()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0

    def on_request(self, _request: object) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    def respond(self, system: str, user: str, temperature: float, sample: int) -> str:
        if sample == 0:  # called once per request, after its delay
            with self.lock:
                self.in_flight -= 1
        if "def improve_algorithm" in user:
            code = f"# candidate improver, sample {sample}\n{self.seed_improver}"
            return f"Keep the approach.\n\n```python\n{code}```\n"
        code = self.template.format(variant=next(self.counter))
        return f"A program.\n\n```python\n{code}```\n"


@dataclass
class Row:
    wall_s: float
    iterations_s: float
    requests: int
    peak: int
    cpu_s: float  # the candidates' own compute over every recorded scoring


def candidate_cpu_s(kind: str, split: str, repeats: int = 5) -> float:
    """Median seconds of one candidate's own compute over `split`'s instances, in this process."""
    import numpy as np

    from selftaught.tasks import get_task

    task = get_task(TASK)
    namespace: dict = {}
    exec(compile(task.program(KINDS[kind].format(variant=0)), "<candidate>", "exec"), namespace)
    algorithm = namespace["algorithm"]
    instances = task.instances(split)
    times = []
    for _ in range(repeats):
        np.random.seed(0)
        started = time.process_time()
        for instance in instances:
            algorithm(*instance.args)
        times.append(time.process_time() - started)
    return statistics.median(times)


def one_run(
    args, kind: str, concurrency: int, executor: str, store: Path, per_split: dict[str, float]
) -> Row:
    model = Model(kind)
    with FakeOpenAIServer(model.respond, delay_s=args.latency, on_request=model.on_request) as server:
        command = [
            sys.executable, "-m", "selftaught", "run",
            "--model", "openai:bench", "--base-url", server.base_url,
            "--tasks", TASK, "-T", "1",
            "--n-tests", str(N_TESTS), "--samples", str(SAMPLES), "--calls", str(CALLS),
            "--max-concurrency", str(concurrency), "--parallel", "16",
            "--executor", executor, "--store", str(store), "--json",
            *shlex.split(args.extra_args),
        ]  # fmt: skip
        started = time.monotonic()
        subprocess.run(
            command,
            env={**os.environ, "OPENAI_API_KEY": "sk-bench"},
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.monotonic() - started
        requests = len(server.answered())
    with sqlite3.connect(store) as db:
        first, last = db.execute("SELECT MIN(started), MAX(ended) FROM iterations").fetchone()
        splits = db.execute("SELECT split, COUNT(*) FROM evaluations WHERE error_kind IS NULL GROUP BY split")
        cpu = sum(per_split.get(split, 0.0) * count for split, count in splits)
    return Row(wall, last - first, requests, model.peak, cpu)


def compile_package() -> None:
    """Compile selftaught's bytecode before timing, as installing the package does.

    Without it, a machine that sets PYTHONDONTWRITEBYTECODE (this project's does) compiles
    every selftaught module from source in each run's start-up and in each sandbox worker's,
    which is not what a user of an installed package pays.
    """
    import compileall

    import selftaught

    compileall.compile_dir(str(Path(selftaught.__file__).parent), quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=1.0, help="seconds before the server answers")
    parser.add_argument("--runs", type=int, default=3, help="runs per row (medians shown)")
    parser.add_argument("--candidates", default="cheap,brute", help="kinds of candidates: cheap, brute")
    parser.add_argument("--concurrency", default="16,1", help="--max-concurrency values")
    parser.add_argument("--ray", action="store_true", help="also run --executor ray (selftaught[ray])")
    parser.add_argument(
        "--extra-args",
        default="",
        help="more `selftaught run` arguments, given with =, as in --extra-args=--speculate",
    )
    parser.add_argument(
        "--source-only",
        action="store_true",
        help="skip compiling bytecode first (where none is cached, runs compile what they import)",
    )
    args = parser.parse_args()
    if not args.source_only:
        compile_package()

    cores = os.cpu_count() or 1
    executors = ["local"] + (["ray"] if args.ray else [])
    chain_bound = CHAIN * args.latency
    print(
        f"paper budgets ({SAMPLES} samples x {CALLS} calls, n_tests {N_TESTS}, {TASK}), "
        f"latency {args.latency} s, "
        f"{cores} cores, medians of {args.runs} runs; chain bound {CHAIN} x latency = {chain_bound:.1f} s; "
        + ("bytecode not compiled first" if args.source_only else "bytecode compiled first")
    )
    header = (
        f"{'candidates':>10} {'executor':>8} {'conc':>4} {'wall s':>7} {'iters s':>7} {'reqs':>4} {'peak':>4}"
        f" {'chain s':>7} {'ratio':>6} {'own':>6} {'cpu s':>6} {'cpu-aw s':>8} {'ratio':>6}  load avg"
    )
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.candidates.split(","):
            per_split = {split: candidate_cpu_s(kind, split) for split in ("val", "test")}
            for executor in executors:
                for concurrency in (int(c) for c in args.concurrency.split(",")):
                    load_before = os.getloadavg()[0]
                    stores = [Path(tmp) / f"{kind}-{executor}-{concurrency}-{i}.db" for i in range(args.runs)]
                    rows = [one_run(args, kind, concurrency, executor, store, per_split) for store in stores]
                    load_after = os.getloadavg()[0]
                    wall = statistics.median(r.wall_s for r in rows)
                    iters = statistics.median(r.iterations_s for r in rows)
                    requests = statistics.median(r.requests for r in rows)
                    peak = max(r.peak for r in rows)
                    cpu = statistics.median(r.cpu_s for r in rows)
                    bound = chain_bound if concurrency > 1 else requests * args.latency
                    own = OWN_CHAIN * args.latency if concurrency > 1 else bound
                    cpu_bound = bound + cpu / cores
                    print(
                        f"{kind:>10} {executor:>8} {concurrency:>4} {wall:>7.2f} {iters:>7.2f}"
                        f" {requests:>4.0f} {peak:>4} {bound:>7.1f} {wall / bound:>5.2f}x"
                        f" {wall / own:>5.2f}x {cpu:>6.2f}"
                        f" {cpu_bound:>8.2f} {wall / cpu_bound:>5.2f}x  {load_before:.2f}->{load_after:.2f}",
                        flush=True,
                    )
    print("At concurrency 1 the bound is requests x latency (no two requests at once).")


if __name__ == "__main__":
    main()
