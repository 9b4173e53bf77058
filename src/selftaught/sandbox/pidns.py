"""A PID namespace per worker, so that a child sees no process of the machine but itself.

Without one a child sees every pid, uid and session of the machine (`/proc`, and any call
that names a pid). A worker moves its future children into a new PID namespace once
(`unshare(CLONE_NEWPID)`, with its other namespaces), so that costs nothing per child: the
worker's first child is the namespace's init, a small process that waits for the worker's
end and then exits, which makes the kernel kill everything left in the namespace. Every
child the worker forks later lives in that namespace: it cannot name the worker, the
orchestrator or any other process of the machine (its parent pid reads 0), and the
seccomp filter refuses every call that names another pid, so it cannot probe its
siblings either. A child is not its namespace's init, so signals to itself behave as
usual (an init ignores its own SIGKILL).

The kernel refuses new threads to a process whose children go to another PID namespace
(`clone(CLONE_THREAD)` answers EINVAL), so the worker itself must stay single-threaded
after it unshares (it is: a select loop, and OpenBLAS is held to one thread); its
children, inside the namespace, may start threads as usual.

`/proc` would still show the machine's processes (it belongs to the PID namespace that
mounted it), so the worker covers it with an empty read-only tmpfs in its own mount
namespace, keeping a descriptor of the real one for itself.
"""

from __future__ import annotations

import os
import signal

from selftaught.sandbox import kernel


class Namespace:
    """The init of a worker's PID namespace, and the worker's own view of the machine's /proc."""

    def __init__(self, init_pid: int, release_fd: int) -> None:
        self.init_pid = init_pid
        self._release_fd = release_fd  # the write end init waits on; closed only when the worker exits
        self.proc_fd: int | None = None

    @classmethod
    def start(cls) -> Namespace:
        """Fork the init of the namespace the caller unshared (its first child, pid 1 there)."""
        wait_end, release_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            _init_main(wait_end, release_end)
        os.close(wait_end)
        return cls(pid, release_end)

    def hide_proc(self) -> None:
        """Cover /proc with an empty read-only tmpfs; keep a descriptor of the real one."""
        self.proc_fd = os.open("/proc", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        options = "size=4k,nr_inodes=8,mode=0555"
        flags = kernel.MS_NOSUID | kernel.MS_NODEV | kernel.MS_NOEXEC | kernel.MS_RDONLY
        kernel.mount("tmpfs", "/proc", "tmpfs", flags, options)

    def keep_fds(self) -> list[int]:
        """Descriptors a child must close (both are the worker's own)."""
        return [fd for fd in (self._release_fd, self.proc_fd) if fd is not None]

    def children_of(self, pid: int) -> list[int]:
        """Live children of `pid` (in the machine's view), read through the real /proc."""
        found: list[int] = []
        try:
            for tid in _listdir(self.proc_fd, f"{pid}/task"):
                found += [int(p) for p in _read(self.proc_fd, f"{pid}/task/{tid}/children").split()]
        except (OSError, ValueError):
            pass
        return found

    def worker_children(self) -> list[int]:
        """The worker's children and every process the namespace's init adopted (orphans)."""
        own = [p for p in self.children_of(os.getpid()) if p != self.init_pid]
        return own + self.children_of(self.init_pid)


def _listdir(proc_fd: int | None, path: str) -> list[str]:
    if proc_fd is None:
        return os.listdir(f"/proc/{path}")
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=proc_fd)
    try:
        return os.listdir(fd)
    finally:
        os.close(fd)


def _read(proc_fd: int | None, path: str) -> str:
    if proc_fd is None:
        with open(f"/proc/{path}") as f:
            return f.read()
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC, dir_fd=proc_fd)
    try:
        return os.read(fd, 65536).decode()
    finally:
        os.close(fd)


def _init_main(wait_end: int, release_end: int) -> None:
    """pid 1 of the namespace: reap orphans until the worker is gone, then exit. Never returns."""
    try:
        os.close(release_end)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # orphans handed to init are reaped by the kernel
        kernel.prctl(kernel.PR_SET_PDEATHSIG, signal.SIGKILL)
        os.closerange(3, wait_end)
        os.closerange(wait_end + 1, 65536)
        while os.read(wait_end, 1):  # end of file: the worker (the only writer) has exited
            pass
    except BaseException:  # noqa: BLE001 - init must never return into the worker's code
        pass
    finally:
        os._exit(0)
