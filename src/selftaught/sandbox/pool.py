"""The orchestrator's side of the trust boundary: a pool of workers and the children they fork.

`WorkerPool.spawn()` returns a `Child` (see `child_handle.py`): a handle that sends one
command, serves the child's requests (model calls, utility calls) while it works, and
kills the child's whole process group when its deadline passes or it misbehaves.
`Child`, `Reply`, `RequestAnswer` and `RequestHandler` stay importable from here.

A worker can die under its children (the OOM killer, a user's `kill`); they die with it
(PDEATHSIG, or the end of their PID namespace). A command whose child vanished is then
told apart from a child that crashed by asking whether its worker is gone: a crash leaves
the worker standing. Where a child cannot signal its worker (seccomp, Landlock's signal
scope, a PID namespace or a uid of its own), the loss is the sandbox's, not the code's:
`run` raises `WorkerLost`, and the executor runs that work again on a new worker
(executors/base.py). Where a child could have killed its worker itself, the loss is
charged to the code as `worker_lost`, so that it buys no second try. Each loss is logged
and kept in `WorkerPool.worker_losses`.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import math
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selftaught.inside.messages import Command, ProbeCommand
from selftaught.inside.probe import EXPECTED
from selftaught.sandbox.child_handle import Child, Reply, RequestAnswer, RequestHandler
from selftaught.sandbox.errors import (
    SandboxError,
    SandboxUnavailable,
    UnknownSandboxMode,
    WorkerLost,
    WorkerStartError,
)
from selftaught.sandbox.isolation import (
    LANDLOCK_SCOPE,
    MODES,
    PID_NAMESPACE,
    SECCOMP,
    THREAD_CAP,
    Protection,
    missing_for_strict,
)
from selftaught.sandbox.limits import Limits, worker_environment

__all__ = ["Child", "Reply", "RequestAnswer", "RequestHandler", "SandboxWarning", "WorkerLoss", "WorkerPool"]

log = logging.getLogger(__name__)

SPAWN_ATTEMPTS = 3  # workers tried (a dead one replaced each time) before a spawn gives up
START_ATTEMPTS = 2  # starts of one worker slot, when a start is killed by a signal
KEPT_LOSSES = 100  # the most recent worker losses kept for diagnostics
# Children forked, confined and warmed up ahead of time, shared out over the workers (each about
# 3.4 MB of its own memory, so about 110 MB in all): a burst of candidates to score (30 per meta-utility
# step at the paper's budgets) then finds its children ready, forked while the model was awaited.
POOL_SPARES = 32
# With --speculate a model answer starts up to one improver run per request in flight, each asking
# to score its answers' code blocks (16 x 6 at the paper's budgets): children for such a wave, about
# 330 MB in all, so that it is not scored on children forked while it waits (runs/start.py).
SPECULATIVE_SPARES = 96
# Any one of these keeps a child from signalling its worker: seccomp's signal filter,
# Landlock's signal scope, a PID namespace (the worker has no pid there), or a uid of the
# child's own (the thread cap is applied exactly then).
SIGNAL_CONTAINMENT = (SECCOMP, LANDLOCK_SCOPE, PID_NAMESPACE, THREAD_CAP)


class SandboxWarning(UserWarning):
    """Default mode runs with fewer protections than strict mode would demand."""


class _KilledWhileStarting(WorkerStartError):
    """A worker killed by a signal before it said hello: another start may well succeed."""


@dataclass(frozen=True)
class WorkerLoss:
    """A worker found dead under a running child, and what became of the child's work."""

    worker_pid: int
    child_pid: int
    how: str  # "killed by SIGKILL", "exit status 1", "control socket closed"
    redone: bool  # True: the work runs again; False: charged to the code (a child could have done it)


def _how_it_ended(status: int | None) -> str:
    if status is None:
        return "its control socket closed"
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


