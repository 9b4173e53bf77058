"""Scoring on one local Ray node against scoring on the local pool, as a run's waves score.

The issue that asked for speed at the paper's budgets wants scoring on one Ray node within
10% of local. A whole run mixes that with Ray's start and shutdown and with improver runs
relayed through the node, so this measures the scorings alone, through the run's scorer
(runs/scorer.py) on each executor:

- a wave: --answers model answers of --blocks code blocks each arrive at once, after a
  pause of 1 s (a run's waves come after a model answer, so each finds its spares forked);
  each answer's blocks are prefetched as a run prefetches them (on Ray, in batches: one call
  to the node scores several), and one asker per answer then asks for its blocks in order,
  as an improver does; the wave ends when every asker has its scores. Median of --waves;
- one scoring at a time through the executor's `score` (median of --single), with the time
  the scoring itself took where it ran (`SolutionScore.elapsed_s`, measured inside the node
  on Ray): the difference is what one call to the node costs.

Both kinds of candidates of `paper_iteration.py`: `cheap` (well under 1 ms of its own) and
`brute` (about 28 ms of its own per scoring on the project's 2-core machine). Each executor
runs in a process of its own, one after the other, so neither's daemons run during the
other's figures. Needs selftaught[ray].

Usage: python benchmarks/ray_scoring.py [--answers 5] [--blocks 6] [--waves 5] [--single 20]
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

    from selftaught.runs.scorer import Scorer
    from selftaught.tasks import get_task

    task = get_task("parity_noise")
    executor = start_executor(name)
    counter = iter(range(10**9))

    def fresh(code: str) -> str:
        return f"{code}\n# candidate {next(counter)}\n"

    def wave(code: str) -> float:
        scorer = Scorer(executor)  # a run's scorer: one slot a core, batches where the executor has them
        answers = [[fresh(code) for _ in range(args.blocks)] for _ in range(args.answers)]
        started = time.perf_counter()
        for blocks in answers:
            scorer.prefetch_many(task, blocks, "val")
        with ThreadPoolExecutor(len(answers)) as askers:
            list(askers.map(lambda blocks: [scorer.score(task, b, "val") for b in blocks], answers))
        took = time.perf_counter() - started
        scorer.close()
        return took

    figures: dict[str, dict[str, float]] = {}
    try:
        for kind in KINDS:
            code = SOURCES[kind]
            wave(code)  # first-use costs (the task sent to the node, credits)
            waves = []
            for _ in range(args.waves):
                time.sleep(1.0)
                waves.append(wave(code))
            single, inside = [], []
            for _ in range(args.single):
                started = time.perf_counter()
                result = executor.score(task, fresh(code), "val", "strict")
                single.append(time.perf_counter() - started)
                inside.append(result.elapsed_s)
            figures[kind] = {
                "wave_ms": statistics.median(waves) * 1000,
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
    parser.add_argument("--answers", type=int, default=5, help="model answers in a wave (improvers asking)")
    parser.add_argument("--blocks", type=int, default=6, help="code blocks an answer carries")
    parser.add_argument("--waves", type=int, default=5, help="waves per row (median shown)")
    parser.add_argument(
        "--single", type=int, default=20, help="one-at-a-time scorings per row (median shown)"
    )
    parser.add_argument("--only", choices=("local", "ray"), help=argparse.SUPPRESS)  # the per-executor child
    args = parser.parse_args()
    if args.only:
        print(json.dumps(measure(args.only, args)))
        return

    passed = [
        f"--answers={args.answers}",
        f"--blocks={args.blocks}",
        f"--waves={args.waves}",
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
        f"parity_noise validation scorings: waves of {args.answers} answers of {args.blocks} blocks after a "
        f"1 s pause (median of {args.waves}), one at a time (median of {args.single}); "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'candidates':>10} {'executor':>8} {'wave ms':>9} {'vs local':>8}"
        f" {'single ms':>9} {'inside ms':>9} {'call ms':>8}"
    )
    for kind in KINDS:
        local_wave = results["local"][kind]["wave_ms"]
        for name in ("local", "ray"):
            row = results[name][kind]
            call = row["single_ms"] - row["inside_ms"]
            print(
                f"{kind:>10} {name:>8} {row['wave_ms']:>9.1f} {row['wave_ms'] / local_wave:>7.2f}x"
                f" {row['single_ms']:>9.2f} {row['inside_ms']:>9.2f} {call:>8.2f}"
            )
    print("inside: the scoring where it ran; call: one at a time, what reaching it cost on top.")


if __name__ == "__main__":
    main()
