"""Which protections a worker sets up for itself and applies to every child it forks.

A worker isolates itself once (a network namespace with only a downed loopback, a
private mount namespace, a private IPC namespace, and a PID namespace for its children
with `/proc` covered; for an ordinary user all of them inside a user namespace), because
that is cheaper than once per child. Each child then confines itself right after fork, in
this order: its memory cgroup (where one can be made), a tmpfs over its scratch directory
in a mount namespace of its own (a size cap on disk use that vanishes with it), rlimits,
Landlock (read the Python installation, write only scratch, no TCP, signals scoped), a
uid of its own with every capability dropped (root) or just no capabilities (an ordinary
user), and last the seccomp filter (no processes, no new sockets, no IPC, no memfd, no
signals to others, no clearing its death signal, nothing done to another process, no
file metadata, no inotify). In strict mode a child that fails any step exits before
running anything, and strict mode refuses to start without a uid per child (the only
thread cap there is).
"""

from __future__ import annotations

import os
import signal
import stat
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from selftaught.sandbox import kernel, landlock, seccomp
from selftaught.sandbox.cgroup import MemoryCgroups
from selftaught.sandbox.limits import apply_limits
from selftaught.sandbox.pidns import Namespace

MODES = ("default", "strict")

NETWORK_NAMESPACE = "network namespace"
LANDLOCK_FS = "landlock filesystem"
LANDLOCK_NET = "landlock network"
LANDLOCK_SCOPE = "landlock signal scope"
SECCOMP = "seccomp filter"
# What the seccomp filter also keeps from a child, listed (and live-checked) on their own:
OTHER_PROCESSES = "other processes"  # their limits, priority, affinity, scheduling, existence
FILE_METADATA = "file metadata"  # modes, owners, times and extended attributes outside scratch
HOST_WATCH = "host watches"  # inotify and fanotify on what the host does
SECCOMP_PARTS = {
    OTHER_PROCESSES: "no prlimit, renice, re-pin, rescheduling or ioprio of any other process "
    "(the orchestrator's RLIMIT_CPU included), no probing which pids exist",
    FILE_METADATA: "no chmod, chown, utime or extended attributes/ACLs on any file (Landlock does "
    "not cover them): no private file opened to the world, no data left in a file's times",
    HOST_WATCH: "no inotify or fanotify: no watching the run store being written",
}
PRIVILEGE_DROP = "privilege drop"
SCRATCH_CAP = "scratch size cap"
RLIMITS = "resource limits"
IPC_NAMESPACE = "ipc namespace"
PID_NAMESPACE = "pid namespace"
MEMORY_CGROUP = "memory cgroup"
THREAD_CAP = "thread cap"

# What strict mode needs for each kind of isolation the issue asks for.
STRICT_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "network": (NETWORK_NAMESPACE, SECCOMP),
    "filesystem": (LANDLOCK_FS, SCRATCH_CAP, FILE_METADATA),
    "process": (SECCOMP, PID_NAMESPACE, OTHER_PROCESSES, PRIVILEGE_DROP, THREAD_CAP),
    "signal": (SECCOMP,),
}

# A child's uid is this plus its pid: unique among live processes, so children cannot
# signal, trace or read one another, and RLIMIT_NPROC counts only the child's threads.
UID_BASE = 2_000_000_000

STRICT_EXIT = 70  # a child that could not confine itself in strict mode exits with this


@dataclass(frozen=True)
class Protection:
    """One protection and whether this machine gives it (`detail` says how, or why not)."""

    name: str
    available: bool
    detail: str

    def to_dict(self) -> dict:
        return asdict(self)


def missing_for_strict(protections: list[Protection]) -> list[str]:
    """Lines naming each kind of isolation strict mode lacks, and why; empty if none."""
    by_name = {p.name: p for p in protections}
    lines = []
    for kind, needed in STRICT_REQUIREMENTS.items():
        lacking = [by_name.get(name) or Protection(name, False, "not probed") for name in needed]
        lacking = [p for p in lacking if not p.available]
        if lacking:
            lines.append(f"{kind} isolation needs " + ", ".join(f"{p.name} ({p.detail})" for p in lacking))
    return lines


