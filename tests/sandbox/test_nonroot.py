"""Hostile programs against default mode, as whichever user runs the tests: root, or an
ordinary user (most users run so; `.ci/nonroot-tests` runs this file as one).

Without a uid of its own a child runs as the user who started the run, so the kernel's
own permission checks stop nothing the user could do: it is the seccomp filter and the PID
namespace that keep a child off the user's other processes (the orchestrator's limits,
priority, affinity), off file metadata that Landlock does not cover (modes, owners, times,
extended attributes) and off what the host does (inotify, the machine's pids). As root the
same filter closes the weaker channel of times and `user.*` attributes on world-writable
files, which would outlive the run. Each test checks the outcome inside the child and,
where it can, the state outside afterwards.
"""

from __future__ import annotations

import os
import resource
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from selftaught.sandbox.limits import Limits
from selftaught.sandbox.pool import WorkerPool

pytestmark = pytest.mark.nonroot

ROOT = os.geteuid() == 0
AS_WHOM = "root" if ROOT else "an ordinary user"

ATTEMPT = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def call(result):
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result
def attempt(action):
    try:
        value = action()
    except BaseException as exc:
        return "denied: " + type(exc).__name__ + ": " + str(exc)[:80]
    return "ALLOWED: " + repr(value)[:80]
"""


def needs_protection(pool: WorkerPool, *names: str) -> None:
    """Skip, naming what is missing and why, unless every protection in `names` is in force."""
    found = {p.name: p for p in pool.protections}
    missing = [
        f"{name} ({found[name].detail if name in found else 'not probed'})"
        for name in names
        if not (name in found and found[name].available)
    ]
    if missing:
        pytest.skip(f"as {AS_WHOM}, this machine gives no " + ", ".join(missing))


def _all_denied(reply) -> dict:
    assert reply.ok, reply.error
    allowed = {name: result for name, result in reply.value.items() if not result.startswith("denied")}
    assert allowed == {}, f"as {AS_WHOM}"
    return reply.value


def test_a_child_cannot_lower_the_orchestrators_limits(default_hostile):
    needs_protection(default_hostile.pool, "seccomp filter")
    before = {which: resource.getrlimit(which) for which in (resource.RLIMIT_CPU, resource.RLIMIT_NOFILE)}
    workers = default_hostile.pool.worker_pids()
    source = (
        ATTEMPT
        + f"""
import resource
def algorithm():
    outcome = {{
        "RLIMIT_CPU of the orchestrator": attempt(
            lambda: resource.prlimit(ORCHESTRATOR_PID, resource.RLIMIT_CPU, (1, 1))),
        "RLIMIT_NOFILE of the orchestrator": attempt(
            lambda: resource.prlimit(ORCHESTRATOR_PID, resource.RLIMIT_NOFILE, (3, 3))),
        "read the orchestrator's limits": attempt(
            lambda: resource.prlimit(ORCHESTRATOR_PID, resource.RLIMIT_CPU)),
        "pid 1": attempt(lambda: resource.prlimit(1, resource.RLIMIT_CPU, (1, 1))),
    }}
    for pid in {workers!r}:
        outcome[f"worker {{pid}}"] = attempt(lambda: resource.prlimit(pid, resource.RLIMIT_CPU, (1, 1)))
    return outcome
"""
    )
    _all_denied(default_hostile.run(source))
    after = {which: resource.getrlimit(which) for which in before}
    assert after == before
    assert default_hostile.pool.worker_pids() == workers
    # its own limits stay its own to lower (Python and numpy use setrlimit/prlimit on pid 0)
    own = "import resource\ndef algorithm():\n    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))\n"
    own += "    return resource.prlimit(0, resource.RLIMIT_NOFILE)\n"
    assert default_hostile.run(own).value == [64, 64]


def test_a_child_cannot_renice_repin_or_reschedule_other_processes(default_hostile):
    needs_protection(default_hostile.pool, "seccomp filter")
    priority = os.getpriority(os.PRIO_PROCESS, 0)
    affinity = os.sched_getaffinity(0)
    source = (
        ATTEMPT
        + f"""
