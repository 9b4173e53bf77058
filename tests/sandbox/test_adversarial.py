"""Hostile programs against the strict sandbox: each one's outcome, and that nothing escaped.

Every test runs model-written-looking code through the `hostile` fixture, which fails the
test if, afterwards, a process survives under the child's uid, a file carrying the test's
token exists outside scratch, the loopback listener heard anything, or a reply holds the
orchestrator's secret. Timeouts are short and bounds are loose: the machine is shared.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import selftaught.tasks.parity_noise.task as parity_module
from selftaught.sandbox.limits import Limits
from selftaught.tasks import get_task
from selftaught.tasks.scoring import score_solution

# Tries each action; "denied: <error>" when it raised, "ALLOWED: <value>" when it worked.
ATTEMPT = """
def attempt(action):
    try:
        value = action()
    except BaseException as exc:
        return "denied: " + type(exc).__name__ + ": " + str(exc)[:80]
    return "ALLOWED: " + repr(value)[:80]
"""


def _all_denied(reply) -> dict:
    assert reply.ok, reply.error
    allowed = {name: result for name, result in reply.value.items() if not result.startswith("denied")}
    assert allowed == {}
    return reply.value


# -- time ----------------------------------------------------------------------------


def test_busy_loop_ignoring_signals_is_killed_at_its_timeout(hostile):
    source = """
import signal
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU, signal.SIGALRM):
    signal.signal(s, signal.SIG_IGN)
def algorithm():
    while True:
        pass
"""
    started = time.monotonic()
    reply = hostile.run(source, wall_s=0.5)
    assert reply.error_kind == "timeout"
    assert time.monotonic() - started < 10


def test_sleep_is_killed_at_its_timeout(hostile):
    reply = hostile.run("import time\ndef algorithm():\n    time.sleep(3600)\n", wall_s=0.5)
    assert reply.error_kind == "timeout"


def test_loop_at_import_time_is_killed_at_its_timeout(hostile):
    reply = hostile.run("while True:\n    pass\n", wall_s=0.5)
    assert reply.error_kind == "timeout"


# -- memory, disk, descriptors, output -------------------------------------------------


def test_memory_bomb_fails_inside_the_child(hostile):
    source = (
        "def algorithm():\n    hoard = []\n    while True:\n        hoard.append(bytearray(256 * 1024**2))\n"
    )
    reply = hostile.run(source)
    assert not reply.ok and reply.error_kind in {"exception", "crashed"}
    assert "MemoryError" in (reply.error or "") or reply.error_kind == "crashed"


def test_filling_scratch_stops_at_its_size_cap(hostile):
    source = """
import os
def algorithm():
    written = 0
    try:
        for i in range(10_000):
            with open(f"fill-{i}", "wb") as f:
                for _ in range(16):
                    f.write(b"x" * 1024**2)
                    written += 1024**2
    except OSError as exc:
        return [written, exc.errno]
    return [written, None]
"""
    limits = Limits(wall_s=30, scratch_bytes=32 * 1024**2)
    reply = hostile.run(source, limits=limits)
    assert reply.ok, reply.error
    written, errno = reply.value
    assert errno == 28 and written <= 32 * 1024**2  # ENOSPC at the cap


def test_a_single_huge_file_stops_at_the_file_size_limit(hostile):
    source = """
def algorithm():
    written = 0
    try:
        with open("big", "wb") as f:
            while True:
                f.write(b"x" * 1024**2)
                written += 1024**2
    except OSError as exc:
        return [written, exc.errno]
"""
    limits = Limits(wall_s=30, file_bytes=8 * 1024**2)
    reply = hostile.run(source, limits=limits)
    assert reply.ok, reply.error
    written, errno = reply.value
    assert errno == 27 and written <= 8 * 1024**2  # EFBIG


def test_huge_stdout_goes_to_a_capped_file_not_to_the_orchestrator(hostile, capfd):
    source = """
import sys
def algorithm():
    line = "flood " * 10_000 + "\\n"
    try:
        for _ in range(100_000):
            sys.stdout.write(line)
            sys.stderr.write(line)
    except OSError as exc:
        return exc.errno