def _python_read_paths(scratch_root: str) -> list[str]:
    """The Python installation and installed packages, without this package's source tree
    (where the hidden utilities live) and without the scratch space (on `sys.path` as the
    worker's working directory)."""
    own_source = str(Path(__file__).resolve().parents[1])  # .../selftaught
    scratch_root = os.path.realpath(scratch_root)
    roots: set[str] = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.update(p for p in sys.path if p and os.path.isdir(p))
    paths: set[str] = set()
    for root in {os.path.realpath(r) for r in roots}:
        if root == scratch_root or root.startswith(scratch_root + os.sep):
            continue
        if own_source.startswith(root + os.sep):
            # an installed (not editable) copy: allow its neighbours, never the package itself
            parent = os.path.dirname(own_source)
            if parent == root or parent.startswith(root + os.sep):
                paths.update(
                    entry.path for entry in os.scandir(parent) if os.path.realpath(entry.path) != own_source
                )
                continue
        if root == os.path.dirname(own_source):
            continue  # the source tree of an editable install (src/): the hidden utilities live there
        paths.add(root)
    return sorted(paths)


def _read_rules(scratch_root: str) -> list[landlock.Rule]:
    system = [
        "/usr/lib",
        "/usr/lib64",
        "/lib",
        "/lib64",
        "/usr/local/lib",
        "/usr/share/zoneinfo",
        "/etc/localtime",
        "/etc/ld.so.cache",
        "/sys/devices/system/cpu",
        "/dev/urandom",
        "/dev/random",
        "/dev/zero",
    ]
    rules = [landlock.Rule(p, landlock.READ) for p in [*system, *_python_read_paths(scratch_root)]]
    rules.append(landlock.Rule("/dev/null", landlock.READ_WRITE_DEVICE))
    return rules


def _world_readable(path: str) -> bool:
    """Whether an unprivileged uid can reach and read `path` (every parent searchable)."""
    current = os.path.realpath(path)
    try:
        if not os.stat(current).st_mode & stat.S_IROTH:
            return False
        while current != "/":
            current = os.path.dirname(current)
            if not os.stat(current).st_mode & stat.S_IXOTH:
                return False
    except OSError:
        return False
    return True


