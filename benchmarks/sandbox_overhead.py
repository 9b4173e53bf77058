"""Print the sandbox's cost per candidate and per call, next to a fresh interpreter per call.

A trivial candidate (`algorithm(x) = x + 1`) is forked, loaded, called once and killed,
first one at a time (latency), then on all cores at once (throughput, one thread and one
worker per core), and the orchestrator's resident memory and open descriptors are read
before and after the whole batch, to show they stay flat. The baseline starts a fresh
`python` that imports numpy for every evaluation, the same way.

Usage: python benchmarks/sandbox_overhead.py [--mode strict] [--candidates 2000] [--calls 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

from selftaught.sandbox.limits import Limits
from selftaught.sandbox.pool import WorkerPool

TRIVIAL = "def algorithm(x):\n    return x + 1\n"
FRESH = ["-c", "import numpy\n" + TRIVIAL + "print(algorithm(1))"]


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[int(len(values) * 0.9)]
    return f"median {statistics.median(values) * 1000:7.2f} ms   p90 {p90 * 1000:7.2f} ms"


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _candidate(pool: WorkerPool) -> float:
    started = time.perf_counter()
    with pool.spawn(Limits(wall_s=10)) as child:
        loaded = child.run({"op": "load", "source": TRIVIAL})
        called = child.run({"op": "call", "args": [1]})
    if not (loaded.ok and called.ok and called.value == 2):
        raise RuntimeError(f"the trivial candidate failed: {loaded} {called}")
    return time.perf_counter() - started


def _fresh() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, *FRESH], check=True, capture_output=True)
    return time.perf_counter() - started


def _on_all_cores(work, total: int, threads: int) -> tuple[list[float], float]:
    """Run `work()` `total` times over `threads` threads; per-run seconds and the wall time."""
    times: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def loop() -> None:
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            elapsed = work()
            with lock:
                times.append(elapsed)

    started = time.perf_counter()
    pool = [threading.Thread(target=loop) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return times, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", default="strict", choices=["default", "strict"])
    parser.add_argument("--latency", type=int, default=300, help="candidates timed one at a time")
    parser.add_argument("--candidates", type=int, default=2000, help="candidates run on all cores")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--fresh", type=int, default=20)
    args = parser.parse_args()
    cores = os.cpu_count() or 1

    with WorkerPool(cores, mode=args.mode) as pool:
        for _ in range(4 * cores):
            _candidate(pool)  # start every worker outside the measurement
        latency = [_candidate(pool) for _ in range(args.latency)]
        with pool.spawn(Limits(wall_s=60)) as child:
            child.run({"op": "load", "source": TRIVIAL})
            per_call = []
            for i in range(args.calls):
                started = time.perf_counter()
                child.run({"op": "call", "args": [i]})
                per_call.append(time.perf_counter() - started)
        rss_before, fds_before = _rss_kib(), _open_fds()
        parallel, wall = _on_all_cores(lambda: _candidate(pool), args.candidates, cores)
        rss_after, fds_after = _rss_kib(), _open_fds()

    fresh_latency = [_fresh() for _ in range(args.fresh)]
    fresh_parallel, fresh_wall = _on_all_cores(_fresh, args.fresh, cores)

    print(f"sandbox mode {args.mode}, {cores} cores; load average {os.getloadavg()[0]:.2f}")
    print(f"{'measure':48} figure")
    rows = [
        ("candidate, one at a time: fork+load+call+kill", f"{_ms(latency)}   (n={len(latency)})"),
        ("one call into a loaded candidate", f"{_ms(per_call)}   (n={len(per_call)})"),
        (f"candidate on all cores ({cores} threads)", f"{_ms(parallel)}   (n={len(parallel)})"),
        ("candidate evaluations per second, all cores", f"{len(parallel) / wall:7.0f}   (n={len(parallel)})"),
        ("fresh python + numpy, one at a time", f"{_ms(fresh_latency)}   (n={len(fresh_latency)})"),
        (
            f"fresh python + numpy on all cores ({cores})",
            f"{_ms(fresh_parallel)}   (n={len(fresh_parallel)})",
        ),
        (
            "fresh evaluations per second, all cores",
            f"{len(fresh_parallel) / fresh_wall:7.1f}   (n={args.fresh})",
        ),
        (
            f"orchestrator RSS over {len(parallel)} candidates",
            f"{rss_before / 1024:.1f} MiB -> {rss_after / 1024:.1f} MiB",
        ),
        (f"orchestrator open fds over {len(parallel)} candidates", f"{fds_before} -> {fds_after}"),
    ]
    for name, figure in rows:
        print(f"{name:48} {figure}")


if __name__ == "__main__":
    main()
