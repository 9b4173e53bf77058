"""What runs on each Ray node: the hardened worker pool in one long-lived actor.

`NodeRunner` is the actor's body (plain Python, so it is testable without Ray). It
starts the same `WorkerPool` a local run uses, held to the run's sandbox mode with
the same live probe; a node whose sandbox is weaker says why instead of joining. An
improver run is driven step by step: `start` spawns a child and returns its first
request (or its result), `answer` hands the orchestrator's answer to the child and
returns the next one. The child's deadlines are kept here, by `Child.run`, exactly as
on a local run; only the answers travel. A sandbox worker lost under a scoring is
redone here (`redo_when_lost`); one lost under an improver run is reported as a `Step`
with `lost` set, and the orchestrator runs the improver again with fresh budgets.
Everything this actor handles came from the orchestrator or was already parsed from the
child by the sandbox's total decoder.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from selftaught.executors.base import redo_when_lost
from selftaught.inside.messages import Command, Request
from selftaught.sandbox.child_handle import Child, Reply, RequestAnswer
from selftaught.sandbox.errors import SandboxError, WorkerLost
from selftaught.sandbox.limits import Limits
from selftaught.sandbox.pool import WorkerPool


@dataclass(frozen=True)
class NodeInfo:
    """What a node says when asked to join: who it is, its pool, and why it refuses (if it does)."""

    node: str
    host: str
    n_workers: int
    protections: list[dict[str, Any]] = field(default_factory=list)
    refusal: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Step:
    """Where a relayed improver run stands: a request for the orchestrator, the run's result,
    or (`lost`, why) the loss of the sandbox worker it ran in: run it again."""

    request: Request | None = None
    reply: Reply | None = None
    lost: str | None = None


class _RelayedRun:
    """One improver child on this node, whose requests wait for answers from the orchestrator."""

    def __init__(self, child: Child, command: Command | dict[str, Any]) -> None:
        self.child = child
        self.command = command
        self.steps: queue.Queue[Step] = queue.Queue()
        self.answers: queue.Queue[RequestAnswer] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="relayed-improver", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            reply = self.child.run(self.command, on_request=self._relay)
        except WorkerLost as lost:
            self.child.close()
            self.steps.put(Step(lost=str(lost)))
            return
        except BaseException as exc:  # noqa: BLE001 - a failure on our side ends the run, with its cause
            reply = Reply(False, error_kind="crashed", error=f"node failure: {exc.__class__.__name__}: {exc}")
        finally:
            self.child.close()
        self.steps.put(Step(reply=reply))

    def _relay(self, request: Request) -> RequestAnswer:
        self.steps.put(Step(request=request))
        return self.answers.get()

    def kill(self) -> None:
        self.child.kill()
        self.answers.put(
            RequestAnswer(False, error="killed: the run stopped", abort=True, abort_kind="crashed")
        )


class NodeRunner:
    """The actor body: one `WorkerPool` of `n_workers` on this node, and the runs relayed through it."""

    def __init__(self, node: str, mode: str, n_workers: int) -> None:
        self.node = node
        self.mode = mode
        self.n_workers = n_workers
        self.warnings: list[str] = []
        self.refusal: str | None = None
        self.pool: WorkerPool | None = None
        self._runs: dict[str, _RelayedRun] = {}
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()
        try:
            self.pool = WorkerPool(n_workers, mode=mode, on_warning=self.warnings.append)
        except SandboxError as exc:  # strict mode without its protections, or no worker starts
            self.refusal = str(exc)

    def info(self) -> NodeInfo:
        protections = [p.to_dict() for p in self.pool.protections] if self.pool else []
        return NodeInfo(
            self.node, socket.gethostname(), self.n_workers, protections, self.refusal, self.warnings
        )

    def _pool(self) -> WorkerPool:
        if self.pool is None:
            raise SandboxError(f"node {self.node} has no sandbox: {self.refusal}")
        return self.pool

    def score(self, task_key: str, task_box: list[Any], code: str, split: str, scoring: str) -> Any:
        """Score `code` with the task the orchestrator sent (deserialized once per node, then kept).

        The task comes boxed in a list so that Ray hands over its reference unresolved: a
        node fetches it only the first time, and its cached instances and wire forms live on.
        """
        from selftaught.tasks.scoring import score_solution

        with self._lock:
            task = self._tasks.get(task_key)
        if task is None:
            import ray

            fetched = ray.get(task_box[0])
            with self._lock:
                task = self._tasks.setdefault(task_key, fetched)
        return redo_when_lost(
            lambda: score_solution(task, code, split, self._pool(), scoring=scoring),
            f"a scoring on {task.name}",
        )

    def score_many(
        self, task_key: str, task_box: list[Any], codes: list[str], split: str, scoring: str
    ) -> list[Any]:
        """Score `codes` one after another, in one call: each call to an actor costs a round trip."""
        return [self.score(task_key, task_box, code, split, scoring) for code in codes]

    def start(self, job_id: str, command: Command | dict[str, Any], limits: Limits) -> Step:
        try:
            child = self._pool().spawn(limits)
        except WorkerLost as lost:
            return Step(lost=str(lost))
        run = _RelayedRun(child, command)
        with self._lock:
            self._runs[job_id] = run
        return self._next(job_id, run)

    def answer(self, job_id: str, answer: RequestAnswer) -> Step:
        with self._lock:
            run = self._runs.get(job_id)
        if run is None:
            return Step(reply=Reply(False, error_kind="crashed", error="no such improver run on this node"))
        run.answers.put(answer)
        return self._next(job_id, run)

    def _next(self, job_id: str, run: _RelayedRun) -> Step:
        step = run.steps.get()
        if step.reply is not None or step.lost is not None:
            with self._lock:
                self._runs.pop(job_id, None)
        return step

    def kill(self, job_id: str) -> None:
        with self._lock:
            run = self._runs.get(job_id)
        if run is not None:
            run.kill()

    def pid(self) -> int:
        return os.getpid()

    def close(self) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.kill()
        if self.pool is not None:
            self.pool.close()
