"""The Ray executor: improver runs and scorings spread over a Ray cluster's nodes.

Each node runs one long-lived actor (`node.NodeRunner`) holding the same hardened
worker pool a local run uses, sized to the node's cores and held to the run's
`--sandbox` mode; a node that cannot give that mode refuses to join, with its reason.
The orchestrator keeps model calls, budgets, the response cache and the store: an
improver's requests come back here one at a time (`start` returns the first, each
`answer` the next), so the trust boundary is where it is on one machine. A lost actor's
in-flight work runs again on another; since only the orchestrator records results, and
only when they come back, nothing recorded is redone. A sandbox worker lost on a node is
handled as on one machine (`redo_when_lost`): the node redoes a scoring itself, and an
improver run it reports lost runs again here with a fresh handler.

`pip install 'selftaught[ray]'` on every node; see docs/scaling.md.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from selftaught.executors.base import ImproverJob, Tracker, redo_when_lost
from selftaught.executors.node import NodeInfo, NodeRunner, Step
from selftaught.sandbox.child_handle import Reply, RequestHandler
from selftaught.sandbox.errors import SandboxError, SandboxUnavailable, WorkerLost
from selftaught.sandbox.isolation import Protection

if TYPE_CHECKING:
    from selftaught.tasks.base import Task
    from selftaught.tasks.scoring import SolutionScore

ACTOR_THREADS = 512  # relayed runs and scorings one actor serves at once (its calls mostly wait)
JOIN_TIMEOUT_S = 180.0  # a node's actor that has not said what it can do by then is not coming
_ACTOR_CLASS: Any = None


class ExecutorLost(SandboxError):
    """Every node of the cluster is gone: nothing is left to run on."""


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        from selftaught.errors import UserInputError

        raise UserInputError("--executor ray needs Ray: pip install 'selftaught[ray]'") from exc
    return ray


def _actor_class() -> Any:
    global _ACTOR_CLASS
    if _ACTOR_CLASS is None:
        _ACTOR_CLASS = _ray().remote(NodeRunner)
    return _ACTOR_CLASS


@dataclass
class _Node:
    """The orchestrator's view of one joined node's actor."""

    info: NodeInfo
    actor: Any
    in_flight: int = 0
    served: int = 0  # improver runs and scorings it brought back
    alive: bool = True


@dataclass
class _RemoteRun:
    """An improver run in flight on a node; the run's control kills it through its actor."""

    node: _Node
    job_id: str
    killed: bool = False

    def kill(self) -> None:
        self.killed = True  # a run stopped before its start never starts
        if self.node.alive:
            try:
                self.node.actor.kill.remote(self.job_id)
            except Exception:  # noqa: BLE001 - the actor may be gone already
                pass