"""
    reply = hostile.run(source, limits=Limits(wall_s=30, file_bytes=4 * 1024**2))
    assert reply.ok and reply.value == 27
    out, err = capfd.readouterr()
    assert "flood" not in out and "flood" not in err


def test_huge_return_value_fails_that_child_only(hostile):
    reply = hostile.run("def algorithm():\n    return ['x' * 1024**2] * 40\n")
    assert not reply.ok and reply.error_kind in {"bad_result", "protocol", "exception"}
    assert hostile.run("def algorithm():\n    return 1\n").value == 1


def test_too_many_open_files_fails_inside_the_child(hostile):
    source = "def algorithm():\n    files = []\n    while True:\n        files.append(open('/dev/null'))\n"
    reply = hostile.run(source)
    assert not reply.ok and "Too many open files" in reply.error
    assert hostile.run("def algorithm():\n    return 2\n").value == 2


def test_thread_bomb_is_capped(hostile):
    source = """
import threading, time
def algorithm():
    event = threading.Event()
    threads = []
    try:
        while len(threads) < 10_000:
            t = threading.Thread(target=event.wait)
            t.start()
            threads.append(t)
    except (RuntimeError, MemoryError) as exc:
        pass
    event.set()
    return len(threads)
"""
    reply = hostile.run(source, limits=Limits(wall_s=30, threads=32))
    assert reply.ok, reply.error
    assert reply.value < 32


# -- processes -------------------------------------------------------------------------


def test_fork_bomb_cannot_fork(hostile):
    source = "import os\ndef algorithm():\n    while True:\n        os.fork()\n"
    reply = hostile.run(source)
    assert not reply.ok and "PermissionError" in reply.error


def test_fork_and_setsid_cannot_start_a_survivor(hostile):
    source = (
        ATTEMPT
        + """
import os, time
def escape():
    pid = os.fork()
    if pid == 0:
        os.setsid()
        time.sleep(3600)
    return pid
def algorithm():
    return {"fork": attempt(escape), "setsid": attempt(os.setsid)}
"""
    )
    _all_denied(hostile.run(source))


def test_subprocess_and_os_system_run_nothing(hostile):
    source = (
        ATTEMPT
        + """
import os, subprocess
def system():
    status = os.system("touch /tmp/escape-TOKEN")
    if status != 0:
        raise OSError(f"os.system returned {status}")
def algorithm():
    return {
        "subprocess.run": attempt(lambda: subprocess.run(["touch", "/tmp/escape-TOKEN"])),
        "os.system": attempt(system),
        "os.execv": attempt(lambda: os.execv("/bin/sh", ["sh", "-c", "touch /tmp/escape-TOKEN"])),
        "os.posix_spawn": attempt(lambda: os.posix_spawn("/bin/true", ["true"], {})),
    }
"""
    )
    _all_denied(hostile.run(source))


def test_multiprocessing_cannot_start_a_process(hostile):
    source = (
        ATTEMPT
        + """
import multiprocessing
def work():
    open("/tmp/escape-TOKEN", "w").write("x")
def start(method):
    context = multiprocessing.get_context(method)
    process = context.Process(target=work)
    process.start()
    process.join()
    return process.exitcode
def algorithm():
    return {method: attempt(lambda: start(method)) for method in ("fork", "spawn", "forkserver")}
"""
    )
    _all_denied(hostile.run(source))


def test_signals_reach_no_process_but_the_child(hostile, strict_pool):
    workers = strict_pool.worker_pids()
    source = (
        ATTEMPT
        + """
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
info = ctypes.create_string_buffer(128)
def call(result):
    if result == -1:
        raise OSError(ctypes.get_errno(), "failed")
    return result