@dataclass
class Confinement:
    """A worker's isolation: set up once in the worker, applied in every child it forks."""

    mode: str
    protections: dict[str, Protection] = field(default_factory=dict)
    allowlist: landlock.Allowlist | None = None
    filter: seccomp.Filter | None = None
    drop_uid: bool = False
    keep_read_search: bool = False
    tmpfs: bool = False
    user_namespace: bool = False
    namespace: Namespace | None = None  # the worker's PID namespace, where it has one
    cgroups: MemoryCgroups | None = None  # a memory cgroup per child, where one can be made

    def _note(self, name: str, available: bool, detail: str) -> None:
        self.protections[name] = Protection(name, available, detail)

    @classmethod
    def set_up(cls, mode: str, scratch_root: str) -> Confinement:
        """Isolate the calling worker (before it starts threads) and prepare per-child steps."""
        self = cls(mode)
        self._namespaces(scratch_root)
        self._landlock(scratch_root)
        self._seccomp()
        self._privileges()
        self._memory_cgroups()
        self._hide_proc()  # last: the steps above read /proc/self/status
        self._note(RLIMITS, True, "address space, CPU time, file size, open files, no core dumps")
        try:
            kernel.prctl(kernel.PR_SET_CHILD_SUBREAPER, 1)
        except OSError:
            pass
        return self

    def _namespaces(self, scratch_root: str) -> None:
        root = os.geteuid() == 0
        flags = kernel.CLONE_NEWNET | kernel.CLONE_NEWNS | kernel.CLONE_NEWIPC
        pid_error = ""
        try:
            if root:
                pid_error = _unshare_with_pid(flags)
                how = "own network, mount and IPC namespaces per worker"
            else:
                uid, gid = os.getuid(), os.getgid()
                pid_error = _unshare_with_pid(kernel.CLONE_NEWUSER | flags)
                self.user_namespace = True
                for name, text in (
                    ("setgroups", "deny"),
                    ("uid_map", f"{uid} {uid} 1"),  # the same ids inside: no uid 0 to setuid to
                    ("gid_map", f"{gid} {gid} 1"),
                ):
                    with open(f"/proc/self/{name}", "w") as f:
                        f.write(text)
                how = "own user, network, mount and IPC namespaces per worker"
            kernel.mount(None, "/", None, kernel.MS_REC | kernel.MS_PRIVATE, None)
            self._note(NETWORK_NAMESPACE, True, how + " (no interface up, not even loopback)")
            self._note(IPC_NAMESPACE, True, "SysV segments of the host and of other workers are out of sight")
        except OSError as exc:
            self._note(NETWORK_NAMESPACE, False, f"unshare failed: {exc.strerror}")
            self._note(IPC_NAMESPACE, False, f"unshare failed: {exc.strerror}")
            self._note(PID_NAMESPACE, False, f"unshare failed: {exc.strerror}")
            self._note(SCRATCH_CAP, False, "no private mount namespace for a tmpfs scratch")
            return
        self._pid_namespace(pid_error)
        probe = os.path.join(scratch_root, ".tmpfs-probe")
        try:
            os.makedirs(probe, exist_ok=True)
            kernel.mount("tmpfs", probe, "tmpfs", kernel.MS_NOSUID | kernel.MS_NODEV, "size=1m")
            kernel.umount(probe)
            self.tmpfs = True
            self._note(SCRATCH_CAP, True, "each child's scratch is a tmpfs of limited size")
        except OSError as exc:
            self._note(SCRATCH_CAP, False, f"cannot mount a tmpfs: {exc.strerror}")
        finally:
            try:
                os.rmdir(probe)
            except OSError:
                pass

    def _pid_namespace(self, unshare_error: str) -> None:
        if unshare_error:
            self._note(PID_NAMESPACE, False, f"unshare(CLONE_NEWPID) failed: {unshare_error}")
            return
        try:
            self.namespace = Namespace.start()
        except OSError as exc:
            self._note(PID_NAMESPACE, False, f"cannot start the namespace's init: {exc.strerror}")
            return
        self._note(
            PID_NAMESPACE,
            True,
            "one per worker: a child sees no process of the machine, not even its worker (parent pid 0)",
        )

    def _hide_proc(self) -> None:
        if self.namespace is None:
            return
        try:
            self.namespace.hide_proc()
        except OSError as exc:
            detail = self.protections[PID_NAMESPACE].detail
            self._note(PID_NAMESPACE, True, f"{detail}; /proc still lists the machine's ({exc.strerror})")
            return
        detail = self.protections[PID_NAMESPACE].detail
        self._note(PID_NAMESPACE, True, f"{detail}; /proc is an empty read-only tmpfs")

    def _memory_cgroups(self) -> None:
        self.cgroups, how = MemoryCgroups.set_up()
        if self.cgroups is None:
            self._note(
                MEMORY_CGROUP,
                False,
                f"{how}: a child's memory is bounded by its address-space limit plus its scratch size",
            )
            return
        self._note(MEMORY_CGROUP, True, f"{how}: a child's memory and its tmpfs scratch share one limit")

    def _landlock(self, scratch_root: str) -> None:
        abi = landlock.abi_version()
        if abi < 1:
            self._note(LANDLOCK_FS, False, "the kernel has no Landlock (Linux 5.13+, enabled in lsm=)")
            self._note(LANDLOCK_NET, False, "needs Landlock ABI 4 (Linux 6.7+)")
            self._note(LANDLOCK_SCOPE, False, "needs Landlock ABI 6 (Linux 6.12+)")
            return
        self.allowlist = landlock.Allowlist(abi, _read_rules(scratch_root))
        self._note(LANDLOCK_FS, True, f"ABI {abi}: read the Python installation, write only scratch")
        net = "no TCP bind or connect" if abi >= 4 else "needs ABI 4 (Linux 6.7+)"
        scope = "no signals or abstract sockets beyond the child" if abi >= 6 else "needs ABI 6 (Linux 6.12+)"
        self._note(LANDLOCK_NET, abi >= 4, f"ABI {abi}: {net}")
        self._note(LANDLOCK_SCOPE, abi >= 6, f"ABI {abi}: {scope}")

    def _seccomp(self) -> None:
        if not seccomp.supported():
            self._note(SECCOMP, False, f"no syscall table for {kernel.machine()}")
            self._note_seccomp_parts(False)
            return
        try:
            with open("/proc/self/status") as status:
                if "Seccomp:" not in status.read():
                    raise OSError("the kernel has no seccomp")
            self.filter = seccomp.Filter()
        except OSError as exc:
            self._note(SECCOMP, False, str(exc))
            self._note_seccomp_parts(False)
            return
        self._note(
            SECCOMP,
            True,
            f"{self.filter.length} BPF instructions: no fork/exec, no new sockets or connect, no SysV/POSIX "
            "IPC, no memfd, no signals out (F_SETOWN included), death signal locked",
        )
        self._note_seccomp_parts(True)

    def _note_seccomp_parts(self, available: bool) -> None:
        for name, detail in SECCOMP_PARTS.items():
            self._note(name, available, f"seccomp: {detail}" if available else "needs the seccomp filter")

    def _privileges(self) -> None:
        cap_setuid = 7
        if os.geteuid() == 0 and not self.user_namespace and kernel.has_capability(cap_setuid):
            self.drop_uid = True
            self.keep_read_search = not _world_readable(os.path.join(sys.base_prefix, "lib"))
            detail = "a uid of its own per child, no capabilities"
            if self.keep_read_search:
                detail += " but CAP_DAC_READ_SEARCH (the Python installation is not world-readable)"
            self._note(PRIVILEGE_DROP, True, detail)
            self._note(THREAD_CAP, True, "RLIMIT_NPROC counts only the child's own uid")
        else:
            self._note(PRIVILEGE_DROP, True, "children run without capabilities (no uid of their own)")
            self._note(
                THREAD_CAP, False, "needs a uid per child (root): RLIMIT_NPROC would count your processes"
            )

    def confine_child(
        self, sock_fd: int, scratch: str, scratch_bytes: int, host_pid: int, cgroup: str | None = None
    ) -> list[str]:
        """Confine the calling child and move it into `scratch`; return what was applied.

        `host_pid` is the child's pid as its worker sees it (inside the worker's PID
        namespace `os.getpid()` is another, small number); its uid is derived from it, so
        uids stay unique across workers. `cgroup`, where there is one, is the memory cgroup
        the child joins first, so that its scratch's pages are charged to it.

        Everything but the rlimits happens here, while the child waits as a spare; the
        rlimits (`limit_child`) only lower limits, which needs no privilege. In strict
        mode any failure raises, and the child exits before serving.
        """
        strict = self.mode == "strict"
        applied: list[str] = []
        pid, parent = os.getpid(), os.getppid()
        uid = UID_BASE + host_pid

        def step(name: str, action) -> None:
            try:
                action()
                applied.append(name)
            except OSError:
                if strict:
                    raise

        if cgroup is not None and self._join_cgroup(cgroup):
            applied.append(MEMORY_CGROUP)
        if self.tmpfs:
            step(SCRATCH_CAP, lambda: _mount_scratch(scratch, scratch_bytes))
        os.chdir(scratch)
        if self.drop_uid:
            os.chown(scratch, uid, uid)
        keep = {sock_fd, *(self.allowlist.fds if self.allowlist else [])}
        _close_other_fds(keep)
        kernel.prctl(kernel.PR_SET_NO_NEW_PRIVS, 1)
        if self.allowlist is not None:
            step(LANDLOCK_FS, lambda: self.allowlist.restrict(scratch))
            if LANDLOCK_FS in applied:
                applied += [n for n in (LANDLOCK_NET, LANDLOCK_SCOPE) if self.protections[n].available]
            _close_other_fds({sock_fd})
        if self.drop_uid:
            step(PRIVILEGE_DROP, lambda: _become(uid, self.keep_read_search))
        else:
            step(PRIVILEGE_DROP, lambda: kernel.set_capabilities(()))
        kernel.prctl(kernel.PR_SET_PDEATHSIG, signal.SIGKILL)  # after the uid change, which clears it
        if os.getppid() != parent:
            raise OSError("the worker exited while the child was starting")
        if self.filter is not None:
            step(SECCOMP, lambda: self.filter.install(pid))
            if SECCOMP in applied:
                applied += list(SECCOMP_PARTS)
        return applied + self._come_with(applied)

    def _join_cgroup(self, cgroup: str) -> bool:
        """Join the child's memory cgroup; not a strict-mode requirement: without it the bound is stated."""
        if self.cgroups is None:
            return False
        try:
            self.cgroups.join(cgroup)
        except OSError:
            return False
        return True

    def _come_with(self, applied: list[str]) -> list[str]:
        """What a confined child has without a step of its own: the worker's namespaces, and the
        thread cap that a uid of its own gives."""
        given = [
            name
            for name in (NETWORK_NAMESPACE, IPC_NAMESPACE, PID_NAMESPACE)
            if self.protections.get(name, Protection("", False, "")).available
        ]
        if self.drop_uid and PRIVILEGE_DROP in applied:
            given.append(THREAD_CAP)
        return given

    def limit_child(self, limits: dict) -> None:
        """Apply the rlimits of the request a spare child was handed out for."""
        apply_limits(limits, threads=int(limits.get("threads", 0)) if self.drop_uid else 0)


