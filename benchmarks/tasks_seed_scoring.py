"""Benchmark: the cost of scoring each task's seed solution on the validation split.

For every built-in task, scores the seed on `val` (or `--split test`, under `--scoring
strict` or `reference`) in the sandbox and prints the wall time
and the share of it spent outside the candidate's own code (sandbox start, loading,
transfer calibration, JSON transfer, checking). The candidate's own time is measured
inside the child by a timing wrapper around its entry function, for this benchmark only
(the real scorer never trusts a clock on the untrusted side); a call that is killed at
its deadline counts entirely as the candidate's time.

    .venv/bin/python benchmarks/tasks_seed_scoring.py [--repeats 3] [--solution reference]
        [--scoring reference] [--split test] [TASK ...]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from selftaught.inside.messages import CallCommand, Command, LoadCommand
from selftaught.sandbox.limits import Limits
from selftaught.sandbox.pool import Child, Reply, WorkerPool
from selftaught.tasks import builtin_names, get_task
from selftaught.tasks.base import Instance, ReferenceRules, ReferenceVerdict, Task
from selftaught.tasks.scoring import score_solution

TIMED_ENTRY = "_benchmark_timed_entry"
_WRAPPER = """import time as _time
import types as _types

_INNER = {inner!r}
_module = _types.ModuleType("candidate_under_benchmark")
exec(compile(_INNER, "<candidate>", "exec"), _module.__dict__)
_entry = getattr(_module, {entry!r})


def {timed}(*args):
    started = _time.perf_counter()
    output = _entry(*args)
    return {{"output": output, "inner_s": _time.perf_counter() - started}}
"""


class TimedChild:
    """A child whose calls of the timed entry add the candidate's own time to `inner_s`."""

    def __init__(self, child: Child, inner_s: list[float]) -> None:
        self._child = child
        self._inner_s = inner_s
        self._timed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._child, name)

    def run(self, command: Command, wall_s: float | None = None, **kwargs: Any) -> Reply:
        if isinstance(command, LoadCommand):
            self._timed = command.entry == TIMED_ENTRY
        reply = self._child.run(command, wall_s, **kwargs)
        if self._timed and isinstance(command, CallCommand):
            if reply.ok and isinstance(reply.value, dict):
                self._inner_s.append(float(reply.value.get("inner_s", 0.0)))
            elif not self._child.alive:
                self._inner_s.append(reply.elapsed_s)  # killed while running the candidate
        return reply


class TimedPool:
    """Hands out TimedChild handles; everything else is the real pool."""

    def __init__(self, pool: WorkerPool, inner_s: list[float]) -> None:
        self._pool = pool
        self._inner_s = inner_s

    def spawn(self, limits: Limits | None = None) -> TimedChild:
        return TimedChild(self._pool.spawn(limits), self._inner_s)


class TimedTask(Task):
    """Delegates to `task`, running the candidate under a wrapper that reports its own time."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.name = task.name
        self.time_limit_s = task.time_limit_s
        self.entry = TIMED_ENTRY

    def seed_solution(self) -> str:
        return self.task.seed_solution()

    def shown_utility(self) -> str:
        return self.task.shown_utility()

    def instances(self, split: str) -> list[Instance]:
        return self.task.instances(split)

    def program(self, code: str) -> str:
        inner = self.task.program(code)
        return _WRAPPER.format(inner=inner, entry=self.task.entry, timed=TIMED_ENTRY)

    def check(self, instance: Instance, output: Any) -> float:
        return self.check_timed(instance, output, 0.0)

    def check_timed(self, instance: Instance, output: Any, elapsed_s: float) -> float:
        if not isinstance(output, dict):
            return 0.0
        return self.task.check_timed(instance, output.get("output"), elapsed_s)

    @property
    def reference_rules(self) -> ReferenceRules:  # type: ignore[override]
        return self.task.reference_rules

    def reference_check(self, instance: Instance, output: Any, elapsed_s: float) -> ReferenceVerdict:
        if not isinstance(output, dict):
            raise TypeError("the timing wrapper returned no dict")
        return self.task.reference_check(instance, output.get("output"), elapsed_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tasks", nargs="*", help="task names (default: all built-ins)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--solution", choices=("seed", "reference"), default="seed")
    parser.add_argument("--scoring", choices=("strict", "reference"), default="strict")
    parser.add_argument("--split", choices=("val", "test"), default="val")
    options = parser.parse_args()
    names = options.tasks or builtin_names()
    print(
        f"scoring the {options.solution} solution on {options.split} with {options.scoring} rules, "
        f"{options.repeats} runs each, one worker"
    )
    print(f"{'task':18s} {'instances':>9s} {'score':>7s} {'wall s':>8s} {'candidate s':>12s} {'outside':>8s}")
    with WorkerPool(1) as pool:
        for name in names:
            task = get_task(name)
            code = task.seed_solution() if options.solution == "seed" else task.reference_solution()
            walls, inners, shares, scores = [], [], [], []
            timed = TimedTask(task)  # one object, so its instances' wire form is encoded once, as in a run
            for _ in range(options.repeats):
                inner_s: list[float] = []
                started = time.perf_counter()
                result = score_solution(
                    timed,
                    code,
                    options.split,
                    TimedPool(pool, inner_s),  # type: ignore[arg-type]
                    scoring=options.scoring,
                )
                wall = time.perf_counter() - started
                inner = sum(inner_s)
                walls.append(wall)
                inners.append(inner)
                shares.append(1 - inner / wall if wall else 0.0)
                scores.append(result.score)
            print(
                f"{name:18s} {len(task.instances(options.split)):9d} {statistics.median(scores):7.3f} "
                f"{statistics.median(walls):8.2f} {statistics.median(inners):12.2f} "
                f"{statistics.median(shares):8.1%}",
                flush=True,
            )
    print("medians over runs; 'outside' = 1 - candidate s / wall s")


if __name__ == "__main__":
    main()