import os
ORCH = ORCHESTRATOR_PID
def algorithm():
    return {{
        "renice the orchestrator": attempt(lambda: os.setpriority(os.PRIO_PROCESS, ORCH, 19)),
        "renice every process of the user": attempt(lambda: os.setpriority(os.PRIO_USER, 0, 19)),
        "renice the user by uid": attempt(lambda: os.setpriority(os.PRIO_USER, {os.getuid()}, 19)),
        "renice the orchestrator's group": attempt(lambda: os.setpriority(os.PRIO_PGRP, {os.getpgrp()}, 19)),
        "read another's priority": attempt(lambda: os.getpriority(os.PRIO_PROCESS, ORCH)),
        "pin the orchestrator": attempt(lambda: os.sched_setaffinity(ORCH, {{0}})),
        "read its affinity": attempt(lambda: os.sched_getaffinity(ORCH)),
        "make it SCHED_IDLE": attempt(lambda: os.sched_setscheduler(ORCH, os.SCHED_IDLE, os.sched_param(0))),
        "sched_setparam": attempt(lambda: os.sched_setparam(ORCH, os.sched_param(0))),
        "sched_setattr": attempt(lambda: call(libc.syscall(314, ORCH, ctypes.create_string_buffer(56), 0))),
        "ioprio of the orchestrator": attempt(lambda: call(libc.syscall(251, 1, ORCH, (3 << 13)))),
        "ioprio of the user": attempt(lambda: call(libc.syscall(251, 3, 0, (3 << 13)))),
        "its session": attempt(lambda: os.getsid(ORCH)),
        "its group": attempt(lambda: os.getpgid(ORCH)),
    }}