class _Worker:
    def __init__(self, scratch_root: str, mode: str, spares: int = 1, start_timeout_s: float = 60.0) -> None:
        self.lock = threading.Lock()
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        os.makedirs(scratch_root, exist_ok=True)
        package_root = str(Path(__file__).resolve().parents[2])
        # the worker's own errors, for a start-up failure's cause; closed in stop()
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "selftaught.sandbox.worker",
                str(theirs.fileno()),
                scratch_root,
                mode,
                str(spares),
            ],  # fmt: skip
            pass_fds=[theirs.fileno()],
            env=worker_environment(package_root),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
            cwd=scratch_root,
            start_new_session=True,
        )
        theirs.close()
        try:
            self.control.settimeout(start_timeout_s)
            hello = json.loads(self.control.recv(65536) or b"{}")
            if not isinstance(hello, dict) or hello.get("op") != "hello":
                raise ValueError("no hello from the worker")
            self.protections = [Protection(**p) for p in hello.get("protections", [])]
        except (OSError, ValueError, TypeError) as exc:
            try:
                self.process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
            cause = self.cause()
            killed = (self.process.returncode or 0) < 0
            self.stop(grace_s=0)
            error = _KilledWhileStarting if killed else WorkerStartError
            raise error(f"sandbox worker did not start: {exc}{cause}") from exc

    def cause(self) -> str:
        """The tail of the worker's stderr and its exit status, as a suffix for an error message."""
        try:
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - 2000))
            tail = self.stderr.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            tail = ""
        status = self.process.poll()
        parts = ([f"exit status {status}"] if status is not None else []) + ([tail] if tail else [])
        return ("; " + "; ".join(parts)) if parts else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def lost(self) -> bool:
        """Whether this worker is dead or dying.

        A worker's descriptors close before the kernel sends its children their death
        signal, so once a child has vanished because its worker died, the control socket
        already reads as hung up, even if the worker is not yet reapable.
        """
        if self.process.poll() is not None:
            return True
        try:
            poller = select.poll()
            poller.register(self.control, select.POLLIN)
            events = poller.poll(0)
        except (OSError, ValueError):  # closed by stop()
            return True
        return any(mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _fd, mask in events)

    def spawn(self, limits: Limits, timeout_s: float, early: bool = False) -> tuple[int, socket.socket, str]:
        request = {"op": "spawn", "limits": limits.to_dict(), **({"early": True} if early else {})}
        with self.lock:
            self.control.settimeout(timeout_s)
            self.control.send(json.dumps(request).encode())
            data, fds, _flags, _addr = socket.recv_fds(self.control, 65536, 1)
        if not data or not fds:
            for fd in fds:
                os.close(fd)
            detail = json.loads(data).get("error", "") if data else "its control socket closed"
            raise WorkerStartError(f"sandbox worker did not hand over a child: {detail}{self.cause()}")
        reply = json.loads(data)
        return int(reply["pid"]), socket.socket(fileno=fds[0]), str(reply["scratch"])

    def fork_spares(self, timeout_s: float) -> None:
        """Tell the worker that work is near: it forks the rest of its spares once spawns pause."""
        with self.lock:
            self.control.settimeout(timeout_s)
            self.control.send(json.dumps({"op": "spares"}).encode())
            self.control.recv(65536)

    def stop(self, grace_s: float = 2.0) -> None:
        """Close the control socket (the worker then kills its children and exits); kill it if slow."""
        try:
            self.control.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # its children die with it (PDEATHSIG)
            except OSError:
                pass
            self.process.kill()
            self.process.wait()
        self.stderr.close()


@dataclass
class _PooledChild(Child):
    """A child that knows its worker: a command it failed because the worker died is not its failure."""

    worker: _Worker | None = field(default=None, repr=False, compare=False)
    pool: WorkerPool | None = field(default=None, repr=False, compare=False)

    def run(
        self,
        command: Command | dict[str, Any] | bytes | None,
        wall_s: float | None = None,
        on_request: RequestHandler | None = None,
        since: float | None = None,
    ) -> Reply:
        was_alive = self.alive
        reply = super().run(command, wall_s, on_request, since)
        if reply.ok or reply.error_kind != "crashed" or not was_alive or self.pool is None:
            return reply
        return self.pool._after_crash(self, reply)


def _stop_all(workers: list[_Worker | None]) -> None:
    """Close every control socket first, so that the workers wind down at the same time."""
    stopping = [w for w in workers if w is not None]
    workers[:] = [None] * len(workers)
    for worker in stopping:
        try:
            worker.control.close()
        except OSError:
            pass
    for worker in stopping:
        worker.stop()


