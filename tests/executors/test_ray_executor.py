"""The Ray executor on a two-node local cluster: same results as locally, both nodes used, lost actors."""

from __future__ import annotations

import threading

import pytest

import selftaught
from selftaught.executors.base import ImproverJob
from selftaught.executors.local import LocalExecutor
from selftaught.inside.messages import PromptRequest
from selftaught.sandbox.child_handle import RequestAnswer
from selftaught.sandbox.limits import Limits
from selftaught.tasks import get_task
from tests.conftest import EXAMPLE_MODEL, GOOD_PARITY_SOLVER

ray = pytest.importorskip("ray", reason="needs selftaught[ray]")
pytestmark = pytest.mark.ray


def _run(tmp_path, name, executor):
    config = selftaught.RunConfig(
        model=f"script:{EXAMPLE_MODEL}", iterations=1, n_tests=2, calls=2, samples=3, timeout_s=60
    )
    store_path = tmp_path / f"{name}.db"
    result = selftaught.start_run(config, store=store_path, pool=executor)
    store = selftaught.open_store(store_path)
    iterations = [(r.iteration, r.status, r.meta_utility_val, r.meta_utility_test) for r in result.iterations]
    evaluations = sorted(
        (e.task, e.split, e.code_hash, e.score, e.error_kind or "") for e in store.evaluations(result.run_id)
    )
    improver_runs = sorted(
        (r.stream, r.status or "", r.score_val or 0.0, r.score_test or 0.0)
        for r in store.improver_runs(result.run_id)
    )
    return result.status, iterations, evaluations, improver_runs


def test_a_scripted_run_records_the_same_results_on_ray_as_locally(tmp_path, pool, ray_executor):
    local = _run(tmp_path, "local", LocalExecutor(pool))
    remote = _run(tmp_path, "ray", ray_executor)
    assert local[0] == remote[0] == "finished"
    assert local[1][1][1] == "improved"  # the comparison is of a run that did something
    assert remote[1] == local[1]  # iterations' meta-utilities
    assert remote[2] == local[2]  # every evaluation's score
    assert remote[3] == local[3]  # every improver run's outcome
    usage = ray_executor.usage()
    assert len(usage) == 2 and all(count > 0 for count in usage.values()), usage


def test_scoring_on_a_node_equals_scoring_here(pool, ray_executor):
    task = get_task("parity_noise")
    here = LocalExecutor(pool).score(task, GOOD_PARITY_SOLVER, "val", "strict")
    there = [ray_executor.score(task, GOOD_PARITY_SOLVER, "val", "strict") for _ in range(2)]
    assert here.score > 0.5
    assert [t.score for t in there] == [here.score, here.score]


def test_a_batch_scored_on_a_node_equals_scoring_each_here(pool, ray_executor):
    task = get_task("parity_noise")
    codes = [GOOD_PARITY_SOLVER, f"{GOOD_PARITY_SOLVER}\n# another\n", "x = 1\n", "def broken(:\n"]
    here = [LocalExecutor(pool).score(task, code, "val", "strict") for code in codes]
    there = ray_executor.score_many(task, codes, "val", "strict")
    assert here[0].score > 0.5 and here[2].error_kind and here[3].error_kind  # good and failing ones
    assert [(t.score, t.instances, t.error_kind) for t in there] == [
        (h.score, h.instances, h.error_kind) for h in here
    ]
    assert sum(ray_executor.usage().values()) == len(codes)  # a batch counts its scorings


class _Tracked:
    """A run control stand-in that remembers what it was asked to track."""

    def __init__(self) -> None:
        self.runs: list = []

    def track(self, job) -> None:
        self.runs.append(job)

    def untrack(self, job) -> None:
        pass


IMPROVER = """
def improve_algorithm(initial_solution, utility, language_model):
    answers = language_model.prompt("expert", "first")
    answers += language_model.prompt("expert", "second")
    return initial_solution + "# " + " ".join(answers)
"""