"""
    )
    _all_denied(default_hostile.run(source))
    assert os.getpriority(os.PRIO_PROCESS, 0) == priority
    assert os.sched_getaffinity(0) == affinity
    own = (
        "import os\ndef algorithm():\n    os.nice(1)\n    os.sched_setaffinity(0, os.sched_getaffinity(0))\n"
    )
    own += "    return os.getpriority(os.PRIO_PROCESS, 0)\n"
    reply = default_hostile.run(own)
    assert reply.ok and reply.value >= 1  # its own priority stays its own to lower


@pytest.fixture
def files_outside(tmp_path):
    """A private file and folder and a run store (0600/0700, the test user's own), and a
    world-writable file in a world-readable folder, as a channel between runs would use."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    secret = private / "notes.txt"
    secret.write_text("private")
    secret.chmod(0o600)
    store = tmp_path / "store.db"
    store.write_text("SQLite format 3")
    store.chmod(0o600)
    shared_dir = Path(tempfile.mkdtemp(prefix="selftaught-shared-"))
    shared_dir.chmod(0o755)
    shared = shared_dir / "world-writable"
    shared.write_text("")
    shared.chmod(0o666)
    try:
        os.setxattr(shared, "user.before", b"1")
    except OSError:
        pass  # a file system without user attributes: the child's attempts are checked all the same
    paths = {"private": private, "secret": secret, "store": store, "shared": shared}
    yield paths
    shutil.rmtree(shared_dir, ignore_errors=True)


def _metadata(path: Path) -> tuple:
    found = os.stat(path)
    try:
        attributes = sorted(os.listxattr(path))
    except OSError:
        attributes = []
    return (stat.S_IMODE(found.st_mode), found.st_uid, found.st_gid, found.st_mtime_ns, attributes)


def test_a_child_cannot_change_modes_owners_times_or_attributes_outside_scratch(
    default_hostile, files_outside
):
    needs_protection(default_hostile.pool, "seccomp filter")
    before = {name: _metadata(path) for name, path in files_outside.items()}
    paths = {name: str(path) for name, path in files_outside.items()}
    source = (
        ATTEMPT
        + f"""
import os
P = {paths!r}
UID, GID = {os.getuid()}, {os.getgid()}
def algorithm():
    return {{
        "chmod a private file world-readable": attempt(lambda: os.chmod(P["secret"], 0o644)),
        "chmod a private folder open": attempt(lambda: os.chmod(P["private"], 0o777)),
        "chmod the run store 0666": attempt(lambda: os.chmod(P["store"], 0o666)),
        "fchmodat2": attempt(lambda: call(libc.syscall(452, -100, P["store"].encode(), 0o666, 0))),
        "chown": attempt(lambda: os.chown(P["secret"], UID, GID)),
        "lchown": attempt(lambda: os.lchown(P["secret"], UID, GID)),
        "set times": attempt(lambda: os.utime(P["secret"], (1, 1))),
        "touch a world-writable file": attempt(lambda: os.utime(P["shared"], None)),
        "set its times": attempt(lambda: os.utime(P["shared"], ns=(1, 123456789))),
        "utimes": attempt(lambda: call(libc.utimes(P["shared"].encode(), None))),
        "setxattr user.*": attempt(lambda: os.setxattr(P["shared"], "user.channel", b"data")),
        "setxattr on the store": attempt(lambda: os.setxattr(P["store"], "user.channel", b"data")),
        "an ACL": attempt(lambda: os.setxattr(P["secret"], "system.posix_acl_access", b"\\x02\\0\\0\\0")),
        "removexattr": attempt(lambda: os.removexattr(P["shared"], "user.before")),
        "read a user.* attribute": attempt(lambda: os.getxattr(P["shared"], "user.before")),
        "list attributes": attempt(lambda: os.listxattr(P["shared"])),
        "setxattrat": attempt(
            lambda: call(libc.syscall(463, -100, P["shared"].encode(), 0, b"user.x", None, 0))
        ),
    }}
"""
    )
    _all_denied(default_hostile.run(source))
    assert {name: _metadata(path) for name, path in files_outside.items()} == before


def test_a_child_cannot_watch_what_the_host_does(default_hostile, tmp_path):
    needs_protection(default_hostile.pool, "seccomp filter")
    source = (
        ATTEMPT
        + """
def algorithm():
    return {
        "inotify_init": attempt(lambda: call(libc.inotify_init())),
        "inotify_init1": attempt(lambda: call(libc.inotify_init1(0))),
        "inotify_add_watch": attempt(lambda: call(libc.syscall(254, 0, b"/tmp", 0xFFF))),
        "fanotify_init": attempt(lambda: call(libc.fanotify_init(0, 0))),
    }
"""
    )
    _all_denied(default_hostile.run(source))


def test_a_child_sees_no_other_process(default_hostile):
    needs_protection(default_hostile.pool, "pid namespace", "seccomp filter")
    with default_hostile.pool.spawn(Limits(wall_s=10)) as child:
        default_hostile.pids.append(child.pid)
        source = (
            ATTEMPT
            + """
import os, signal
ORCH = ORCHESTRATOR_PID
def proc_entries():
    return [name for name in os.listdir("/proc") if name.isdigit()]
def algorithm():
    return {
        "own pid": os.getpid(),
        "parent pid": os.getppid(),
        "/proc": attempt(proc_entries),
        "stat /proc of the orchestrator": attempt(lambda: os.stat(f"/proc/{ORCH}")),
        "stat /proc/1": attempt(lambda: os.stat("/proc/1")),
        "signal 0 to the orchestrator": attempt(lambda: os.kill(ORCH, 0)),
        "signal 0 to pid 1": attempt(lambda: os.kill(1, 0)),
        "signal 0 to a sibling": attempt(lambda: os.kill(os.getpid() + 1, 0)),
        "kill the parent": attempt(lambda: os.kill(os.getppid(), signal.SIGKILL)),
        "the orchestrator's session": attempt(lambda: os.getsid(ORCH)),
        "pid 1's group": attempt(lambda: os.getpgid(1)),
        "sched_getparam of pid 1": attempt(lambda: os.sched_getparam(1)),
    }
"""
        )
        assert child.run({"op": "load", "source": default_hostile.fill(source)}).ok
        reply = child.run({"op": "call", "args": []})
    assert reply.ok, reply.error
    seen = dict(reply.value)
    assert seen.pop("parent pid") == 0  # its worker is outside its namespace
    own = seen.pop("own pid")
    assert own != child.pid and own not in (os.getpid(), *default_hostile.pool.worker_pids())
    proc = seen.pop("/proc")
    assert proc.startswith("denied") or proc == "ALLOWED: []", proc  # empty, or closed by Landlock
    allowed = {name: result for name, result in seen.items() if not result.startswith("denied")}
    assert allowed == {}, f"as {AS_WHOM}"


def test_a_childs_own_signals_still_work_inside_the_namespace(default_hostile):
    """A child is not its namespace's init, so killing itself still ends it."""
    reply = default_hostile.run(
        "import os, signal\ndef algorithm():\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    assert not reply.ok and reply.error_kind == "crashed"
    assert default_hostile.run("def algorithm():\n    return 5\n").value == 5


def test_scratch_counts_against_the_memory_limit(default_hostile):
    needs_protection(default_hostile.pool, "memory cgroup", "scratch size cap")
    source = """
def algorithm():
    written = 0
    block = b"x" * 1024**2
    with open("fill", "wb") as f:
        for _ in range(1200):
            f.write(block)
            written += 1
    return written
"""
    limits = Limits(wall_s=60, memory_bytes=1024**3, scratch_bytes=1536 * 1024**2, file_bytes=2 * 1024**3)
    reply = default_hostile.run(source, limits=limits)
    assert not reply.ok and reply.error_kind in {"crashed", "exception"}, reply  # killed, or ENOMEM/ENOSPC
    assert default_hostile.run("def algorithm():\n    return 6\n").value == 6


def test_default_mode_as_an_ordinary_user_has_the_kernel_protections(default_pool):
    if ROOT:
        pytest.skip("runs as an unprivileged user: .ci/nonroot-tests runs this file as one")
    found = {p.name: p for p in default_pool.protections}
    assert found["privilege drop"].available and not found["thread cap"].available
    needs_protection(default_pool, "seccomp filter", "pid namespace", "network namespace")
    assert "user" in found["network namespace"].detail  # reached through a user namespace
