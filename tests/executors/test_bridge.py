"""While a Ray instance of the run's own starts, work goes to a local pool; then to Ray."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import types

import pytest

from selftaught.executors import bridge
from selftaught.executors.bridge import BridgedExecutor, RayStart
from selftaught.executors.local import LocalExecutor
from selftaught.tasks import get_task
from selftaught.tasks.scoring import score_solution


class _FakeRay:
    """Stands for a joined Ray executor: says it scored, and whether it was closed."""

    def __init__(self) -> None:
        self.scored: list[str] = []
        self.closed = False

    def score(self, task, code, split, scoring):
        self.scored.append(code)
        return "scored on ray"

    def close(self) -> None:
        self.closed = True


def _bridged(pool, fake: _FakeRay) -> tuple[threading.Event, RayStart, BridgedExecutor]:
    """A bridged executor on `pool` whose Ray start gives `fake` once the event is set."""
    joined = threading.Event()

    def connect():
        joined.wait(10)
        return fake

    start = RayStart(connect, None)
    return joined, start, BridgedExecutor(LocalExecutor(pool), start)


def test_work_goes_to_the_local_pool_until_ray_has_joined_then_to_ray(pool):
    task = get_task("parity_noiseless")
    code = task.seed_solution()
    fake = _FakeRay()
    joined, start, executor = _bridged(pool, fake)
    try:
        while_starting = executor.score(task, code, "val", "strict")
        here = score_solution(task, code, "val", pool)
        assert (while_starting.score, while_starting.instances) == (here.score, here.instances)
        assert executor.bridged == 1 and fake.scored == []
        joined.set()
        assert start.wait(10) is fake
        assert executor.score(task, code, "val", "strict") == "scored on ray"
        assert fake.scored == [code] and executor.bridged == 1
    finally:
        executor.close()
    assert fake.closed  # shut down by the thread that started it


class _BatchingFakeRay(_FakeRay):
    def score_many(self, task, codes, split, scoring):
        self.scored.append(list(codes))
        return ["scored on ray in one call"] * len(codes)


def test_a_batch_is_scored_one_by_one_locally_while_ray_starts_then_in_one_call_on_ray(pool):
    task = get_task("parity_noiseless")
    codes = [task.seed_solution(), f"{task.seed_solution()}\n# another\n"]
    fake = _BatchingFakeRay()
    joined, start, executor = _bridged(pool, fake)
    try:
        here = [score_solution(task, code, "val", pool) for code in codes]
        while_starting = executor.score_many(task, codes, "val", "strict")
        assert [(r.score, r.instances) for r in while_starting] == [(h.score, h.instances) for h in here]
        joined.set()
        assert start.wait(10) is fake
        assert executor.score_many(task, codes, "val", "strict") == ["scored on ray in one call"] * 2
        assert fake.scored == [codes]
    finally:
        executor.close()


def test_a_ray_that_does_not_start_leaves_the_run_on_the_local_pool(pool):
    said: list[str] = []

    def connect():
        raise RuntimeError("port 6379 taken")

    start = RayStart(connect, said.append)
    executor = BridgedExecutor(LocalExecutor(pool), start)
    try:
        assert start.wait(10) is None and "port 6379 taken" in str(start.error)
        task = get_task("parity_noiseless")
        assert executor.score(task, task.seed_solution(), "val", "strict").instances == 20
        assert said and "the run goes on on this machine's pool" in said[0]
    finally:
        executor.close()


def test_only_a_ray_instance_of_the_runs_own_is_bridged(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delitem(sys.modules, "ray", raising=False)
    assert bridge.bridges(None)
    assert not bridge.bridges("10.0.0.1:6379")  # a cluster elsewhere: joined before the run starts
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    assert not bridge.bridges(None)
    monkeypatch.delenv("RAY_ADDRESS")
    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(is_initialized=lambda: True))
    assert not bridge.bridges(None)  # a Ray this process already joined


RUN_ON_OWN_RAY = """
import json, sys
import selftaught
from selftaught.executors.bridge import BridgedExecutor

bridged = []
close = BridgedExecutor.close
def closing(self):
    bridged.append((self.bridged, self.start.wait(300) is not None))
    close(self)
BridgedExecutor.close = closing
config = selftaught.RunConfig(model="script:" + sys.argv[1], iterations=1, n_tests=2, samples=3, calls=2,
                              executor="ray")
result = selftaught.start_run(config, store=sys.argv[2])
print(json.dumps({"iterations": [r.to_json() for r in result.iterations], "bridged": bridged}))
"""


@pytest.mark.ray
def test_a_run_on_a_ray_of_its_own_starts_locally_and_records_what_a_local_run_records(tmp_path, pool):
    import json
    import os

    import selftaught
    from tests.conftest import EXAMPLE_MODEL

    # A bare ray.init() joins the last Ray started on this machine (its address is kept under
    # Ray's temp directory), such as this session's test cluster: a temp directory of its own
    # makes it start one, wherever this test runs in the session. Kept short: Ray's sockets live there.
    ray_tmp = tempfile.mkdtemp(prefix="st-ray-", dir="/tmp")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"RAY_TMPDIR": ray_tmp}
    try:
        out = subprocess.run(
            [sys.executable, "-c", RUN_ON_OWN_RAY, str(EXAMPLE_MODEL), str(tmp_path / "ray.db")],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert out.returncode == 0, out.stderr[-3000:]
    payload = json.loads(out.stdout.splitlines()[-1])
    [(bridged, joined)] = payload["bridged"]
    assert bridged > 0 and joined  # the first work went to the local pool, and Ray did join
    config = selftaught.RunConfig(
        model=f"script:{EXAMPLE_MODEL}", iterations=1, n_tests=2, samples=3, calls=2
    )
    local = selftaught.start_run(config, store=tmp_path / "local.db", pool=pool)
    assert payload["iterations"] == [r.to_json() for r in local.iterations]