def _job() -> ImproverJob:
    command = {
        "op": "improve",
        "source": IMPROVER,
        "initial_solution": "x = 1\n",
        "utility_str": "u",
        "utility_budget": 1,
        "lm_budget": 2,
        "max_responses_per_call": 1,
        "seed": 0,
    }
    return ImproverJob(command, Limits(wall_s=60))


def _kill_and_wait(actor, deadline_s: float = 60.0) -> None:
    """Kill an actor, then wait until it is dead: `ray.kill` only asks, and a later call may still run."""
    import time

    ray.kill(actor)
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            ray.get(actor.__ray_ready__.remote(), timeout=5)
        except ray.exceptions.RayActorError:
            return
        except ray.exceptions.GetTimeoutError:
            pass
        time.sleep(0.05)
    raise AssertionError("the killed actor still answers")


def test_an_improver_run_whose_actor_dies_is_run_again_on_the_other_node(ray_cluster):
    from selftaught.executors.ray import RayExecutor

    executor = RayExecutor.connect("default", on_warning=lambda message: None)
    try:
        tracked = _Tracked()
        handlers: list[list[str]] = []
        killed = threading.Event()

        def make_handler():
            seen: list[str] = []
            handlers.append(seen)

            def handle(request):
                assert isinstance(request, PromptRequest)
                seen.append(request.message)
                if not killed.is_set():  # lose the node serving the first attempt, mid-run
                    killed.set()
                    _kill_and_wait(tracked.runs[-1].node.actor)
                return RequestAnswer(True, [f"answer-{request.message}"])

            return handle

        reply = executor.run_improver(_job(), make_handler, tracked)
        assert reply.ok, reply
        assert reply.value == "x = 1\n# answer-first answer-second"
        assert len(handlers) == 2  # the second attempt got a fresh handler (fresh budgets)
        assert handlers[1] == ["first", "second"]
        assert len(executor.live_nodes()) == 1
        task = get_task("parity_noise")  # the surviving node goes on scoring
        assert executor.score(task, GOOD_PARITY_SOLVER, "val", "strict").score > 0.5
    finally:
        executor.close()


def test_a_stopped_run_kills_its_remote_improver(ray_executor):
    tracked = _Tracked()

    def make_handler():
        def handle(request):
            tracked.runs[-1].kill()  # what RunControl.stop does to everything it tracks
            return RequestAnswer(True, ["never seen"])

        return handle

    reply = ray_executor.run_improver(_job(), make_handler, tracked)
    assert not reply.ok
    assert reply.error_kind == "crashed"


CLOSE_OWN_RAY = """
import json
import ray
from ray._private import worker
from selftaught.executors.ray import RayExecutor

# "local": a Ray of its own, even while another runs here (ray.init() with no address would join it)
executor = RayExecutor.connect("default", address="local", on_warning=lambda message: None)
processes = [info.process for infos in worker._global_node.all_processes.values() for info in infos]
monitors = [info.process for info in worker._global_node.all_processes.get("monitor", [])]
seen = {}
shutdown = ray.shutdown

def watching(*args, **kwargs):
    seen["monitor_gone_first"] = all(process.poll() is not None for process in monitors)
    return shutdown(*args, **kwargs)

ray.shutdown = watching
executor.close()
print(json.dumps({"processes": len(processes), "monitor_gone_first": seen.get("monitor_gone_first"),
                  "left": [process.pid for process in processes if process.poll() is None]}))
"""


def test_closing_a_ray_it_started_stops_its_monitor_first_and_leaves_nothing_running():
    """Ray's own shutdown waits a second on its autoscaler monitor (stopped after the GCS it then
    reports to); the executor kills it first, and the shutdown still stops every process."""
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    out = subprocess.run(
        [sys.executable, "-c", CLOSE_OWN_RAY], capture_output=True, text=True, timeout=300, env=env
    )
    assert out.returncode == 0, out.stderr[-3000:]
    payload = json.loads(out.stdout.splitlines()[-1])
    assert payload["processes"] >= 2  # the GCS and the raylet at least: the check is of something
    assert payload["monitor_gone_first"] is True
    assert payload["left"] == []