class RayExecutor:
    """Runs improvers and scorings on the actors of the nodes that joined."""

    name = "ray"

    def __init__(self, nodes: list[_Node], *, owns_ray: bool = False) -> None:
        self._nodes = nodes
        self._owns_ray = owns_ray
        self._lock = threading.Lock()
        self._order = itertools.count()
        self._task_refs: dict[int, tuple[Task, str, Any]] = {}
        self.cpu_slots = max(1, sum(n.info.n_workers for n in nodes))
        self._protections = _weakest([n.info for n in nodes])

    @property
    def protections(self) -> list[Protection]:
        return self._protections

    @classmethod
    def connect(
        cls, mode: str, *, address: str | None = None, on_warning: Callable[[str], None] | None = None
    ) -> RayExecutor:
        """Join the cluster at `address` (or the one this process is connected to, or a new local one)."""
        ray = _ray()
        owns = not ray.is_initialized()
        if owns:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            return cls(_join(ray, mode, on_warning), owns_ray=owns)
        except BaseException:
            if owns:
                ray.shutdown()
            raise

    # --- scheduling ------------------------------------------------------------------------------
    def _pick(self, weight: int = 1) -> _Node:
        """The live node with the least work in flight per worker (ties in turn); `weight`: the
        scorings (or runs) it is handed."""
        with self._lock:
            live = [n for n in self._nodes if n.alive]
            if not live:
                raise ExecutorLost("no Ray node is left to run on")
            turn = next(self._order)
            node = min(
                live, key=lambda n: (n.in_flight / n.info.n_workers, (live.index(n) - turn) % len(live))
            )
            node.in_flight += weight
            return node

    def _done(self, node: _Node, lost: bool = False, weight: int = 1) -> None:
        with self._lock:
            node.in_flight -= weight
            if lost:
                node.alive = False
            else:
                node.served += weight

    def live_nodes(self) -> list[NodeInfo]:
        """The nodes still in use (for diagnostics and tests)."""
        return [n.info for n in self._nodes if n.alive]

    def usage(self) -> dict[str, int]:
        """How many improver runs and scorings each joined node brought back, by Ray node id."""
        return {n.info.node: n.served for n in self._nodes}

    # --- work ------------------------------------------------------------------------------------
    def run_improver(
        self, job: ImproverJob, make_handler: Callable[[], RequestHandler], tracker: Tracker | None = None
    ) -> Reply:
        return redo_when_lost(lambda: self._run_improver_once(job, make_handler, tracker), "an improver run")

    def _run_improver_once(
        self, job: ImproverJob, make_handler: Callable[[], RequestHandler], tracker: Tracker | None
    ) -> Reply:
        """One try on the live nodes (a lost node's run goes to another); `WorkerLost` if its worker died."""
        ray = _ray()
        while True:
            node = self._pick()
            run = _RemoteRun(node, uuid.uuid4().hex)
            handler = make_handler()  # a run started again gets fresh budgets
            if tracker is not None:
                tracker.track(run)
            try:
                if run.killed:
                    self._done(node)
                    return Reply(
                        False, error_kind="crashed", error="the run stopped before this improver started"
                    )
                step: Step = ray.get(node.actor.start.remote(run.job_id, job.command, job.limits))
                while step.reply is None and step.lost is None:
                    assert step.request is not None
                    answer = handler(step.request)
                    step = ray.get(node.actor.answer.remote(run.job_id, answer))
                self._done(node)
                if step.reply is not None:
                    return step.reply
            except ray.exceptions.RayActorError:
                self._done(node, lost=True)  # run it again elsewhere
                continue
            except BaseException:
                self._done(node)
                run.kill()
                raise
            finally:
                if tracker is not None:
                    tracker.untrack(run)
            raise WorkerLost(f"on node {node.info.host}: {step.lost}")  # the node is fine: redo_when_lost

    def score(self, task: Task, code: str, split: str, scoring: str) -> SolutionScore:
        key, ref = self._task_ref(task)
        result: SolutionScore = self._on_a_node(
            lambda actor: actor.score.remote(key, [ref], code, split, scoring), 1
        )
        return result

    def score_many(self, task: Task, codes: list[str], split: str, scoring: str) -> list[SolutionScore]:
        """Score `codes` on one node in one call (see executors/base.py, `BatchScoring`)."""
        key, ref = self._task_ref(task)
        results: list[SolutionScore] = self._on_a_node(
            lambda actor: actor.score_many.remote(key, [ref], codes, split, scoring), len(codes)
        )
        return results

    def _on_a_node(self, call: Callable[[Any], Any], weight: int) -> Any:
        """`call(actor)`'s result from the live node with the least work; scoring is pure, so a
        lost node's scorings are simply scored again on another."""
        ray = _ray()
        while True:
            node = self._pick(weight)
            try:
                result = ray.get(call(node.actor))
            except ray.exceptions.RayActorError:
                self._done(node, lost=True, weight=weight)
                continue
            except BaseException:
                self._done(node, weight=weight)
                raise
            self._done(node, weight=weight)
            return result

    def _task_ref(self, task: Task) -> tuple[str, Any]:
        """The task in the object store, put there once; nodes keep their copy by its key."""
        with self._lock:
            known = self._task_refs.get(id(task))
            if known is None or known[0] is not task:
                known = (task, f"{task.name}-{uuid.uuid4().hex[:12]}", _ray().put(task))
                self._task_refs[id(task)] = known
            return known[1], known[2]

    def close(self) -> None:
        ray = _ray()
        for node in self._nodes:
            if node.alive:
                try:
                    ray.get(node.actor.close.remote(), timeout=30)
                except Exception:  # noqa: BLE001 - closing must not hide the run's outcome
                    pass
                ray.kill(node.actor)
                node.alive = False
        if self._owns_ray:
            _stop_monitor(ray)
            ray.shutdown()


