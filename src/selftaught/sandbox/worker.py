"""A long-lived worker process that forks one sandboxed child per piece of model-written code.

The worker runs no model-written code itself. It starts once with a clean environment,
isolates itself (`isolation.Confinement`), preloads numpy and everything a child needs
(so a child costs a fork, not an interpreter start or a single file read), says which
protections it has in a "hello" message, then answers "spawn" requests on a
SOCK_SEQPACKET control socket. It keeps its share of pool.POOL_SPARES children forked and
confined ahead of time (spares waiting for their limits), forked only once spawns have
paused for QUIET_S: a burst of scorings (every candidate of an answer at once) then costs
a message per child, and the forks and confinement (about 6 ms of CPU a child) were done
while the machine waited for the model. It hands the orchestrator one end of the child's
socket pair (SCM_RIGHTS), so the orchestrator then talks to the child directly. Exited
children are reaped and their scratch removed; processes it adopted as a subreaper (which
only exist where seccomp is missing) are killed.
"""

from __future__ import annotations

import gc
import json
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass

from selftaught.inside.child import serve, warm_up
from selftaught.inside.protocol import recv_message, send_message
from selftaught.sandbox.cgroup import MemoryCgroups
from selftaught.sandbox.isolation import RLIMITS, STRICT_EXIT, Confinement
from selftaught.sandbox.limits import Limits, reset_child_environment