def algorithm():
    return {
        "kill the worker": attempt(lambda: os.kill(os.getppid(), signal.SIGKILL)),
        "kill the orchestrator": attempt(lambda: os.kill(ORCHESTRATOR_PID, signal.SIGKILL)),
        "kill(-1)": attempt(lambda: os.kill(-1, signal.SIGKILL)),
        "kill init": attempt(lambda: os.kill(1, signal.SIGTERM)),
        "killpg of the worker": attempt(lambda: os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)),
        "sigqueue to the worker": attempt(lambda: call(libc.syscall(129, os.getppid(), 10, info))),
        "tgkill the worker": attempt(lambda: call(libc.syscall(234, os.getppid(), os.getppid(), 9))),
        "tkill the worker": attempt(lambda: call(libc.syscall(200, os.getppid(), 9))),
    }
"""
    )
    _all_denied(hostile.run(source))
    assert strict_pool.worker_pids() == workers


def test_a_child_cannot_signal_or_read_another_child(hostile):
    victim_source = """
import os, time
def algorithm():
    open("mine.txt", "w").write("private")
    return [os.getpid(), os.getcwd()]
def wait():
    time.sleep(60)
"""
    with hostile.pool.spawn(Limits(wall_s=30)) as victim:
        hostile.pids.append(victim.pid)
        assert victim.run({"op": "load", "source": victim_source}).ok
        pid, scratch = victim.run({"op": "call", "args": []}).value
        source = (
            ATTEMPT
            + f"""
import os, signal
def algorithm():
    return {{
        "kill": attempt(lambda: os.kill({pid}, signal.SIGKILL)),
        "read its file": attempt(lambda: open({scratch!r} + "/mine.txt").read()),
        "list its scratch": attempt(lambda: os.listdir({scratch!r})),
        "its /proc": attempt(lambda: open("/proc/{pid}/status").read()),
    }}
"""
        )
        _all_denied(hostile.run(source))
        assert victim.run({"op": "call", "args": []}).ok  # still alive and well


# -- network ---------------------------------------------------------------------------


def test_no_tcp_or_udp_to_the_host_loopback(hostile):
    source = (
        ATTEMPT
        + """
import socket
def tcp(family, host):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect((host, TCP_PORT))
def udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"hello", ("127.0.0.1", UDP_PORT))
def raw():
    return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
def netlink():
    return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
def algorithm():
    return {
        "tcp": attempt(lambda: tcp(socket.AF_INET, "127.0.0.1")),
        "tcp6": attempt(lambda: tcp(socket.AF_INET6, "::1")),
        "udp": attempt(udp),
        "raw": attempt(raw),
        "netlink": attempt(netlink),
        "http": attempt(lambda: __import__("urllib.request").request.urlopen("http://127.0.0.1:TCP_PORT/")),
    }
"""
    )
    _all_denied(hostile.run(source))


def test_dns_lookup_fails(hostile):
    source = (
        ATTEMPT
        + """
import socket
def algorithm():
    return {
        "getaddrinfo": attempt(lambda: socket.getaddrinfo("example.com", 443)),
        "gethostbyname": attempt(lambda: socket.gethostbyname("pypi.org")),
        "localhost": attempt(lambda: socket.getaddrinfo("localhost", 80, socket.AF_INET)),
    }
"""
    )
    _all_denied(hostile.run(source))


# -- files and secrets -----------------------------------------------------------------


def test_no_write_outside_scratch(hostile, strict_pool):
    source = (
        ATTEMPT
        + """
import os
def write(path):
    with open(path, "w") as f:
        f.write("escaped")
def algorithm():
    return {
        "test directory": attempt(lambda: write("OUTSIDE/escape-TOKEN")),
        "/tmp": attempt(lambda: write("/tmp/escape-TOKEN")),
        "repository": attempt(lambda: write("REPO_ROOT/escape-TOKEN")),
        "beside scratch": attempt(lambda: write(os.path.dirname(os.getcwd()) + "/escape-TOKEN")),
        "mkdir /tmp": attempt(lambda: os.mkdir("/tmp/escape-dir-TOKEN")),
        "symlink out": attempt(lambda: os.symlink("/tmp", "link") or write("link/escape-TOKEN")),
        "hard link": attempt(lambda: os.link("/etc/passwd", "passwd")),
        "/dev/shm": attempt(lambda: write("/dev/shm/escape-TOKEN")),
        "chmod python": attempt(lambda: os.chmod(os.__file__, 0o777)),
    }