def _join(ray: Any, mode: str, on_warning: Callable[[str], None] | None) -> list[_Node]:
    """Start one actor per live node, sized to its cores; keep those whose sandbox holds to `mode`."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    actor_class = _actor_class()
    candidates = []
    for entry in ray.nodes():
        if not entry.get("Alive"):
            continue
        node_id = entry["NodeID"]
        cores = max(1, int(entry.get("Resources", {}).get("CPU", 1)))
        actor = actor_class.options(
            num_cpus=0,
            max_concurrency=ACTOR_THREADS,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
        ).remote(node_id, mode, cores)
        candidates.append(actor)
    try:
        infos: list[NodeInfo] = ray.get([actor.info.remote() for actor in candidates], timeout=JOIN_TIMEOUT_S)
    except ray.exceptions.GetTimeoutError:
        for actor in candidates:
            ray.kill(actor)
        raise SandboxUnavailable(
            f"the Ray nodes' sandbox actors did not start within {JOIN_TIMEOUT_S:.0f} s; "
            "Ray's own logs (on the head node, /tmp/ray/session_latest/logs) say why"
        ) from None
    joined, refusals = [], []
    for actor, info in zip(candidates, infos, strict=True):
        if info.refusal is not None:
            refusals.append(f"node {info.host} ({info.node[:12]}) refuses to join: {info.refusal}")
            ray.kill(actor)
            continue
        joined.append(_Node(info, actor))
        for message in info.warnings:
            _warn(on_warning, f"node {info.host} ({info.node[:12]}): {message}")
    for message in refusals:
        _warn(on_warning, message)
    if not joined:
        raise SandboxUnavailable(
            "no Ray node can run the sandbox: " + "; ".join(refusals or ["no live node"])
        )
    return joined


def _warn(on_warning: Callable[[str], None] | None, message: str) -> None:
    if on_warning is not None:
        on_warning(message)


def _weakest(infos: list[NodeInfo]) -> list[Protection]:
    """Each protection as the weakest joined node has it: available only where every node has it."""
    merged: dict[str, Protection] = {}
    for info in infos:
        for raw in info.protections:
            protection = Protection(**raw)
            held = merged.get(protection.name)
            if held is None or (held.available and not protection.available):
                merged[protection.name] = protection
    return list(merged.values())


def _stop_monitor(ray: Any) -> None:
    """Kill the autoscaler monitor of a Ray this process started, before `ray.shutdown`.

    Ray's shutdown stops the monitor after the GCS. The monitor's SIGTERM handler then
    reports to the GCS it has lost, and Ray waits a second before it kills the monitor
    anyway: a second added to every run that starts its own Ray. Killing it first ends the
    same way, without the wait. This reaches into Ray's internals (`_global_node`), so
    anything unexpected there leaves the shutdown as Ray does it.
    """
    try:
        from ray._private import ray_constants, worker

        node = worker._global_node
        infos: list[Any] = node.all_processes.get(ray_constants.PROCESS_TYPE_MONITOR, []) if node else []
        for info in infos:
            info.process.kill()
            info.process.wait(timeout=5)
    except Exception:  # noqa: BLE001 - Ray's own shutdown still stops it, a second later
        pass
