"""Chaos: sandbox workers SIGKILLed during a STOP run; the run records what it records without kills.

A thread kills workers that have a child busy on the CPU (so that each kill lands on work in
flight: an improver run or a scoring) a few times during a scripted run. The pool notices
each loss, starts another worker, and the executor runs the lost work again; the recorded
results (meta-utilities, improver runs, every evaluation, the model's answers) must equal
those of the same run without kills, and no answer may be paid for twice. On a Ray node
the same holds: a worker lost under a relayed improver run sends it back to run again.
"""

from __future__ import annotations

import os
import random
import signal
import threading

import pytest
from tests.conftest import EXAMPLE_MODEL, small_config

from selftaught.api import open_store, start_run
from selftaught.sandbox.pool import WorkerPool

LOSSES = 2  # kills stop once the pool has noticed this many losses (each job may lose 3 tries)
MAX_KILLS = 8  # a kill may find no work in flight (a spare confining itself, a finished child)


def _busy_children(worker: int) -> bool:
    """Whether a child of `worker` is running on the CPU (a spare or idle child sleeps in recv)."""
    try:
        with open(f"/proc/{worker}/task/{worker}/children") as children:
            pids = children.read().split()
    except OSError:
        return False
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "R":
                    return True
        except OSError:
            continue
    return False


class Killer:
    """Kills a random worker with a busy child at random moments, until `LOSSES` losses are noticed.

    After a kill it waits for the pool to notice (or a while), so that at most one kill more
    lands before it stops: no job loses its worker more than 3 times, below the redo bound.
    """

    def __init__(self, pool: WorkerPool, seed: int) -> None:
        self.pool = pool
        self.rng = random.Random(seed)
        self.killed: list[int] = []  # one entry per kill
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.done.wait(self.rng.uniform(0.005, 0.03)):
            if self.pool.workers_lost >= LOSSES or len(self.killed) >= MAX_KILLS:
                return
            busy = [pid for pid in self.pool.worker_pids() if _busy_children(pid)]
            if not busy:
                continue
            noticed = self.pool.workers_lost
            try:
                os.kill(self.rng.choice(busy), signal.SIGKILL)
            except ProcessLookupError:
                continue
            self.killed.append(1)
            for _ in range(200):  # until the loss is noticed, or 0.2 s (the kill found no work)
                if self.pool.workers_lost > noticed or self.done.wait(0.001):
                    break

    def __enter__(self) -> Killer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


def _recorded(store_path, run_id: str):
    """What a run recorded, without ids, times or the order things finished in."""
    store = open_store(store_path)
    iterations = [
        (r.iteration, r.status, r.meta_utility_val, r.meta_utility_test) for r in store.iterations(run_id)
    ]
    improver_runs = sorted(
        (r.stream, r.status or "", r.error_kind or "", r.result_hash or "", r.score_val, r.score_test)
        for r in store.improver_runs(run_id)
    )
    evaluations = sorted(
        (e.task, e.split, e.code_hash, e.score, e.error_kind or "") for e in store.evaluations(run_id)
    )
    calls = store.query(
        "SELECT cache_key, responses_json, n, cached_samples FROM model_calls WHERE run_id = ?", (run_id,)
    )
    answers = sorted({(c["cache_key"], c["responses_json"]) for c in calls})
    paid = sorted(
        (c["cache_key"], c["n"] - c["cached_samples"]) for c in calls if c["cached_samples"] < c["n"]
    )
    return iterations, improver_runs, evaluations, answers, paid


