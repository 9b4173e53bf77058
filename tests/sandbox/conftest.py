"""Fixtures for the sandbox's tests: a strict and a default pool, a loopback listener, an escape check.

Every hostile program runs through `Hostile.run`, which remembers the child it ran in.
After each test, `escapes()` says what got out: a process still running under one of those
children's uids (a child that forked and survived its kill), a file carrying the test's
token outside scratch, a connection or datagram that reached the listener, a secret in a
reply.
"""

from __future__ import annotations

import glob
import os
import socket
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from selftaught.sandbox.errors import SandboxUnavailable
from selftaught.sandbox.isolation import THREAD_CAP, UID_BASE, Protection, missing_for_strict
from selftaught.sandbox.limits import Limits
from selftaught.sandbox.pool import Reply, SandboxWarning, WorkerPool

ROOT = Path(__file__).resolve().parents[2]
SECRET = f"sk-selftaught-test-{uuid.uuid4().hex}"


# Tests that need a uid per child, which only root can give; an ordinary user's pool lacks them.
ROOT_ONLY = {
    "test_thread_bomb_is_capped": "the thread cap needs a uid per child (root)",
    "test_the_children_run_under_a_uid_of_their_own": "a uid per child needs root",
}


@pytest.fixture(scope="session")
def strict_pool():
    """A strict-mode pool; skips (naming what the kernel lacks) where strict mode cannot run.

    As an ordinary user strict mode refuses for want of a uid per child (the thread cap)
    alone; there the pool is a default-mode one that must hold every other strict-mode
    protection, so that the adversarial suite runs for non-root users too (the tests that
    need a uid per child are skipped, see ROOT_ONLY).
    """
    try:
        pool = WorkerPool(2, mode="strict")
    except SandboxUnavailable as exc:
        if os.geteuid() == 0:
            pytest.skip(f"needs strict sandbox features this machine lacks: {exc}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SandboxWarning)
            pool = WorkerPool(2, mode="default")
        waived = Protection(THREAD_CAP, True, "waived for an ordinary user")
        lacking = missing_for_strict([waived if p.name == THREAD_CAP else p for p in pool.protections])
        if lacking:
            pool.close()
            pytest.skip(f"needs strict sandbox features this machine lacks: {'; '.join(lacking)}")
    with pool:
        yield pool


@pytest.fixture(scope="session")
def default_pool():
    """A default-mode pool: what most users get, as whichever user runs the tests (root or not)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SandboxWarning)
        pool = WorkerPool(2, mode="default")
    with pool:
        yield pool


class Listener:
    """A TCP and a UDP socket on 127.0.0.1 that a hostile program may try to reach."""

    def __init__(self) -> None:
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(8)
        self.tcp.setblocking(False)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.setblocking(False)
        self.tcp_port = self.tcp.getsockname()[1]
        self.udp_port = self.udp.getsockname()[1]

    def heard(self) -> list[str]:
        """What reached the listener (nothing, if the sandbox held)."""
        heard = []
        try:
            conn, addr = self.tcp.accept()
            conn.close()
            heard.append(f"tcp connection from {addr}")
        except BlockingIOError:
            pass
        try:
            data, addr = self.udp.recvfrom(65536)
            heard.append(f"udp datagram {data[:40]!r} from {addr}")
        except BlockingIOError:
            pass
        return heard

    def close(self) -> None:
        self.tcp.close()
        self.udp.close()


@dataclass
class Hostile:
    """Runs hostile programs and keeps what is needed to check that nothing escaped."""

    pool: WorkerPool
    listener: Listener
    token: str
    outside: Path
    pids: list[int] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)

    def fill(self, source: str) -> str:
        """Fill the placeholders a hostile source may use."""
        return (
            source.replace("TOKEN", self.token)
            .replace("OUTSIDE", str(self.outside))
            .replace("TCP_PORT", str(self.listener.tcp_port))
            .replace("UDP_PORT", str(self.listener.udp_port))
            .replace("ORCHESTRATOR_PID", str(os.getpid()))
            .replace("REPO_ROOT", str(ROOT))
        )

    def run(self, source: str, *args: object, wall_s: float = 10.0, limits: Limits | None = None) -> Reply:
        """Load `source` in a fresh child and call its `algorithm(*args)`; the load's reply if it fails."""
        with self.pool.spawn(limits or Limits(wall_s=wall_s)) as child:
            self.pids.append(child.pid)
            reply = child.run({"op": "load", "source": self.fill(source)}, wall_s=wall_s)
            if reply.ok:
                reply = child.run({"op": "call", "args": list(args)}, wall_s=wall_s)
        self.replies.append(reply)
        return reply

    def escapes(self) -> list[str]:
        """Everything that got out of the sandbox during the test."""
        found = [f"listener heard {what}" for what in self.listener.heard()]
        uids = {UID_BASE + pid for pid in self.pids}
        deadline = time.monotonic() + 5
        while True:
            survivors = [pid for pid, uid in _process_uids() if uid in uids]
            if not survivors or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        found += [f"process {pid} outlived its child" for pid in survivors]
        patterns = [f"/tmp/*{self.token}*", f"{self.outside}/**", f"{ROOT}/*{self.token}*"]
        found += [f"file written outside scratch: {path}" for p in patterns for path in glob.glob(p)]
        found += [f"a reply holds the secret: {r}" for r in self.replies if SECRET in repr(r)]
        return found


def _process_uids() -> list[tuple[int, int]]:
    """(pid, real uid) of every process, zombies excluded (they are dead, waiting to be reaped)."""
    result = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        if fields.get("State", "").strip().startswith("Z"):
            continue
        result.append((int(name), int(fields["Uid"].split()[0])))
    return result


@pytest.fixture
def listener():
    heard = Listener()
    yield heard
    heard.close()


@pytest.fixture
def hostile(strict_pool, listener, tmp_path, monkeypatch):
    """A `Hostile` runner on the strict pool, with a secret in the orchestrator's environment;
    the test fails if anything escaped."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    outside = tmp_path / "outside"
    outside.mkdir()
    runner = Hostile(strict_pool, listener, uuid.uuid4().hex[:12], outside)
    yield runner
    assert runner.escapes() == []


@pytest.fixture
def default_hostile(default_pool, listener, tmp_path, monkeypatch):
    """A `Hostile` runner on the default-mode pool (root or not, as the tests run); the test
    fails if anything escaped."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    outside = tmp_path / "outside"
    outside.mkdir()
    runner = Hostile(default_pool, listener, uuid.uuid4().hex[:12], outside)
    yield runner
    assert runner.escapes() == []


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "nonroot: the kernel protections as the tests' user (.ci/nonroot-tests runs them unprivileged)",
    )


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    for item in items:
        reason = ROOT_ONLY.get(item.originalname)
        if reason is not None and item.path.parent == Path(__file__).parent:
            item.add_marker(pytest.mark.skip(reason=f"as an ordinary user: {reason}"))
