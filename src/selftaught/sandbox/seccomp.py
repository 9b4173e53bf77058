"""A seccomp-BPF filter, assembled by hand, that takes process creation, networking and IPC away.

Raw BPF through `prctl(PR_SET_SECCOMP)` needs no library (libseccomp, pyseccomp) and costs
one syscall per child. What the filter denies, with EPERM:

- new processes: fork, vfork, execve, clone without CLONE_THREAD (threads still work);
  clone3 answers ENOSYS so that libc falls back to the clone it can inspect;
- any namespace, mount, ptrace or cross-process memory call, kernel modules, keyrings,
  BPF, io_uring (which would bypass the filter), handles to files by inode;
- every new socket (the child's channel exists before the filter), `connect`, `bind`,
  `listen`, `accept` and `setsockopt`: no IP of any kind, DNS included, no Unix socket of the
  host (the Docker socket, the session bus), no socket buffers forced past the default;
- SysV IPC (shm, sem, msg) and POSIX message queues: no channel between children or to
  the host; `memfd_create`, `memfd_secret`, and `fcntl(F_SETPIPE_SZ)`: no memory outside
  the address-space limit beyond default pipe buffers;
- signals to any process but the child itself by its own pid (`kill(-1)`, `kill(0)` and
  process groups included:
  BPF compares unsigned, so the filter names the child's own pid instead of a range), and
  the indirect routes: `fcntl` F_SETOWN, F_SETOWN_EX, F_SETSIG, F_SETLEASE, F_NOTIFY and
  `ioctl` FIOSETOWN, SIOCSPGRP;
- `prctl(PR_SET_PDEATHSIG)`: the child cannot clear its death signal to outlive its worker;
- other processes: `prlimit64`, the `sched_set*`/`sched_get*` calls, `getpgid`, `getsid`,
  `setpriority` and `getpriority` only on the child itself (pid 0 or its own; no PRIO_USER,
  which would renice every process of the user), `ioprio_set`/`ioprio_get` not at all:
  a child can neither lower the orchestrator's CPU limit nor renice, re-pin or probe anyone;
- file metadata, which Landlock does not cover: the chmod and chown family, `utime`,
  `utimes`, `utimensat`, `futimesat`, `file_setattr` and the `FS_IOC_SETFLAGS`/`FSSETXATTR`
  ioctls (EPERM; `shutil.copy` and `copy2` therefore fail, `copyfile` works), extended
  attributes and ACLs read or written (EOPNOTSUPP, as on a file system without them), and
  `inotify`/`fanotify`: no private file opened to the world, no data passed in a file's
  times or attributes, no watching the run store being written.

Syscalls of another architecture (the 32-bit entry points) kill the process. Only x86_64
is described; elsewhere `supported()` is false and the sandbox reports it.
"""

from __future__ import annotations

import ctypes
import struct
from typing import Any

from selftaught.sandbox import kernel

_AUDIT_ARCH = {"x86_64": 0xC000003E}
_X32_BIT = 0x40000000

