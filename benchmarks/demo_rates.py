"""How often does the embedded model write a candidate better than the seed solution, per task?

`--run` first makes the runs: for each task and seed, the seed improver's iteration 0 of the
demo profile (`selftaught run --model local --tasks T --iterations 0 --n-tests 1 --samples 2
--calls 1 --max-tokens 1000 --seed S`), each in its own store under DIR (so no answer is
served from another run's cache). Iteration 0 is where the demo's candidate solutions come
from; iteration 1 (the improver improving itself) is left out to save model time.

Then, from the stores: every candidate the model wrote is a validation evaluation recorded
under an improver run; it is "better" when its validation score is above the seed solution's
(scored here, on the same split). Prints per task: runs, candidates, better, and the rate with
a Wilson 95% interval.

Usage: python benchmarks/demo_rates.py DIR [--run] [--tasks T ...] [--seeds 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from selftaught.analysis.stats import wilson
from selftaught.sandbox.pool import WorkerPool
from selftaught.store.store import Store, source_hash
from selftaught.tasks import get_task
from selftaught.tasks.scoring import score_solution

TASKS = ("parity_noise", "parity_noiseless", "str_grid_dist", "mqap", "three_sat", "maxcut")
PROFILE = ("--model", "local", "--iterations", "0", "--n-tests", "1", "--samples", "2", "--calls", "1")


def make_runs(folder: Path, tasks: list[str], seeds: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for seed in range(seeds):
        for task in tasks:
            store = folder / f"{task}-{seed}.db"
            if store.exists():
                continue
            started = time.monotonic()
            command = [sys.executable, "-m", "selftaught", "run", *PROFILE, "--max-tokens", "1000"]
            command += ["--tasks", task, "--seed", str(seed), "--store", str(store), "--json"]
            result = subprocess.run(command, capture_output=True, text=True)
            status = "ok" if result.returncode == 0 else f"exit {result.returncode}"
            print(f"{task} seed {seed}: {status} in {time.monotonic() - started:.0f} s", flush=True)


def summarize(folder: Path, tasks: list[str]) -> None:
    print(f"{'task':>18} {'runs':>5} {'candidates':>11} {'better':>7} {'u(s) val':>9}  rate [95% Wilson]")
    with WorkerPool(1) as pool:
        for name in tasks:
            task = get_task(name)
            seed_score = score_solution(task, task.seed_solution(), "val", pool).score
            seed_hash = source_hash(task.seed_solution())
            runs = candidates = better = 0
            for path in sorted(folder.glob(f"{name}-*.db")):
                store = Store.open_existing(path)
                for run in store.runs():
                    runs += 1
                    for e in store.evaluations(run.id):
                        if e.split != "val" or e.code_hash == seed_hash or e.improver_run_id is None:
                            continue
                        candidates += 1
                        better += e.score > seed_score
                store.close()
            rate = wilson(better, candidates)
            shown = f"{rate.rate:.2f} [{rate.lo:.2f}, {rate.hi:.2f}]" if candidates else "-"
            print(f"{name:>18} {runs:>5} {candidates:>11} {better:>7} {seed_score:>9.3f}  {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument(
        "--run", action="store_true", help="make the missing runs first (needs selftaught[local])"
    )
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    if args.run:
        make_runs(args.folder, args.tasks, args.seeds)
    summarize(args.folder, args.tasks)


if __name__ == "__main__":
    main()