"""
    )
    _all_denied(hostile.run(source))


def test_api_key_is_not_in_the_environment(hostile):
    source = "import os\ndef algorithm():\n    return dict(os.environ)\n"
    reply = hostile.run(source)
    assert reply.ok and "OPENAI_API_KEY" not in reply.value
    assert set(reply.value) <= {
        "PATH", "LANG", "LC_ALL", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "HOME", "TMPDIR",
    }  # fmt: skip


def test_no_proc_of_other_processes(hostile):
    source = (
        ATTEMPT
        + """
import os
def read(path):
    with open(path, "rb") as f:
        return f.read()
def algorithm():
    return {
        "worker environ": attempt(lambda: read(f"/proc/{os.getppid()}/environ")),
        "orchestrator environ": attempt(lambda: read("/proc/ORCHESTRATOR_PID/environ")),
        "orchestrator cmdline": attempt(lambda: read("/proc/ORCHESTRATOR_PID/cmdline")),
        "orchestrator memory": attempt(lambda: read("/proc/ORCHESTRATOR_PID/mem")),
        "init environ": attempt(lambda: read("/proc/1/environ")),
        "own environ": attempt(lambda: read("/proc/self/environ")),
        "list processes": attempt(lambda: os.listdir("/proc")),
    }
"""
    )
    _all_denied(hostile.run(source))


def test_hidden_utility_source_and_run_store_are_unreadable(hostile, tmp_path):
    store = tmp_path / "store.db"
    store.write_text("SECRET-RESULTS")
    checker = Path(parity_module.__file__).resolve()
    source = (
        ATTEMPT
        + f"""
import importlib
def algorithm():
    return {{
        "checker source": attempt(lambda: open({str(checker)!r}).read()),
        "import the checker": attempt(lambda: importlib.import_module("selftaught.tasks.parity_noise.task")),
        "run store": attempt(lambda: open({str(store)!r}).read()),
        "shadow": attempt(lambda: open("/etc/shadow").read()),
        "home": attempt(lambda: open("/root/.bashrc").read()),
    }}
"""
    )
    _all_denied(hostile.run(source))


# -- the score -------------------------------------------------------------------------

CONSTANT = """
import numpy as np
def algorithm(train_samples, train_parity, test_samples):
    return np.zeros(len(test_samples), dtype=np.int64)
"""

PATCHING = """
import time, numpy as np
time.perf_counter = lambda: 0.0
time.monotonic = lambda: 0.0
time.time = lambda: 0.0
np.mean = lambda *a, **k: 1.0
np.array_equal = lambda *a, **k: True
try:
    import selftaught.tasks.parity_noise.task as checker
    checker.flat_accuracy = lambda *a: 1.0
except BaseException:
    pass
def algorithm(train_samples, train_parity, test_samples):
    return np.zeros(len(test_samples), dtype=np.int64)
"""

BUILTINS = """
import builtins, numpy as np
builtins.len = lambda x: 20
builtins.float = lambda *a: 1.0
builtins.isinstance = lambda *a: True
def algorithm(train_samples, train_parity, test_samples):
    return np.zeros(20, dtype=np.int64)
