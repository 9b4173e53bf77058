"""One STOP iteration's wall time on each executor, against the bound the model's latency imposes.

Serves the example scripted model from the fake OpenAI-compatible server on 127.0.0.1,
answering every request after a fixed delay, and runs the seed evaluation plus one
self-improvement iteration through `selftaught.start_run` on an already started
executor (`local`: the worker pool; `ray`: a local Ray instance with one actor per
node), at --max-concurrency 1 and 16. For each it prints the run's wall time, the
time the iterations themselves took (from the store), and the bound: with one request
at a time, requests x delay; with 16, the longest chain of requests that depend on each
other x delay (see benchmarks/model_concurrency.py for the chain). Last, the reference
implementation's figure from the same latencies: its harness ran the meta-utility's
repeats one after another (use_parallel = False), so every request waited for the one
before: the sum of the recorded latencies.

Executor start-up (workers, Ray, actors) is printed apart: it is paid once per process,
not per iteration. `benchmarks/model_concurrency.py` times the whole CLI process instead.

Usage: python benchmarks/orchestration.py [--delay 0.5] [--executors local,ray] [--runs 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import selftaught
from selftaught.testing.fake_openai import FakeOpenAIServer

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Measured:
    requests: int
    run_s: float
    iterations_s: float
    latency_sum_s: float


def _respond():
    spec = importlib.util.spec_from_file_location("example_model", ROOT / "examples" / "scripted_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.respond


def _start(name: str):
    if name == "local":
        from selftaught.executors.local import LocalExecutor
        from selftaught.sandbox.pool import WorkerPool

        return LocalExecutor(WorkerPool(mode="default", on_warning=lambda m: None), own_pool=True)
    import ray

    from selftaught.executors.ray import RayExecutor

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, configure_logging=False)
    executor = RayExecutor.connect("default", on_warning=lambda m: None)
    executor._owns_ray = True  # this benchmark started Ray: close() shuts it down
    return executor


def _one(executor, name: str, base_url: str, concurrency: int, args, store: Path) -> Measured:
    config = selftaught.RunConfig(
        model="openai:bench",
        base_url=base_url,
        iterations=1,
        n_tests=args.n_tests,
        samples=args.samples,
        calls=args.calls,
        max_concurrency=concurrency,
        parallel_improvers=16,
        executor=name,
    )
    started = time.monotonic()
    result = selftaught.start_run(config, store=store, pool=executor)
    run_s = time.monotonic() - started
    assert result.status == "finished", result.reason
    with sqlite3.connect(store) as db:
        requests, latency = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(latency_s), 0) FROM model_calls WHERE cached_samples < n"
        ).fetchone()
        first, last = db.execute("SELECT MIN(started), MAX(ended) FROM iterations").fetchone()
    return Measured(requests, run_s, last - first, latency)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--delay", type=float, default=0.5, help="seconds before the server answers")
    parser.add_argument("--calls", type=int, default=2)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--n-tests", type=int, default=4)
    parser.add_argument("--executors", default="local,ray")
    parser.add_argument(
        "--runs", type=int, default=1, help="runs per executor and concurrency (median shown)"
    )
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")

    chain = 1 + 1 + 2 * args.calls + args.calls
    print(
        f"delay {args.delay:.2f} s, samples {args.samples}, calls {args.calls}, "
        f"n-tests {args.n_tests}, runs {args.runs}"
    )
    print(
        f"{'executor':>8} {'conc':>4} {'requests':>8} {'run s':>7} {'iters s':>8} {'bound s':>8} {'ratio':>6}"
    )
    sequential: list[float] = []
    with FakeOpenAIServer(_respond(), delay_s=args.delay) as server, tempfile.TemporaryDirectory() as tmp:
        for name in args.executors.split(","):
            started = time.monotonic()
            executor = _start(name)
            print(f"{name:>8} start-up {time.monotonic() - started:.2f} s (once per process)")
            try:
                for concurrency in (1, 16):
                    runs = [
                        _one(
                            executor,
                            name,
                            server.base_url,
                            concurrency,
                            args,
                            Path(tmp) / f"{name}{concurrency}-{i}.db",
                        )
                        for i in range(args.runs)
                    ]
                    requests = runs[0].requests
                    if concurrency == 1:
                        bound = requests * args.delay
                    else:
                        bound = max(chain, requests / concurrency) * args.delay
                        sequential += [r.latency_sum_s for r in runs]
                    run_s = statistics.median(r.run_s for r in runs)
                    iters_s = statistics.median(r.iterations_s for r in runs)
                    print(
                        f"{name:>8} {concurrency:>4} {requests:>8} {run_s:>7.2f} {iters_s:>8.2f}"
                        f" {bound:>8.2f} {iters_s / bound:>5.2f}x"
                    )
            finally:
                executor.close()
    if sequential:
        print(
            f"reference harness (repeats one after another): {statistics.median(sequential):.2f} s"
            " = the sum of the same requests' latencies"
        )


if __name__ == "__main__":
    main()
