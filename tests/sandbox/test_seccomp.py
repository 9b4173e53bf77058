"""The seccomp filter: every syscall number is the one its name says (x86_64), every named
syscall is compared, and a child under the filter keeps what Python and numpy need while
losing other processes and file metadata."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from selftaught.sandbox import kernel, seccomp

HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
# Newer than many installed headers; numbers from the kernel's syscall_64.tbl.
NEWER = {
    "memfd_secret": 447,
    "process_mrelease": 448,
    "fchmodat2": 452,
    "statmount": 457,
    "listmount": 458,
    "setxattrat": 463,
    "getxattrat": 464,
    "listxattrat": 465,
    "removexattrat": 466,
    "open_tree_attr": 467,
    "file_getattr": 468,
    "file_setattr": 469,
}


def _kernel_table() -> dict[str, int]:
    if not HEADER.exists():
        pytest.skip("no x86_64 unistd_64.h on this machine")
    table = {m[0]: int(m[1]) for m in re.findall(r"#define __NR_(\w+) (\d+)", HEADER.read_text())}
    return {**NEWER, **table}


def test_every_named_syscall_has_the_kernels_number():
    kernel_numbers = _kernel_table()
    wrong = {
        name: (number, kernel_numbers.get(name))
        for name, number in seccomp.X86_64.items()
        if kernel_numbers.get(name) != number
    }
    assert wrong == {}


def _compared_syscalls(program) -> list[int]:
    """The numbers compared with the syscall number: JEQs after its load, up to the next load."""
    start = next(i for i, (code, _, _, k) in enumerate(program) if code == seccomp._LD_W_ABS and k == 0)
    numbers = []
    for code, _jt, _jf, k in program[start + 1 :]:
        if code == seccomp._LD_W_ABS:
            break
        if code == seccomp._JEQ:
            numbers.append(k)
    return numbers


def test_every_number_the_filter_compares_maps_back_to_a_named_syscall(monkeypatch):
    monkeypatch.setattr(seccomp.kernel, "machine", lambda: "x86_64")
    program, _ = seccomp._assemble(seccomp.X86_64)
    by_number = {number: name for name, number in _kernel_table().items()}
    names = [by_number.get(k, f"unknown {k}") for k in _compared_syscalls(program)]
    assert not [n for n in names if n.startswith("unknown")]
    expected = {"clone3", *seccomp.DENIED, *seccomp.UNSUPPORTED, *seccomp.SELF_ONLY, *seccomp.PRIORITY}
    expected |= {"clone", "kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "prctl", "fcntl", "ioctl"}
    assert set(names) == expected
    for name in ("socket", "connect", "shmget", "memfd_create", "execve", "prlimit64", "setpriority"):
        assert name in names
    for name in (
        "chmod",
        "fchmodat2",
        "utimensat",
        "setxattr",
        "getxattrat",
        "inotify_init",
        "fanotify_init",
    ):
        assert name in names


def test_no_filtered_syscall_is_below_the_fast_path():
    named = {*seccomp.DENIED, *seccomp.UNSUPPORTED, *seccomp.SELF_ONLY, *seccomp.PRIORITY, "clone3"}
    named |= {"clone", "kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "prctl", "fcntl", "ioctl"}
    assert min(seccomp.X86_64[name] for name in named) >= seccomp.ALWAYS_ALLOWED_BELOW


def test_every_jump_stays_inside_the_program(monkeypatch):
    monkeypatch.setattr(seccomp.kernel, "machine", lambda: "x86_64")
    program, _ = seccomp._assemble(seccomp.X86_64)
    for at, (code, jt, jf, k) in enumerate(program):
        if code in (seccomp._JEQ, seccomp._JGE, seccomp._JSET):
            assert at + 1 + max(jt, jf) < len(program)
        if code == seccomp._JA:
            assert at + 1 + k < len(program)
    assert program[-1][0] == seccomp._RET


# Runs in a forked child under the filter; prints one "name: outcome" line per attempt.
UNDER_FILTER = r"""
import ctypes, errno, os, pathlib, resource, shutil, sys, tempfile
sys.path.insert(0, SRC)
from selftaught.sandbox import kernel, seccomp
import numpy
kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1)
parent = os.getppid()
work = tempfile.mkdtemp()
outside = os.path.join(work, "outside")
open(outside, "w").write("private")
before = os.stat(outside)
seccomp.Filter().install(os.getpid())
libc = ctypes.CDLL(None, use_errno=True)
def call(result):
    if result == -1:
        raise OSError(ctypes.get_errno(), "failed")
    return result