def _unshare_with_pid(flags: int) -> str:
    """unshare(flags) with a new PID namespace for the caller's children, or without one
    where the kernel refuses it; returns why not ("" when it worked)."""
    try:
        kernel.unshare(flags | kernel.CLONE_NEWPID)
        return ""
    except OSError as exc:
        kernel.unshare(flags)
        return exc.strerror or str(exc)


def _mount_scratch(scratch: str, size: int) -> None:
    """A tmpfs of `size` bytes over `scratch`, in a mount namespace of the child's own.

    It vanishes with the child; unmounting in the worker instead would cost it ~3 ms a child.
    """
    kernel.unshare(kernel.CLONE_NEWNS)
    options = f"size={max(1, size // 1024)}k,nr_inodes=4096,mode=0700"
    kernel.mount("tmpfs", scratch, "tmpfs", kernel.MS_NOSUID | kernel.MS_NODEV, options)


def _become(uid: int, keep_read_search: bool) -> None:
    """Switch to `uid` for good, keeping at most CAP_DAC_READ_SEARCH."""
    kernel.prctl(kernel.PR_SET_KEEPCAPS, 1)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    kernel.set_capabilities((kernel.CAP_DAC_READ_SEARCH,) if keep_read_search else ())
    kernel.prctl(kernel.PR_SET_KEEPCAPS, 0)


def _close_other_fds(keep: set[int]) -> None:
    """Close every descriptor above stderr that is not in `keep`."""
    low = 3
    for fd in sorted(keep):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, 65536)
