"""Scoring on one local Ray node against scoring on the local pool, as a run's waves score.

The issue that asked for speed at the paper's budgets wants scoring on one Ray node within
10% of local. A whole run mixes that with Ray's start and shutdown and with improver runs
relayed through the node, so this measures the scorings alone, through each executor's
`score` (the path a run's scorer takes):

- a burst of --burst distinct candidates on parity_noise's validation split, --slots at a
  time, after a pause of 1 s (a run's waves come after a model answer, so each finds its
  spares forked), median of --bursts bursts;
- the same one at a time (median of --single scorings), with the time the scoring itself
  took where it ran (`SolutionScore.elapsed_s`, measured inside the node on Ray): the
  difference is what the call to the node costs.

Both kinds of candidates of `paper_iteration.py`: `cheap` (well under 1 ms of its own) and
`brute` (about 28 ms of its own per scoring on the project's 2-core machine). Each executor
runs in a process of its own, one after the other, so neither's daemons run during the
other's figures. Needs selftaught[ray].

Usage: python benchmarks/ray_scoring.py [--burst 30] [--slots 2] [--bursts 5] [--single 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

KINDS = ("cheap", "brute")


def measure(name: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """This executor's figures for each kind of candidate (run in a process of its own)."""
    from orchestration import _start as start_executor  # the same executors that benchmark starts
    from paper_iteration import KINDS as SOURCES

    from selftaught.tasks import get_task

    task = get_task("parity_noise")
    executor = start_executor(name)
    counter = iter(range(10**9))

    def score(code: str):
        return executor.score(task, f"{code}\n# candidate {next(counter)}\n", "val", "strict")

    figures: dict[str, dict[str, float]] = {}
    try:
        for kind in KINDS:
            code = SOURCES[kind]
            for _ in range(args.slots * 2):  # first-use costs (the task sent to the node, credits)
                score(code)
            bursts = []
            with ThreadPoolExecutor(args.slots) as threads:
                for _ in range(args.bursts):
                    time.sleep(1.0)
                    started = time.perf_counter()
                    list(threads.map(score, [code] * args.burst))
                    bursts.append(time.perf_counter() - started)
            single, inside = [], []
            for _ in range(args.single):
                started = time.perf_counter()
                result = score(code)
                single.append(time.perf_counter() - started)
                inside.append(result.elapsed_s)
            figures[kind] = {
                "burst_ms": statistics.median(bursts) * 1000,
                "single_ms": statistics.median(single) * 1000,
                "inside_ms": statistics.median(inside) * 1000,
            }
    finally:
        executor.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--burst", type=int, default=30, help="candidates per burst (a wave at the paper's budgets)"
    )
    parser.add_argument(
        "--slots", type=int, default=os.cpu_count() or 1, help="scorings at once (a run: one a core)"
    )
    parser.add_argument("--bursts", type=int, default=5, help="bursts per row (median shown)")
    parser.add_argument(
        "--single", type=int, default=20, help="one-at-a-time scorings per row (median shown)"
    )
    parser.add_argument("--only", choices=("local", "ray"), help=argparse.SUPPRESS)  # the per-executor child
    args = parser.parse_args()
    if args.only:
        print(json.dumps(measure(args.only, args)))
        return

    passed = [
        f"--burst={args.burst}",
        f"--slots={args.slots}",
        f"--bursts={args.bursts}",
        f"--single={args.single}",
    ]
    results = {}
    for name in ("local", "ray"):
        done = subprocess.run(
            [sys.executable, __file__, "--only", name, *passed], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            sys.exit(f"ray_scoring: the {name} executor's measurement failed: {tail}")
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])

    print(
        f"parity_noise validation scorings, bursts of {args.burst} at {args.slots} at once after a 1 s pause "
        f"(median of {args.bursts}), one at a time (median of {args.single}); load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'candidates':>10} {'executor':>8} {'burst ms':>9} {'vs local':>8}"
        f" {'single ms':>9} {'inside ms':>9} {'call ms':>8}"
    )
    for kind in KINDS:
        local_burst = results["local"][kind]["burst_ms"]
        for name in ("local", "ray"):
            row = results[name][kind]
            call = row["single_ms"] - row["inside_ms"]
            print(
                f"{kind:>10} {name:>8} {row['burst_ms']:>9.1f} {row['burst_ms'] / local_burst:>7.2f}x"
                f" {row['single_ms']:>9.2f} {row['inside_ms']:>9.2f} {call:>8.2f}"
            )
    print("inside: the scoring where it ran; call: one at a time, what reaching it cost on top.")


if __name__ == "__main__":
    main()
