"""Live checks a fresh child runs on itself, so the pool knows its protections really hold.

Runs inside a sandboxed child, before any model-written code; the pool reads the answers
against `EXPECTED`.

Each check tries one thing a hostile program would, and says whether it was denied
(and one checks that the Python installation stays readable).
They run in a child before any model-written code, when the pool starts.
"""

from __future__ import annotations

import os
import resource
import socket


def _denied(action) -> bool:
    try:
        action()
    except OSError:
        return True
    return False


def _fork() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def _write_outside() -> None:
    path = os.path.join(os.path.dirname(os.getcwd()), f".probe-{os.getpid()}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    os.unlink(path)


def _ip_socket() -> None:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()


def _loopback() -> None:
    # reachable only without a network namespace; the port is closed, so refused means reachable
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        try:
            s.connect(("127.0.0.1", 9))
        except ConnectionRefusedError:
            return


def _unix_socket() -> None:
    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()


def _libc_call(name: str, *args: object) -> int:
    """Call libc's `name`; OSError with errno where it returns -1 (the host's `sandbox/kernel.py`
    does the same for the confinement, which this package does not import)."""
    import ctypes

    result = getattr(ctypes.CDLL(None, use_errno=True), name)(*args)
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")
    return result


def _sysv_segment() -> None:
    segment = _libc_call("shmget", 0, 4096, 0o1600)  # IPC_PRIVATE | IPC_CREAT
    _libc_call("shmctl", segment, 0, None)  # IPC_RMID


def _memfd() -> None:
    os.close(os.memfd_create("probe"))


def _clear_death_signal() -> None:
    import ctypes

    unsigned = [ctypes.c_ulong(0)] * 4  # prctl's arguments past the option are unsigned longs
    _libc_call("prctl", ctypes.c_int(_PR_SET_PDEATHSIG), *unsigned)


_PR_SET_PDEATHSIG = 1


def _set_signal_owner() -> None:
    import fcntl

    read, write = os.pipe()
    try:
        fcntl.fcntl(read, fcntl.F_SETOWN, os.getppid())
    finally:
        os.close(read)
        os.close(write)


def _worker_pid() -> int:
    """The worker's pid; inside a PID namespace it is not visible (0), so the namespace's
    init (pid 1) stands in: another process all the same."""
    return os.getppid() or 1


def _read_parent_proc() -> None:
    with open(f"/proc/{_worker_pid()}/status", "rb") as f:
        f.read(1)


def _signal_parent() -> None:
    os.kill(_worker_pid(), 0)


def _limits_of_parent() -> None:
    resource.prlimit(_worker_pid(), resource.RLIMIT_NOFILE)  # only reads them


def _see_the_worker() -> None:
    if os.getppid() == 0:  # the parent is outside this child's PID namespace
        raise OSError("the worker is outside this child's PID namespace")


def _scratch_root() -> str:
    return os.path.dirname(os.getcwd())


def _chmod_outside() -> None:
    path = _scratch_root()
    os.chmod(path, os.stat(path).st_mode & 0o7777)  # the mode it has: nothing changes if allowed


def _times_outside() -> None:
    path = _scratch_root()
    found = os.stat(path)
    os.utime(path, ns=(found.st_atime_ns, found.st_mtime_ns))


def _xattrs_outside() -> None:
    os.listxattr(_scratch_root())


def _inotify() -> None:
    os.close(_libc_call("inotify_init1", 0))


def _python_readable() -> None:
    import json

    with open(json.__file__, "rb") as f:
        f.read(1)


def live_checks() -> dict[str, bool]:
    """Each check's name, and True where the sandbox held (the attempt was denied, or
    the Python installation could be read)."""
    checks = {
        "fork": _fork,
        "write outside scratch": _write_outside,
        "IP socket": _ip_socket,
        "Unix socket": _unix_socket,
        "SysV shared memory": _sysv_segment,
        "memfd": _memfd,
        "clear the death signal": _clear_death_signal,
        "F_SETOWN to the worker": _set_signal_owner,
        "host loopback": _loopback,
        "read /proc of the worker": _read_parent_proc,
        "signal the worker": _signal_parent,
        "read the worker's limits": _limits_of_parent,
        "chmod outside scratch": _chmod_outside,
        "set times outside scratch": _times_outside,
        "extended attributes": _xattrs_outside,
        "inotify": _inotify,
        "see the worker's pid": _see_the_worker,
    }
    results = {name: _denied(check) for name, check in checks.items()}
    results["read the Python installation"] = not _denied(_python_readable)
    return results


# Checks whose failure means a protection is not in force, keyed by protection name.
EXPECTED = {
    "seccomp filter": (
        "fork",
        "IP socket",
        "Unix socket",
        "SysV shared memory",
        "memfd",
        "clear the death signal",
        "F_SETOWN to the worker",
        "signal the worker",
    ),
    "other processes": ("read the worker's limits",),
    "file metadata": ("chmod outside scratch", "set times outside scratch", "extended attributes"),
    "host watches": ("inotify",),
    "landlock filesystem": (
        "write outside scratch",
        "read /proc of the worker",
        "read the Python installation",
    ),
    "network namespace": ("host loopback",),
    "pid namespace": ("see the worker's pid",),
}