def _child_main(
    sock: socket.socket, scratch: str, scratch_bytes: int, confinement: Confinement, cgroup: str | None
) -> None:
    """Runs in the forked child: confine, wait to be handed out, serve commands. Never returns.

    A child that cannot start says why, as the answer to the first command it gets,
    before it exits; the orchestrator records that cause (error kind `start_error`).
    """
    code = STRICT_EXIT
    step = "confinement"
    try:
        os.setpgid(0, 0)
        reset_child_environment(scratch)
        host_pid = _recv_host_pid(sock)
        applied = confinement.confine_child(sock.fileno(), scratch, scratch_bytes, host_pid, cgroup)
        code, step = 1, "limits"
        log = os.open("output.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(devnull)
        step = "warm-up"
        warm_up()  # first-use costs paid while this child waits to be handed out
        step = "limits"
        setup = recv_message(sock)  # the worker sends the limits when it hands this child out
        confinement.limit_child(setup["limits"])
        applied.append(RLIMITS)
        step = "serving"
        serve(sock, {"mode": confinement.mode, "applied": applied, "uid": os.getuid()})
        code = 0
    except BaseException as exc:  # noqa: BLE001 - the child must never fall back into the worker loop
        if step != "serving":
            cause = f"sandbox child failed in {step}: {exc.__class__.__name__}: {exc}"
            _report_start_failure(sock, cause, wait_for_limits=step == "confinement")
    finally:
        os._exit(code)


def _recv_host_pid(sock: socket.socket) -> int:
    """The child's pid as its worker sees it, which the worker sends right after the fork."""
    data = b""
    while len(data) < _PID_BYTES:
        chunk = sock.recv(_PID_BYTES - len(data))
        if not chunk:
            raise OSError("the worker closed the socket before sending the child's pid")
        data += chunk
    return int.from_bytes(data, "little")


_PID_BYTES = 4
QUIET_S = 0.05  # spares are forked once no spawn has come for this long (not during a burst)
# Spares forked before work begins: the rest are forked once it has (the first spawn not marked
# "early", or a "spares" message from the pool), so that they do not take the cores from the run's
# own start (the orchestrator's imports, the OpenAI SDK's host) and are ready for the first wave of
# scorings all the same. The pool marks its live probe early, and every spawn of a run whose model
# client is still starting (WorkerPool's hold_spares).
EARLY_SPARES = 2
# Stopped children (done with, `Child.close`) a worker leaves for a pause in spawns, at most: more,
# or more of their own memory than this, are killed at once.
MAX_DEFERRED = 16
MAX_DEFERRED_BYTES = 256 * 1024 * 1024
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def _private_bytes(pid: int) -> int:
    """About what a child holds of its own: resident pages less those it shares (statm)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            fields = statm.read().split()
        return max(0, int(fields[1]) - int(fields[2])) * _PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def _report_start_failure(sock: socket.socket, cause: str, wait_for_limits: bool) -> None:
    """Best effort: answer the first command with why this child could not start.

    A spare that failed before it was handed out waits for its limits first (it dies with
    its worker meanwhile), so that the worker hands it out and the cause reaches the caller.
    """
    try:
        if wait_for_limits:
            recv_message(sock)
        failure = {"type": "result", "ok": False, "error_kind": "start_error", "error": cause[-2000:]}
        send_message(sock, failure)
    except BaseException:  # noqa: BLE001 - nothing more can be said
        pass


@dataclass
class _Spare:
    """A child forked ahead of time, waiting for its limits: forking is off the critical path."""

    pid: int
    sock: socket.socket
    scratch: str
    scratch_bytes: int
    cgroup: str | None = None  # its memory cgroup, where there are some
    memory_bytes: int = 0  # that cgroup's limit


class _Children:
    """The worker's children: forked, reaped, and cleaned up after."""

    def __init__(
        self, scratch_root: str, confinement: Confinement, control: socket.socket, spares: int = 1
    ) -> None:
        self.scratch_root = scratch_root
        self.spares_kept = max(1, spares)
        self.started = False  # whether work has begun: the rest of the spares may be forked
        self.confinement = confinement
        self.control = control
        self.live: dict[int, str] = {}
        self.cgroups: dict[int, str] = {}  # a live child's memory cgroup
        self.spares: deque[_Spare] = deque()  # oldest first
        self.stopped: dict[int, int] = {}  # children the orchestrator is done with -> their own bytes
        self.scratch_bytes = Limits().scratch_bytes  # the size the next spare's scratch gets
        self.memory_bytes = Limits().memory_bytes  # the memory cgroup limit the next spare gets

    def fork(self) -> _Spare:
        scratch = tempfile.mkdtemp(prefix="child-", dir=self.scratch_root)
        cgroups = self.confinement.cgroups
        cgroup = None
        if cgroups is not None:
            try:
                cgroup = cgroups.create(self.memory_bytes)
            except OSError:
                pass  # this child goes without; the bound is its address space plus its scratch
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            self.control.close()
            parent_end.close()
            for spare in self.spares:  # a child holds no other child's socket
                spare.sock.close()
            _child_main(child_end, scratch, self.scratch_bytes, self.confinement, cgroup)
        child_end.close()
        if cgroup is not None:
            self.cgroups[pid] = cgroup
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child already did it, or already exited
        try:
            parent_end.send(pid.to_bytes(_PID_BYTES, "little"))
        except OSError:
            pass  # it already exited; reaped below
        self.live[pid] = scratch
        return _Spare(pid, parent_end, scratch, self.scratch_bytes, cgroup, self.memory_bytes)

    @property
    def spares_wanted(self) -> int:
        """`spares_kept` once work has begun; until then at most EARLY_SPARES."""
        return self.spares_kept if self.started else min(self.spares_kept, EARLY_SPARES)

    def top_up(self) -> None:
        """Fork one more spare, if fewer than wanted wait (the caller does so only while idle)."""
        if len(self.spares) < self.spares_wanted:
            self.spares.append(self.fork())

    def _drop_spares(self) -> None:
        while self.spares:
            spare = self.spares.popleft()
            spare.sock.close()
            _kill(spare.pid)

    def hand_out(self, limits: dict) -> _Spare:
        """The oldest spare (or a fresh child) with its limits sent; new spares are forked when idle."""
        scratch_bytes = int(limits.get("scratch_bytes", self.scratch_bytes))
        if scratch_bytes != self.scratch_bytes:  # their scratch is the wrong size: fork afresh
            self.scratch_bytes = scratch_bytes
            self._drop_spares()
        memory_bytes = int(limits.get("memory_bytes", self.memory_bytes))
        self.memory_bytes = memory_bytes
        for _ in range(2):
            child = self.spares.popleft() if self.spares else self.fork()
            try:
                cgroups = self.confinement.cgroups
                if cgroups is not None and child.cgroup is not None and child.memory_bytes != memory_bytes:
                    cgroups.set_limit(child.cgroup, memory_bytes)
                send_message(child.sock, {"limits": limits})
                return child
            except OSError:  # the spare died while it waited
                child.sock.close()
                _kill(child.pid)
        raise OSError("could not start a child")

    def reap(self, kill_stopped: bool = False) -> None:
        """Clean up after exited children; with `kill_stopped`, first kill the ones the orchestrator
        stopped when it was done with them (their teardown waits for a pause in spawns)."""
        if kill_stopped:
            self.kill_stopped()
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._cleaned(pid)

    def _cleaned(self, pid: int) -> None:
        """Remove what an exited child leaves: its memory cgroup, its scratch, its place as a spare."""
        self.stopped.pop(pid, None)  # never signal a pid that may be reused
        scratch = self.live.pop(pid, None)
        cgroup = self.cgroups.pop(pid, None)
        if cgroup is not None:
            MemoryCgroups.remove(cgroup)
        if scratch:
            try:
                os.rmdir(scratch)  # its files lived on a tmpfs that went with it
            except OSError:
                shutil.rmtree(scratch, ignore_errors=True)
        for spare in [spare for spare in self.spares if spare.pid == pid]:  # died while waiting
            spare.sock.close()
            self.spares.remove(spare)

    def collect_stopped(self) -> None:
        """Note the children the orchestrator stopped since the last look (`Child.close`); clean up
        after the ones that exited."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG | os.WUNTRACED)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if os.WIFSTOPPED(status):
                self.stopped[pid] = _private_bytes(pid)  # read once: a stopped child does not grow
            else:
                self._cleaned(pid)

    def kill_stopped(self) -> None:
        """Kill every stopped child (their teardown now, while spawns pause); reaped by `reap`."""
        self.collect_stopped()
        for pid in self.stopped:
            _kill(pid)
        self.stopped.clear()

    def bound_stopped(self) -> None:
        """During a burst: kill stopped children at once beyond MAX_DEFERRED of them or
        MAX_DEFERRED_BYTES of their own memory (a stopped child keeps what it allocated)."""
        self.collect_stopped()
        total = sum(self.stopped.values())
        for pid, size in sorted(self.stopped.items(), key=lambda item: -item[1]):  # the largest first
            if len(self.stopped) <= MAX_DEFERRED and total <= MAX_DEFERRED_BYTES:
                break
            _kill(pid)
            del self.stopped[pid]
            total -= size

    def adopted(self) -> list[int]:
        """Live children this worker did not fork itself (orphans it adopted as subreaper)."""
        namespace = self.confinement.namespace
        if namespace is not None:  # orphans in the PID namespace go to its init
            return [pid for pid in namespace.worker_children() if pid not in self.live]
        found: list[int] = []
        try:
            for tid in os.listdir("/proc/self/task"):
                with open(f"/proc/self/task/{tid}/children") as f:
                    found += [int(pid) for pid in f.read().split() if int(pid) not in self.live]
        except OSError:
            pass
        return found

    def kill_all(self) -> None:
        for pid in [*self.live, *self.adopted()]:
            _kill(pid)
        for _ in range(1000):  # at most 2 s; a killed child is usually reaped within a millisecond
            self.reap()
            if not self.live:
                break
            select.select([], [], [], 0.002)


def serve_control(
    control: socket.socket, scratch_root: str, confinement: Confinement, spares: int = 1
) -> None:
    """Answer spawn requests until the control socket closes, then kill every child."""
    children = _Children(scratch_root, confinement, control, spares)
    children.top_up()
    last_spawn = 0.0
    while True:
        quiet_for = time.monotonic() - last_spawn
        short = len(children.spares) < children.spares_wanted
        ready, _, _ = select.select([control], [], [], max(0.0, QUIET_S - quiet_for) if short else 0.2)
        if not ready:  # no spawn for a while: kill stopped children, reap, check for orphans, fork a spare
            children.reap(kill_stopped=True)
            if not short:
                for pid in children.adopted():
                    _kill(pid)
            children.top_up()
            continue
        last_spawn = time.monotonic()
        data = control.recv(65536)
        if not data:
            break
        request = json.loads(data)
        if request.get("op") == "spares":  # work is near: fork the rest of the spares once spawns pause
            children.started = True
            control.send(json.dumps({"ok": True}).encode())
            continue
        if request.get("op") != "spawn":
            control.send(json.dumps({"ok": False, "error": "unknown op"}).encode())
            continue
        try:
            child = children.hand_out(request["limits"])
            children.started = children.started or not request.get("early")
        except OSError as exc:
            control.send(json.dumps({"ok": False, "error": str(exc)}).encode())
            children.reap()
            continue
        reply = json.dumps({"ok": True, "pid": child.pid, "scratch": child.scratch}).encode()
        socket.send_fds(control, [reply], [child.sock.fileno()])
        child.sock.close()
        # The spawn is answered. With no spare left, one is forked now (spawns one after another
        # then never wait for a fork); the others, and reaping, wait until spawns pause.
        if not children.spares:
            children.top_up()
            children.reap()
        children.bound_stopped()
    children.kill_all()
    if confinement.cgroups is not None:
        confinement.cgroups.close()
    shutil.rmtree(scratch_root, ignore_errors=True)
    try:
        os.rmdir(os.path.dirname(scratch_root))  # the pool's root, if the orchestrator died
    except OSError:
        pass  # not empty: other workers still use it, or it is not ours to remove


def _kill(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except OSError:
            pass


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    scratch_root = sys.argv[2]
    mode = sys.argv[3] if len(sys.argv) > 3 else "default"
    spares = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    os.chmod(scratch_root, 0o711)  # children with a uid of their own must reach their scratch
    confinement = Confinement.set_up(mode, scratch_root)  # before any import starts a thread

    import numpy  # preloaded so that each forked child starts warm
    import numpy.random  # noqa: F401 - numpy imports it lazily; every seeded child uses it (15-30 ms)

    import selftaught.inside.helpers  # noqa: F401

    gc.freeze()  # keep the preloaded heap out of the collector: fewer copied pages per child
    hello = {
        "op": "hello",
        "pid": os.getpid(),
        "protections": [p.to_dict() for p in confinement.protections.values()],
    }
    control.send(json.dumps(hello).encode())
    serve_control(control, scratch_root, confinement, spares)
    sys.stderr.flush()
    os._exit(0)  # everything is cleaned up: skip tearing down the preloaded heap (tens of ms)


if __name__ == "__main__":
    main()
