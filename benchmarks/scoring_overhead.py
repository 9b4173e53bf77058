"""Where the sandbox's time goes when it scores a candidate on the paper's parity task.

For two candidates of parity_noise (`cheap`: the task's seed, a random guess; `brute`: a
brute-force learner over every parity vector of weight <= 3) on each split, prints:

- the wall time of `score_solution` one scoring at a time, the candidate's own compute
  (the same function called on the same instances in this process, no sandbox), and the
  difference: the sandbox's overhead per scoring;
- the CPU time per scoring of every process involved (this one, the workers and the
  children they reaped), less the candidate's own compute: what a scoring costs the
  machine's cores when many run at once;

then the steps of one scoring, each timed on its own (medians):

- spawn: a child handed out by its worker (forked ahead of time) and its first, empty command;
- transfer credit: the echo load and one round trip per instance, once per task and split
  every 10 s (scoring.CREDIT_MAX_AGE_S);
- load, and load with seeding (`random` and `numpy.random`);
- instance transfer: one instance's call through the trusted echo, as a scoring sends it;
- decoding the result: the trusted side's `from_wire` and the task's check of one output;
- close: the `exit` command and the kill.

Usage: python benchmarks/scoring_overhead.py [--scorings 40] [--mode default|strict]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from collections.abc import Callable

import numpy as np

from selftaught.inside.protocol import from_wire
from selftaught.sandbox.limits import Limits
from selftaught.sandbox.pool import WorkerPool
from selftaught.tasks import get_task
from selftaught.tasks.scoring import (
    ECHO_ENTRY,
    ECHO_SOURCE,
    call_frames,
    measure_transfer,
    score_solution,
    wire_args,
)

BRUTE = '''import itertools

import numpy as np


def algorithm(train_samples, train_parity, test_samples):
    """The parity vector of weight <= 3 that fits the training labels best."""
    X = np.asarray(train_samples)
    y = np.asarray(train_parity).reshape(-1)
    candidates = [np.zeros(X.shape[1], dtype=int)]
    for weight in range(1, 4):
        for ones in itertools.combinations(range(X.shape[1]), weight):
            vector = np.zeros(X.shape[1], dtype=int)
            vector[list(ones)] = 1
            candidates.append(vector)
    C = np.array(candidates)
    errors = ((X @ C.T) % 2 != y[:, None]).sum(axis=0)
    return (np.asarray(test_samples) @ C[int(np.argmin(errors))]) % 2
'''


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def _median(work: Callable[[], float], n: int) -> float:
    return statistics.median(work() for _ in range(n))


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _cpu_s(pool: WorkerPool) -> float:
    """CPU seconds of this process and of the pool's workers with the children they reaped."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    total = own.ru_utime + own.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pool.worker_pids():
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
        except OSError:
            pass
    return total


def own_compute_s(task, source: str, split: str, repeats: int = 7) -> float:
    """The candidate's own compute over `split`, in this process (median of `repeats`)."""
    namespace: dict = {}
    exec(compile(task.program(source), "<candidate>", "exec"), namespace)
    algorithm = namespace["algorithm"]
    instances = task.instances(split)

    def once() -> float:
        np.random.seed(0)
        started = time.perf_counter()
        for instance in instances:
            algorithm(*instance.args)
        return time.perf_counter() - started

    return _median(once, repeats)


def whole_scorings(pool: WorkerPool, task, scorings: int) -> None:
    print(f"{'candidate':>9} {'split':>5} {'scoring':>10} {'own':>10} {'overhead':>10} {'cpu over':>10}")
    for name, source in (("cheap", task.seed_solution()), ("brute", BRUTE)):
        for split in ("val", "test"):
            own = own_compute_s(task, source, split)
            score_solution(task, source, split, pool)  # the transfer credit, measured once
            walls = []
            time.sleep(0.3)  # let the workers reap what came before
            cpu_before = _cpu_s(pool)
            for i in range(scorings):
                code = f"{source}\n# {i}\n"
                walls.append(_timed(lambda code=code, split=split: score_solution(task, code, split, pool)))
            time.sleep(0.5)  # the workers reap the last children (their CPU counts once reaped)
            cpu = (_cpu_s(pool) - cpu_before) / scorings
            wall = statistics.median(walls)
            print(f"{name:>9} {split:>5} {_ms(wall)} {_ms(own)} {_ms(wall - own)} {_ms(cpu - own)}")


def steps(pool: WorkerPool, task, n: int) -> None:
    split = "val"
    instances = task.instances(split)
    wires = wire_args(task, split, instances)
    frames = call_frames(task, split, wires)
    program = task.program(task.seed_solution())
    limits = Limits(wall_s=10)
    empty = {"op": "load", "source": "x = 1\n", "entry": "x"}

    def spawn() -> float:
        started = time.perf_counter()
        with pool.spawn(limits) as child:
            child.run(empty)
            return time.perf_counter() - started

    def credit() -> float:
        with pool.spawn(limits) as child:
            return _timed(lambda: measure_transfer(child, frames, task.time_limit_s))

    def load(seed: int | None) -> Callable[[], float]:
        def once() -> float:
            with pool.spawn(limits) as child:
                child.run(empty)
                command = {
                    "op": "load",
                    "source": program + f"# {time.perf_counter()}\n",
                    "entry": "algorithm",
                }
                if seed is not None:
                    command["seed"] = seed
                return _timed(lambda: child.run(command))

        return once

    def transfer() -> float:
        with pool.spawn(limits) as child:
            child.run({"op": "load", "source": ECHO_SOURCE, "entry": ECHO_ENTRY})
            return statistics.median(_timed(lambda f=f: child.run(f)) for f in frames)

    with pool.spawn(limits) as child:
        child.run({"op": "load", "source": program, "entry": "algorithm", "seed": 1})
        replies = [child.run(frame) for frame in frames]

    def decode() -> float:
        return statistics.median(
            _timed(lambda r=r, inst=inst: task.check_timed(inst, from_wire(r.value), 0.001))
            for r, inst in zip(replies, instances, strict=True)
        )

    def close() -> float:
        child = pool.spawn(limits)
        child.run(empty)
        return _timed(child.close)

    print(f"steps of one scoring ({task.name}, {split}: {len(instances)} instances; medians of {n})")
    print(f"  spawn (hand-out, rlimits, first command) {_ms(_median(spawn, n))}")
    print(f"  transfer credit (every 10 s per split)   {_ms(_median(credit, n))}")
    print(f"  load                                     {_ms(_median(load(None), n))}")
    print(f"  load with seeding                        {_ms(_median(load(12345), n))}")
    print(f"  instance transfer, per instance          {_ms(_median(transfer, n))}")
    print(f"  decoding the result, per instance        {_ms(decode())}")
    print(f"  close                                    {_ms(_median(close, n))}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scorings", type=int, default=40, help="scorings per row (medians shown)")
    parser.add_argument("--mode", default="default", choices=("default", "strict"))
    args = parser.parse_args()
    task = get_task("parity_noise")
    pool = WorkerPool(mode=args.mode, on_warning=lambda message: None)
    try:
        print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores, {pool.n_workers} workers")
        whole_scorings(pool, task, args.scorings)
        steps(pool, task, args.scorings)
        print(f"load average {os.getloadavg()[0]:.2f}")
    finally:
        pool.close()


if __name__ == "__main__":
    main()