def attempt(name, action):
    try:
        action()
        print(name + ": allowed")
    except OSError as exc:
        print(name + ": " + errno.errorcode.get(exc.errno, str(exc.errno)))
attempt("setrlimit", lambda: resource.setrlimit(resource.RLIMIT_CPU, resource.getrlimit(resource.RLIMIT_CPU)))
attempt("prlimit own", lambda: resource.prlimit(0, resource.RLIMIT_NOFILE))
attempt("prlimit parent", lambda: resource.prlimit(parent, resource.RLIMIT_CPU, (1, 1)))
attempt("renice parent", lambda: os.setpriority(os.PRIO_PROCESS, parent, 19))
attempt("renice user", lambda: os.setpriority(os.PRIO_USER, 0, 19))
attempt("nice own", lambda: os.nice(0))
attempt("pin parent", lambda: os.sched_setaffinity(parent, {0}))
attempt("pin own", lambda: os.sched_setaffinity(0, os.sched_getaffinity(0)))
attempt("scheduler parent", lambda: os.sched_setscheduler(parent, os.SCHED_OTHER, os.sched_param(0)))
attempt("ioprio parent", lambda: call(libc.syscall(251, 1, parent, 0)))
attempt("probe parent", lambda: os.getpgid(parent))
attempt("chmod", lambda: os.chmod(outside, 0o666))
attempt("fchmod", lambda: os.fchmod(os.open(outside, os.O_RDONLY), 0o666))
attempt("chown", lambda: os.chown(outside, os.getuid(), os.getgid()))
attempt("utime", lambda: os.utime(outside, (1, 1)))
attempt("setxattr", lambda: os.setxattr(outside, "user.channel", b"1"))
attempt("listxattr", lambda: os.listxattr(outside))
attempt("inotify", lambda: call(libc.inotify_init()))
attempt("inotify1", lambda: call(libc.inotify_init1(0)))
attempt("fanotify", lambda: call(libc.fanotify_init(0, 0)))
attempt("touch", lambda: pathlib.Path(work, "touched").touch())
attempt("copyfile", lambda: shutil.copyfile(outside, os.path.join(work, "copy")))
attempt("tempfile", lambda: tempfile.TemporaryDirectory(dir=work).cleanup())
attempt("numpy", lambda: numpy.linalg.solve(numpy.eye(3), numpy.ones(3)))
after = os.stat(outside)
print("unchanged: " + str((after.st_mode, after.st_mtime_ns) == (before.st_mode, before.st_mtime_ns)))
"""


def test_a_child_under_the_filter_keeps_python_and_loses_other_processes_and_metadata():
    if not seccomp.supported():
        pytest.skip(f"no seccomp syscall table for {kernel.machine()}")
    src = str(Path(seccomp.__file__).resolve().parents[2])
    result = subprocess.run(
        [sys.executable, "-c", f"SRC = {src!r}\n" + UNDER_FILTER], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    outcome = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    allowed = ("setrlimit", "prlimit own", "nice own", "pin own", "touch", "copyfile", "tempfile", "numpy")
    assert {name: outcome[name] for name in allowed} == dict.fromkeys(allowed, "allowed")
    eperm = (
        "prlimit parent", "renice parent", "renice user", "pin parent", "scheduler parent", "ioprio parent",
        "probe parent", "chmod", "fchmod", "chown", "utime", "inotify", "inotify1", "fanotify",
    )  # fmt: skip
    assert {name: outcome[name] for name in eperm} == dict.fromkeys(eperm, "EPERM")
    assert outcome["setxattr"] == outcome["listxattr"] == "ENOTSUP"  # EOPNOTSUPP: no such attributes here
    assert outcome["unchanged"] == "True"