@pytest.mark.parametrize("seed", [1, 2])
def test_a_run_whose_workers_are_killed_records_what_it_records_without_kills(pool, tmp_path, seed):
    config = small_config(f"script:{EXAMPLE_MODEL}", iterations=2)
    calm = start_run(config, store=tmp_path / "calm.db", pool=pool)
    with WorkerPool(2) as chaotic_pool:
        if not chaotic_pool.redoes_lost_work():
            pytest.skip(
                "no seccomp, Landlock signal scope or uid per child here: a loss is charged to the code"
            )
        with Killer(chaotic_pool, seed) as killer:
            chaotic = start_run(config, store=tmp_path / "chaos.db", pool=chaotic_pool)
        losses = list(chaotic_pool.worker_losses)
    assert calm.status == chaotic.status == "finished"
    assert calm.iterations[1].status == "improved"  # the comparison is of a run that did something
    assert killer.killed, "no worker was ever busy: nothing was tested"
    assert losses and all(loss.redone for loss in losses)  # at least one kill landed on work in flight
    expected = _recorded(tmp_path / "calm.db", calm.run_id)
    got = _recorded(tmp_path / "chaos.db", chaotic.run_id)
    assert got[0] == expected[0]  # iterations' meta-utilities
    assert got[1] == expected[1]  # every improver run's outcome
    assert got[2] == expected[2]  # every evaluation's score
    assert got[3] == expected[3]  # the model's answers, position by position
    assert got[4] == expected[4]  # each answer paid for once: a redone improver run's are cached


# -- on a Ray node: the node's pool loses a worker (driven in-process, without Ray) --------------

BUSY_THEN_DEFINE = """
import time
end = time.process_time() + 0.5
while time.process_time() < end:
    pass
def algorithm():
    return 7
"""


def _cpu_s(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _kill_the_worker_of_a_busy_child(pool: WorkerPool) -> threading.Thread:
    """SIGKILL the worker whose child has spent 0.1 CPU-seconds in its command (past its own set-up)."""

    def kill() -> None:
        for _ in range(100000):
            for worker in pool.worker_pids():
                try:
                    with open(f"/proc/{worker}/task/{worker}/children") as children:
                        pids = [int(pid) for pid in children.read().split()]
                except OSError:
                    continue
                if any(_cpu_s(pid) >= 0.1 for pid in pids):
                    os.kill(worker, signal.SIGKILL)
                    return
            threading.Event().wait(0.0005)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


class _Remote:
    """A stand-in for a Ray actor handle: `actor.method.remote(...)` calls the method here."""

    def __init__(self, target) -> None:
        self._target = target

    def __getattr__(self, name):
        method = getattr(self._target, name)
        return type("RemoteMethod", (), {"remote": staticmethod(method)})


class _InProcessRay:
    """Just what RayExecutor uses of Ray, with `get` returning what a call returned."""

    class exceptions:  # mirrors ray.exceptions
        class RayActorError(Exception):
            pass

    @staticmethod
    def get(value, timeout=None):
        return value


def test_an_improver_run_whose_worker_dies_on_a_node_runs_again_with_a_fresh_handler(monkeypatch):
    from selftaught.executors import ray as ray_executor
    from selftaught.executors.base import ImproverJob
    from selftaught.executors.node import NodeRunner
    from selftaught.sandbox.child_handle import RequestAnswer
    from selftaught.sandbox.limits import Limits

    runner = NodeRunner("node-a", "default", 1)
    try:
        assert runner.pool is not None
        if not runner.pool.redoes_lost_work():
            pytest.skip(
                "no seccomp, Landlock signal scope or uid per child here: a loss is charged to the code"
            )
        monkeypatch.setattr(ray_executor, "_ray", lambda: _InProcessRay)
        executor = ray_executor.RayExecutor([ray_executor._Node(runner.info(), _Remote(runner))])
        handlers = []

        def make_handler():
            handlers.append(1)
            return lambda request: RequestAnswer(False, error="no requests here")

        job = ImproverJob({"op": "load", "source": BUSY_THEN_DEFINE, "entry": "algorithm"}, Limits(wall_s=30))
        killer = _kill_the_worker_of_a_busy_child(runner.pool)
        reply = executor.run_improver(job, make_handler)
        killer.join()
        assert reply.ok, reply
        assert len(handlers) == 2 and runner.pool.workers_lost == 1
        assert [n.host for n in executor.live_nodes()] == [runner.info().host]  # the node itself is fine
    finally:
        runner.close()
