"""How often does the embedded model write a candidate better than the seed solution, per task?

`--run` first makes the runs: for each task and seed, iteration 0 of the demo profile
(`selftaught run --model local --tasks T --iterations 0 --n-tests 1 --samples 2 --calls 1
--max-tokens 1000 --seed S`), each in its own store under DIR, so that no answer is served
from another run's cache. Iteration 0 (the seed improver scored as an improver) is where
the demo's first candidate solutions come from; the full demo adds iteration 1, whose
candidates come from whatever improver the model proposed, so iteration 0 alone is a
cheaper proxy for the rate, not the demo itself.

Then, from the stores: each distinct program the model wrote for a task is compared with
the task's seed solution on the split it was scored on: better means a strictly higher
score than u(s) on that same split, or above u(s) + m with `--margin m` for scores that
carry timing noise (MQAP adds the elapsed seconds). u(s) comes from the run when the seed
was scored there, else from the seed-score cache of `selftaught tasks list` (measured in
the sandbox). Answers with no code and programs that fail count as candidates that are
not better. Prints per task: runs, candidates, better, the rate with a Wilson 95% interval
per candidate (the samples of one call are drawn independently from one prompt) and per
run (does a run show at least one better candidate: the demo's question), and the
commonest failure reasons.

    python benchmarks/demo_rates.py DIR --run --tasks parity_noise maxcut --seeds 5
    python benchmarks/demo_rates.py DIR [--iteration 0] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from selftaught.analysis.stats import wilson
from selftaught.report import collect_report
from selftaught.report.data import ReportData
from selftaught.store.store import Store
from selftaught.tasks import get_task
from selftaught.tasks.seed_scores import seed_scores

TASKS = ("parity_noise", "parity_noiseless", "str_grid_dist", "mqap", "three_sat", "maxcut")
PROFILE = ("--iterations", "0", "--n-tests", "1", "--samples", "2", "--calls", "1")


def make_runs(folder: Path, tasks: list[str], seeds: range, model: str = "local") -> None:
    """One run per task and seed, each in its own store; existing stores are kept (reruns resume)."""
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        for task in tasks:
            store = folder / f"{task}-{seed}.db"
            if store.exists():
                continue
            started = time.monotonic()
            command = [
                sys.executable,
                "-m",
                "selftaught",
                "run",
                "--model",
                model,
                *PROFILE,
                "--max-tokens",
                "1000",
            ]
            command += ["--tasks", task, "--seed", str(seed), "--store", str(store), "--json"]
            result = subprocess.run(command, capture_output=True, text=True)
            status = "ok" if result.returncode == 0 else f"exit {result.returncode}"
            load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
            print(
                f"{task} seed {seed}: {status} in {time.monotonic() - started:.0f} s (load {load})",
                flush=True,
            )


@dataclass
class TaskTally:
    """What the model wrote for one task, over runs."""

    runs: int = 0
    runs_with_better: int = 0
    candidates: int = 0
    better: int = 0
    best: float | None = None
    seed: dict[str, float] = field(default_factory=dict)
    failures: Counter = field(default_factory=Counter)


def tally_run(
    data: ReportData, seeds: dict[str, dict[str, float]], iteration: int | None, into, margin: float = 0.0
) -> None:
    """Add one run's solution candidates to the per-task tallies `into`."""
    better_in_run: dict[str, bool] = {}
    seen: set[tuple[str, str]] = set()
    for run in data.improver_runs:
        if run.purpose == "self_improve" or run.task is None:
            continue
        if iteration is not None and run.iteration != iteration:
            continue
        tally = into[run.task]
        reference = data.seed_scores.get(run.task) or seeds.get(run.task, {})
        tally.seed = reference
        better_in_run.setdefault(run.task, False)
        for candidate in run.candidates:
            if candidate.answer_hash is None:
                continue  # scored in the run but not written by the model (the seed)
            key = (
                candidate.code_hash
                or f"answer:{candidate.answer_hash}:{candidate.call_id}:{candidate.sample}",
                run.task,
            )
            if key in seen:
                continue
            seen.add(key)
            tally.candidates += 1
            if candidate.failure:
                tally.failures[candidate.failure] += 1
            wins = [
                split
                for split, scored in candidate.scores.items()
                if split in reference and scored.score > reference[split] + margin
            ]
            if candidate.scores:
                score = max(s.score for s in candidate.scores.values())
                tally.best = score if tally.best is None else max(tally.best, score)
            if wins:
                tally.better += 1
                better_in_run[run.task] = True
    for task, better in better_in_run.items():
        into[task].runs += 1
        into[task].runs_with_better += better