"""


def test_patching_numpy_the_timer_and_the_checker_changes_nothing(strict_pool):
    task = get_task("parity_noise")
    honest = score_solution(task, CONSTANT, "val", strict_pool)
    patched = score_solution(task, PATCHING, "val", strict_pool)
    assert honest.error_kind is None and patched.error_kind is None
    assert patched.score == honest.score < 0.8


def test_patching_builtins_can_only_break_the_candidate(strict_pool):
    task = get_task("parity_noise")
    honest = score_solution(task, CONSTANT, "val", strict_pool)
    patched = score_solution(task, BUILTINS, "val", strict_pool)
    assert patched.score <= honest.score


def test_a_child_cannot_affect_the_next_one(hostile):
    patch = (
        "import builtins, numpy\nbuiltins.sum = lambda *a: 42\nnumpy.pi = 3\ndef algorithm():\n    return 0\n"
    )
    assert hostile.run(patch).ok
    reply = hostile.run("import numpy\ndef algorithm():\n    return [sum([1, 2]), numpy.pi > 3.14]\n")
    assert reply.value == [3, True]


# -- exits and crashes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("import os\n    os._exit(3)", "crashed"),
        ("import sys\n    sys.exit(0)", "exception"),
        ("raise KeyboardInterrupt", "exception"),
        ("raise SystemExit(1)", "exception"),
        ("class Out(BaseException): pass\n    raise Out()", "exception"),
        ("import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)", "crashed"),
    ],
)
def test_exits_and_base_exceptions_fail_the_child_only(hostile, body, kind):
    reply = hostile.run(f"def algorithm():\n    {body}\n")
    assert not reply.ok and reply.error_kind == kind
    assert hostile.run("def algorithm():\n    return 3\n").value == 3


def test_deep_c_recursion_and_wild_pointers_crash_the_child_only(hostile):
    recursion = """
import sys
sys.setrecursionlimit(10**8)
def algorithm():
    nested = []
    for _ in range(2_000_000):
        nested = [nested]
    return len(repr(nested))  # C-level recursion, no Python frames: the C stack overflows
"""
    reply = hostile.run(recursion, wall_s=20)
    assert not reply.ok and reply.error_kind in {"crashed", "exception"}
    reply = hostile.run("import ctypes\ndef algorithm():\n    return ctypes.string_at(8)\n")
    assert not reply.ok and reply.error_kind == "crashed"
    assert hostile.run("def algorithm():\n    return 4\n").value == 4


# -- the kernel ------------------------------------------------------------------------


def test_ctypes_namespaces_mounts_ptrace_and_privileges_are_denied(hostile):
    source = (
        ATTEMPT
        + """
import ctypes, os, resource
libc = ctypes.CDLL(None, use_errno=True)
def call(result):
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result
CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWNS = 0x10000000, 0x40000000, 0x00020000
def algorithm():
    return {
        "unshare user": attempt(lambda: call(libc.unshare(CLONE_NEWUSER))),
        "unshare net": attempt(lambda: call(libc.unshare(CLONE_NEWNET))),
        "unshare mount": attempt(lambda: call(libc.unshare(CLONE_NEWNS))),
        "mount": attempt(lambda: call(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))),
        "umount": attempt(lambda: call(libc.umount2(os.getcwd().encode(), 2))),
        "ptrace the worker": attempt(lambda: call(libc.ptrace(16, os.getppid(), None, None))),
        "chroot": attempt(lambda: call(libc.chroot(b"."))),
        "setns": attempt(lambda: call(libc.setns(os.open("/proc/1/ns/net", os.O_RDONLY), 0))),
        "setuid root": attempt(lambda: os.setuid(0)),
        "raise memory limit": attempt(lambda: resource.setrlimit(resource.RLIMIT_AS, (-1, -1))),
        "io_uring": attempt(lambda: call(libc.syscall(425, 8, ctypes.create_string_buffer(120)))),
        "bpf": attempt(lambda: call(libc.syscall(321, 0, None, 0))),
        "open by handle": attempt(lambda: call(libc.syscall(304, -100, ctypes.create_string_buffer(64), 0))),
        "device node": attempt(lambda: os.mknod("dev", 0o600 | 0o020000, os.makedev(1, 1))),
        "/dev/mem": attempt(lambda: open("/dev/mem", "rb").read(1)),
    }
"""
    )
    _all_denied(hostile.run(source))


def test_the_children_run_under_a_uid_of_their_own(hostile):
    reply = hostile.run("import os\ndef algorithm():\n    return [os.getuid(), os.geteuid(), os.getgid()]\n")
    assert reply.ok and all(value >= 1_000_000 for value in reply.value)
    assert os.getuid() not in reply.value