# The x86_64 syscall table, for every syscall the filter names (tests/sandbox/test_seccomp.py
# checks each number against the kernel's unistd_64.h).
# fmt: off
X86_64 = {
    "ioctl": 16, "shmget": 29, "shmat": 30, "shmctl": 31, "socket": 41, "connect": 42, "accept": 43,
    "bind": 49, "listen": 50, "socketpair": 53, "setsockopt": 54, "clone": 56, "fork": 57, "vfork": 58,
    "execve": 59, "kill": 62, "semget": 64, "semop": 65, "semctl": 66, "shmdt": 67, "msgget": 68,
    "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "fcntl": 72, "ptrace": 101, "syslog": 103, "setpgid": 109,
    "setsid": 112, "rt_sigqueueinfo": 129, "uselib": 134, "mknod": 133, "personality": 135,
    "vhangup": 153, "pivot_root": 155, "prctl": 157, "adjtimex": 159, "chroot": 161, "acct": 163,
    "settimeofday": 164, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169,
    "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173, "init_module": 175,
    "delete_module": 176, "quotactl": 179, "lookup_dcookie": 212, "semtimedop": 220,
    "clock_settime": 227, "tgkill": 234, "tkill": 200, "mq_open": 240, "mq_unlink": 241,
    "mq_timedsend": 242, "mq_timedreceive": 243, "mq_notify": 244, "mq_getsetattr": 245,
    "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250, "migrate_pages": 256,
    "mknodat": 259, "unshare": 272, "get_robust_list": 274, "move_pages": 279, "accept4": 288,
    "rt_tgsigqueueinfo": 297, "perf_event_open": 298, "name_to_handle_at": 303, "open_by_handle_at": 304,
    "clock_adjtime": 305, "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "finit_module": 313, "memfd_create": 319, "kexec_file_load": 320, "bpf": 321, "execveat": 322,
    "userfaultfd": 323, "pidfd_send_signal": 424, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "pidfd_open": 434, "clone3": 435, "pidfd_getfd": 438,
    "process_madvise": 440, "mount_setattr": 442, "quotactl_fd": 443, "memfd_secret": 447,
    "process_mrelease": 448, "statmount": 457, "listmount": 458,
    # other processes' scheduling, priority and limits
    "getpgid": 121, "getsid": 124, "getpriority": 140, "setpriority": 141, "sched_setparam": 142,
    "sched_getparam": 143, "sched_setscheduler": 144, "sched_getscheduler": 145,
    "sched_rr_get_interval": 148, "sched_setaffinity": 203, "sched_getaffinity": 204,
    "ioprio_set": 251, "ioprio_get": 252, "prlimit64": 302, "sched_setattr": 314, "sched_getattr": 315,
    # file modes, owners, times, extended attributes, watches
    "chmod": 90, "fchmod": 91, "chown": 92, "fchown": 93, "lchown": 94, "utime": 132, "utimes": 235,
    "fchownat": 260, "futimesat": 261, "fchmodat": 268, "utimensat": 280, "fchmodat2": 452,
    "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190, "getxattr": 191, "lgetxattr": 192,
    "fgetxattr": 193, "listxattr": 194, "llistxattr": 195, "flistxattr": 196, "removexattr": 197,
    "lremovexattr": 198, "fremovexattr": 199, "setxattrat": 463, "getxattrat": 464, "listxattrat": 465,
    "removexattrat": 466, "open_tree_attr": 467, "file_getattr": 468, "file_setattr": 469,
    "inotify_init": 253, "inotify_add_watch": 254, "inotify_init1": 294, "fanotify_init": 300,
    "fanotify_mark": 301,
}

# Denied outright, with EPERM.
DENIED = (
    # processes and programs
    "fork", "vfork", "execve", "execveat", "setsid", "setpgid", "tkill", "pidfd_send_signal",
    "pidfd_open", "pidfd_getfd",
    # namespaces, mounts, other processes
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "ptrace", "process_vm_readv",
    "process_vm_writev", "kcmp", "get_robust_list", "process_madvise", "process_mrelease",
    "migrate_pages", "move_pages", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
    "mount_setattr", "statmount", "listmount",
    # the kernel itself
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff",
    "quotactl", "quotactl_fd", "acct", "settimeofday", "clock_settime", "adjtimex", "clock_adjtime",
    "sethostname", "setdomainname", "iopl", "ioperm", "personality", "syslog", "vhangup", "uselib",
    "lookup_dcookie", "mknod", "mknodat", "name_to_handle_at", "open_by_handle_at", "io_uring_setup",
    "io_uring_enter", "io_uring_register",
    # sockets: the channel exists before the filter, so no new socket and no connect is needed
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "setsockopt",
    # SysV and POSIX IPC, memory outside the address-space limit
    "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop", "msgget", "msgsnd",
    "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
    "mq_getsetattr", "memfd_create", "memfd_secret",
    # another process's I/O priority (a renice of the user's processes), named or probed
    "ioprio_set", "ioprio_get",
    # file modes, owners and times: Landlock does not cover them, so a child could open a user's
    # private files to the world or pass data in a file's times (a channel that outlives the run)
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
    "utime", "utimes", "utimensat", "futimesat", "file_setattr", "file_getattr", "open_tree_attr",
    # watches on what the host does (the run store being written)
    "inotify_init", "inotify_init1", "inotify_add_watch", "fanotify_init", "fanotify_mark",
)

# Denied with EOPNOTSUPP, which callers treat as "this file system keeps no such attributes"
# (shutil.copystat does): extended attributes and ACLs, read or written.
UNSUPPORTED = (
    "setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr", "listxattr",
    "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr", "setxattrat",
    "getxattrat", "listxattrat", "removexattrat",
)

# Allowed only on the child itself (first argument 0 or its own pid): limits, scheduling and
# affinity of another process of the user (the orchestrator's RLIMIT_CPU, say), and probes
# that would tell which pids exist. setrlimit/getrlimit (no pid) stay allowed.
SELF_ONLY = (
    "prlimit64", "sched_setaffinity", "sched_getaffinity", "sched_setscheduler", "sched_getscheduler",
    "sched_setparam", "sched_getparam", "sched_setattr", "sched_getattr", "sched_rr_get_interval",
    "getpgid", "getsid",
)
# Allowed only as (PRIO_PROCESS, 0 or own pid): PRIO_USER with 0 would renice every process of the user.
PRIORITY = ("setpriority", "getpriority")
# fmt: on