def reports(folder: Path, tasks: list[str]) -> list[ReportData]:
    """Every finished run of the embedded model in the task stores under `folder`."""
    found = []
    for path in sorted(folder.glob("*.db")):
        if path.stem.rsplit("-", 1)[0] not in tasks:
            continue
        store = Store.open_existing(path)
        try:
            for run in store.runs():
                if run.model_spec.startswith("local") and run.status == "finished":
                    found.append(collect_report(store, run.id))
        finally:
            store.close()
    return found


def summarize(folder: Path, tasks: list[str], iteration: int | None, margin: float = 0.0) -> list[dict]:
    datas = reports(folder, tasks)
    names = sorted({name for d in datas for name in d.run.config.get("tasks") or []})
    seeds = seed_scores([get_task(name) for name in names])
    tallies: dict[str, TaskTally] = defaultdict(TaskTally)
    for data in datas:
        tally_run(data, seeds, iteration, tallies, margin)
    rows = []
    for task, t in sorted(tallies.items()):
        per_candidate, per_run = wilson(t.better, t.candidates), wilson(t.runs_with_better, t.runs)
        rows.append(
            {
                **{k: v for k, v in asdict(t).items() if k != "failures"},
                "task": task,
                "failures": dict(t.failures.most_common()),
                "candidate_rate": [per_candidate.rate, per_candidate.lo, per_candidate.hi],
                "run_rate": [per_run.rate, per_run.lo, per_run.hi],
            }
        )
    return rows


def print_table(rows: list[dict]) -> None:
    print(f"{'task':<18}{'runs':>5}{'cands':>6}{'better':>7}  {'per candidate [95% CI]':<24}"
          f"{'runs w/ better':>15}  {'per run [95% CI]':<22}{'u(s) val':>9}{'best':>7}")  # fmt: skip
    for r in rows:
        c, w = r["candidate_rate"], r["run_rate"]
        print(
            f"{r['task']:<18}{r['runs']:>5}{r['candidates']:>6}{r['better']:>7}  "
            f"{_rate(c):<24}{r['runs_with_better']:>15}  {_rate(w):<22}"
            f"{_num(r['seed'].get('val')):>9}{_num(r['best']):>7}"
        )
    for r in rows:
        reasons = ", ".join(f"{n} {reason}" for reason, n in list(r["failures"].items())[:5])
        print(f"{r['task']}: failures: {reasons or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path, help="one store per run: TASK-SEED.db")
    parser.add_argument("--run", action="store_true", help="make the missing runs first (selftaught[local])")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (with --first-seed)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--model", default="local", help="e.g. local:threads=1 next to other work")
    parser.add_argument("--iteration", type=int, help="only candidates of this iteration (e.g. 0)")
    parser.add_argument("--margin", type=float, default=0.0, help="better means above u(s) + margin")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    args = parser.parse_args()
    if args.run:
        make_runs(args.folder, args.tasks, range(args.first_seed, args.first_seed + args.seeds), args.model)
    rows = summarize(args.folder, args.tasks, args.iteration, args.margin)
    if args.json:
        print(json.dumps({"folder": str(args.folder), "iteration": args.iteration, "tasks": rows}))
    else:
        print_table(rows)


def _rate(values: list[float]) -> str:
    rate, low, high = values
    return "–" if rate != rate else f"{rate:.2f} [{low:.2f}, {high:.2f}]"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