class WorkerPool:
    """Long-lived sandbox workers; `spawn` forks a fresh child in one of them.

    `mode="default"` applies every protection this machine gives and warns (SandboxWarning)
    naming those it lacks; `mode="strict"` raises `SandboxUnavailable` unless network,
    filesystem, process and signal isolation are all in force, checked by a live probe
    child. Workers that die or hang are replaced; `close()` (or the end of the program)
    kills every process the pool started. `spares`: children kept forked ahead, over all the
    workers; each worker forks a few at start and the rest once work begins, at the first
    spawn or, with `hold_spares`, at `release_spares()`.
    """

    def __init__(
        self,
        n_workers: int | None = None,
        scratch_root: str | None = None,
        mode: str = "default",
        spawn_timeout_s: float = 20.0,
        on_warning: Callable[[str], None] | None = None,
        spares: int | None = None,
        hold_spares: bool = False,
    ) -> None:
        if mode not in MODES:
            raise UnknownSandboxMode(f"unknown sandbox mode {mode!r} (use {' or '.join(MODES)})")
        self.mode = mode
        self.n_workers = n_workers or max(1, min(os.cpu_count() or 1, 4))
        self.spares = spares or POOL_SPARES  # children kept forked ahead, over all the workers
        self._holding_spares = hold_spares  # until release_spares(), spawns do not start the rest
        self.spawn_timeout_s = spawn_timeout_s
        self._scratch_root = scratch_root or tempfile.mkdtemp(prefix="selftaught-sandbox-")
        os.makedirs(self._scratch_root, exist_ok=True)
        os.chmod(self._scratch_root, 0o711)
        self._workers: list[_Worker | None] = [None] * self.n_workers
        self._next = itertools.count()
        self._lock = threading.Lock()
        self._closed = False
        self._finalizer = weakref.finalize(self, _stop_all, self._workers)
        self.protections: list[Protection] = []
        self.worker_losses: collections.deque[WorkerLoss] = collections.deque(maxlen=KEPT_LOSSES)
        self.workers_lost = 0  # losses under a running child, all told
        self._on_warning = on_warning
        try:
            self._start_workers()
            self._check_protections()
        except BaseException:
            self.close()
            raise

    def _start_workers(self) -> None:
        """Start every worker at once: each is an interpreter start and a numpy import, so in
        parallel the pool is ready in the time of one, and no later spawn waits for a start."""
        failures: list[BaseException] = []

        def start(index: int) -> None:
            try:
                self._workers[index] = self._start_worker(index)
            except BaseException as exc:  # noqa: BLE001 - raised below, in the caller's thread
                failures.append(exc)

        threads = [threading.Thread(target=start, args=(i,), daemon=True) for i in range(self.n_workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]

    def _check_protections(self) -> None:
        """Probe a child of the first worker, and hold the mode to what it found."""
        worker = self._worker()
        found = {p.name: p for p in worker.protections}
        with self._spawn(Limits(wall_s=30), probe=True) as child:
            reply = child.run(ProbeCommand())
        report = reply.value if reply.ok and isinstance(reply.value, dict) else {}
        applied = set(report.get("applied", []))
        checks = report.get("checks", {})
        for name, protection in list(found.items()):
            failed = [c for c in EXPECTED.get(name, ()) if not checks.get(c, False)]
            if protection.available and (name not in applied or failed):
                why = f"live check failed: {', '.join(failed)}" if failed else "not applied in a child"
                found[name] = Protection(name, False, why)
        self.protections = list(found.values())
        missing = missing_for_strict(self.protections)
        if self.mode == "strict" and missing:
            raise SandboxUnavailable("strict sandbox unavailable: " + "; ".join(missing))
        unavailable = [p.name for p in self.protections if not p.available]
        if unavailable and self._on_warning is not None:
            self._on_warning("sandbox runs without: " + ", ".join(unavailable) + " (see `selftaught doctor`)")
        elif unavailable:
            warnings.warn(
                "sandbox runs without: " + ", ".join(unavailable) + " (see `selftaught doctor`)",
                SandboxWarning,
                stacklevel=3,
            )

    def _worker(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise SandboxError("worker pool is closed")
            index = next(self._next) % self.n_workers
            worker = self._workers[index]
            if worker is None or worker.lost():
                if worker is not None:
                    worker.stop(grace_s=0)
                try:
                    worker = self._start_worker(index)
                except _KilledWhileStarting as exc:  # killed like the one it replaces: a loss, not a fault
                    raise WorkerLost(f"new sandbox workers were killed while starting: {exc}") from exc
                if self.mode == "strict" and self.protections and missing_for_strict(worker.protections):
                    worker.stop(grace_s=0)  # a replacement must hold to the same mode
                    raise SandboxUnavailable("a new sandbox worker lacks strict-mode protections")
                self._workers[index] = worker
            return worker

    def _start_worker(self, index: int) -> _Worker:
        """A new worker for slot `index`; a start killed by a signal is tried again."""
        for attempt in range(START_ATTEMPTS):
            try:
                spares = math.ceil(self.spares / self.n_workers)
                return _Worker(os.path.join(self._scratch_root, f"worker-{index}"), self.mode, spares)
            except _KilledWhileStarting:
                if attempt + 1 == START_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def spawn(self, limits: Limits | None = None) -> Child:
        """Fork a sandboxed child with `limits`; a dead or hung worker is replaced (SPAWN_ATTEMPTS tries).

        Raises `WorkerLost` if the last worker tried died under the request, or replacements
        were killed while starting (the caller may redo its work), `WorkerStartError` if a
        worker hangs or cannot be started.
        """
        return self._spawn(limits or Limits(), probe=False)

    def _spawn(self, limits: Limits, *, probe: bool) -> Child:
        """`spawn`; a `probe`'s child (the pool's own live check) does not start a worker's full
        top-up of spares (sandbox/worker.py, EARLY_SPARES), nor does any spawn while they are held."""
        for attempt in range(SPAWN_ATTEMPTS):
            worker = self._worker()
            try:
                early = probe or self._holding_spares
                pid, sock, scratch = worker.spawn(limits, self.spawn_timeout_s, early=early)
                return _PooledChild(
                    pid=pid, sock=sock, scratch=scratch, limits=limits, worker=worker, pool=self
                )
            except (OSError, WorkerStartError, ValueError) as exc:
                lost = worker.lost()
                worker.stop(grace_s=0)
                if attempt + 1 < SPAWN_ATTEMPTS:
                    continue
                if lost:
                    raise WorkerLost(
                        f"sandbox worker {worker.process.pid} died while handing out a child: {exc}"
                    ) from exc
                if isinstance(exc, WorkerStartError):
                    raise
                raise WorkerStartError(f"sandbox worker failed to spawn a child: {exc}") from exc
        raise AssertionError("unreachable")

    def release_spares(self) -> None:
        """Let the workers fork the rest of their spares (a pool started with `hold_spares`).

        A run holds them while its model client starts (the OpenAI SDK's host imports for
        about 0.5 s of CPU): no answer can come before the client is up, so spares forked
        then would only take the cores from it (runs/start.py). A worker that does not take
        the message is left as it is: it is replaced at the next spawn, and forks its spares then.
        """
        with self._lock:
            if self._closed or not self._holding_spares:
                return
            self._holding_spares = False
            workers = [w for w in self._workers if w is not None]
        for worker in workers:
            try:
                worker.fork_spares(self.spawn_timeout_s)
            except OSError:
                pass

    def redoes_lost_work(self) -> bool:
        """Whether a lost worker's work runs again: only where no child can have killed its worker."""
        return any(p.available and p.name in SIGNAL_CONTAINMENT for p in self.protections)

    def _after_crash(self, child: _PooledChild, reply: Reply) -> Reply:
        """`reply` is a crash: the child's own (kept), or its worker's death (raised, or charged)."""
        worker = child.worker
        if worker is None or not worker.lost():
            return reply
        with self._lock:
            if self._closed:  # the pool's own close killed it
                return reply
            redone = self.redoes_lost_work()
            loss = WorkerLoss(worker.process.pid, child.pid, _how_it_ended(worker.process.poll()), redone)
            self.worker_losses.append(loss)
            self.workers_lost += 1
        what = f"sandbox worker {loss.worker_pid} was lost ({loss.how}) while child {loss.child_pid} worked"
        if redone:
            log.info("%s; its work runs again on a new worker", what)
            raise WorkerLost(what)
        log.warning("%s; charged to the code, since a child here could have killed its worker", what)
        return Reply(
            False,
            error_kind="worker_lost",
            error=f"{what} (without seccomp, Landlock's signal scope, a PID namespace or a uid of its "
            "own, a child can kill its worker, so the loss counts as the code's)",
            elapsed_s=reply.elapsed_s,
        )

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for tests and diagnostics)."""
        return [w.process.pid for w in self._workers if w is not None and w.alive()]

    def close(self) -> None:
        """Stop every worker (they kill their remaining children) and remove scratch space."""
        with self._lock:
            self._closed = True
        self._finalizer()
        shutil.rmtree(self._scratch_root, ignore_errors=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