_NR = {"x86_64": X86_64}

# Syscalls numbered below this are allowed before any other comparison: on x86_64 read, write,
# open, close, the stat calls, poll, lseek, mmap, mprotect, munmap, brk, rt_sigaction,
# rt_sigprocmask and rt_sigreturn, the bulk of what a child does (none is filtered).
ALWAYS_ALLOWED_BELOW = 16

# Argument values denied for syscalls that are otherwise needed.
PR_SET_PDEATHSIG = 1  # prctl: the child may not clear its death signal and outlive its worker
DENIED_FCNTL = (8, 10, 15, 1024, 1026, 1031)  # F_SETOWN F_SETSIG F_SETOWN_EX F_SETLEASE F_NOTIFY F_SETPIPE_SZ
# FIOSETOWN SIOCSPGRP (signal delivery to another process); FS_IOC_SETFLAGS, FS_IOC_SETVERSION and
# FS_IOC_FSSETXATTR (a file's flags, generation and project: metadata outside Landlock's rights)
DENIED_IOCTL = (0x8901, 0x8902, 0x40086602, 0x40087602, 0x401C5820)


_CLONE_THREAD = 0x00010000
_CLONE_NAMESPACES = 0x7E020000  # NEWNS NEWCGROUP NEWUTS NEWIPC NEWUSER NEWPID NEWNET
_EPERM = 1
_ENOSYS = 38
_EOPNOTSUPP = 95
_PRIO_PROCESS = 0
_DENY_BLOCK = 100  # syscalls compared per block, so that every jump stays within BPF's 255

_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000

# classic BPF opcodes
_LD_W_ABS = 0x20
_JEQ = 0x15
_JGE = 0x35
_JSET = 0x45
_JA = 0x05
_RET = 0x06

_OFF_NR = 0
_OFF_ARCH = 4
_OFF_ARG0_LOW = 16  # little-endian: the low 32 bits of args[0]
_OFF_ARG1_LOW = 24

_OWN_PID = "own pid"  # placeholder patched per child


def supported() -> bool:
    """Whether this machine's syscalls are described here."""
    return kernel.machine() in _NR


def _deny_blocks(
    nr: dict, names: tuple[str, ...], errno: int, tag: str
) -> list[tuple[object, object, object, object]]:
    """Compare the syscall number with each of `names` and return `errno` on a match, in
    blocks short enough for BPF's 8-bit jumps (each block ends in its own return)."""
    program: list[tuple[object, object, object, object]] = []
    for start in range(0, len(names), _DENY_BLOCK):
        label = f"{tag}-{start}"
        program += [(_JEQ, label, 0, nr[name]) for name in names[start : start + _DENY_BLOCK]]
        program += [(_JA, 0, 0, 1), (label, None, None, None), (_RET, 0, 0, _RET_ERRNO | errno)]
    return program


def _assemble(nr: dict) -> tuple[list[tuple[int, int, int, object]], list[int]]:
    """The filter as (code, jt, jf, k) with labels resolved; also where the pid goes."""
    program: list[tuple[object, object, object, object]] = [
        (_LD_W_ABS, 0, 0, _OFF_ARCH),
        (_JEQ, 1, 0, _AUDIT_ARCH[kernel.machine()]),
        (_RET, 0, 0, _RET_KILL_PROCESS),
        (_LD_W_ABS, 0, 0, _OFF_NR),
        (_JGE, 0, 1, _X32_BIT),
        (_RET, 0, 0, _RET_ERRNO | _ENOSYS),
        (_JGE, 1, 0, ALWAYS_ALLOWED_BELOW),  # read, write, mmap and the like: one comparison
        (_RET, 0, 0, _RET_ALLOW),
        (_JEQ, 0, 1, nr["clone3"]),
        (_RET, 0, 0, _RET_ERRNO | _ENOSYS),
    ]
    program += _deny_blocks(nr, DENIED, _EPERM, "denied")
    program += _deny_blocks(nr, UNSUPPORTED, _EOPNOTSUPP, "unsupported")
    program += [(_JEQ, "self_only", 0, nr[name]) for name in SELF_ONLY]
    program += [(_JEQ, "priority", 0, nr[name]) for name in PRIORITY]
    program += [
        (_JEQ, "clone", 0, nr["clone"]),
        (_JEQ, "kill_pid", 0, nr["kill"]),
        (_JEQ, "own_tgid", 0, nr["tgkill"]),
        (_JEQ, "own_tgid", 0, nr["rt_sigqueueinfo"]),
        (_JEQ, "own_tgid", 0, nr["rt_tgsigqueueinfo"]),
        (_JEQ, "prctl", 0, nr["prctl"]),
        (_JEQ, "fcntl", 0, nr["fcntl"]),
        (_JEQ, "ioctl", 0, nr["ioctl"]),
        (_RET, 0, 0, _RET_ALLOW),
        ("clone", None, None, None),
        (_LD_W_ABS, 0, 0, _OFF_ARG0_LOW),
        (_JSET, 0, "eperm", _CLONE_THREAD),
        (_JSET, "eperm", "allow", _CLONE_NAMESPACES),
        ("priority", None, None, None),
        (_LD_W_ABS, 0, 0, _OFF_ARG0_LOW),
        (_JEQ, 0, "eperm", _PRIO_PROCESS),
        (_LD_W_ABS, 0, 0, _OFF_ARG1_LOW),
        (_JEQ, "allow", 0, 0),
        (_JEQ, "allow", "eperm", _OWN_PID),
        ("self_only", None, None, None),  # pid 0: the calling process
        (_LD_W_ABS, 0, 0, _OFF_ARG0_LOW),
        (_JEQ, "allow", 0, 0),
        (_JEQ, "allow", "eperm", _OWN_PID),
        # kill() only to its own pid: kill(0) names its process group, which is only itself,
        # but in a PID namespace its parent pid reads 0, and kill(getppid()) must not look allowed
        ("kill_pid", None, None, None),
        ("own_tgid", None, None, None),
        (_LD_W_ABS, 0, 0, _OFF_ARG0_LOW),
        (_JEQ, "allow", "eperm", _OWN_PID),
        ("prctl", None, None, None),
        (_LD_W_ABS, 0, 0, _OFF_ARG0_LOW),
        (_JEQ, "eperm", "allow", PR_SET_PDEATHSIG),
        ("fcntl", None, None, None),
        (_LD_W_ABS, 0, 0, _OFF_ARG1_LOW),
        *[(_JEQ, "eperm", 0, cmd) for cmd in DENIED_FCNTL],
        (_RET, 0, 0, _RET_ALLOW),
        ("ioctl", None, None, None),
        (_LD_W_ABS, 0, 0, _OFF_ARG1_LOW),
        *[(_JEQ, "eperm", 0, cmd) for cmd in DENIED_IOCTL],
        ("allow", None, None, None),
        (_RET, 0, 0, _RET_ALLOW),
        ("eperm", None, None, None),
        (_RET, 0, 0, _RET_ERRNO | _EPERM),
    ]
    labels: dict[str, int] = {}
    code: list[tuple[Any, ...]] = []
    for op in program:
        if isinstance(op[0], str):
            labels[op[0]] = len(code)
        else:
            code.append(op)

    def target(at: int, jump: object) -> int:
        if isinstance(jump, int):
            return jump
        offset = labels[str(jump)] - at - 1
        if not 0 <= offset <= 255:
            raise ValueError(f"seccomp jump to {jump!r} is out of range")
        return offset

    resolved = [(c, target(i, jt), target(i, jf), k) for i, (c, jt, jf, k) in enumerate(code)]
    pid_slots = [i for i, (_, _, _, k) in enumerate(resolved) if k == _OWN_PID]
    return resolved, pid_slots


class Filter:
    """The filter, assembled once per worker; `install(pid)` loads it into a child."""

    _INSTRUCTION = struct.Struct("=HBBI")

    def __init__(self) -> None:
        if not supported():
            raise OSError(f"no seccomp syscall table for {kernel.machine()}")
        program, self._pid_slots = _assemble(_NR[kernel.machine()])
        self._bytes = bytearray(self._INSTRUCTION.size * len(program))
        for i, (code, jt, jf, k) in enumerate(program):
            self._INSTRUCTION.pack_into(
                self._bytes, i * self._INSTRUCTION.size, code, jt, jf, 0 if k == _OWN_PID else k
            )
        self.length = len(program)

    def install(self, own_pid: int) -> None:
        """Load the filter into the calling thread (no_new_privs must already be set)."""
        data = bytearray(self._bytes)
        for i in self._pid_slots:
            code, jt, jf, _ = self._INSTRUCTION.unpack_from(data, i * self._INSTRUCTION.size)
            self._INSTRUCTION.pack_into(data, i * self._INSTRUCTION.size, code, jt, jf, own_pid)
        buffer = (ctypes.c_char * len(data)).from_buffer(data)
        program = _SockFprog(self.length, ctypes.cast(buffer, ctypes.c_void_p))
        kernel.prctl(kernel.PR_SET_SECCOMP, kernel.SECCOMP_MODE_FILTER, ctypes.addressof(program))


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
