"""Thin ctypes access to the Linux calls the sandbox needs and Python 3.11 does not expose.

Python 3.11 has no `os.unshare`, `mount`, `prctl`, `capset` or Landlock calls, so they go
through libc here, each raising `OSError` with the kernel's errno. Nothing in this module
decides policy; `isolation.py` does.
"""

from __future__ import annotations

import ctypes
import os
import platform

# Syscall numbers that libc has no wrapper for, per machine. Landlock's are the same on all.
_SYSCALLS = {
    "x86_64": {"landlock_create_ruleset": 444, "landlock_add_rule": 445, "landlock_restrict_self": 446},
    "aarch64": {"landlock_create_ruleset": 444, "landlock_add_rule": 445, "landlock_restrict_self": 446},
}

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 0x2

PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

CAP_DAC_READ_SEARCH = 2
_CAPABILITY_VERSION_3 = 0x20080522

_libc: ctypes.CDLL | None = None


def libc() -> ctypes.CDLL:
    """The process's libc, loaded once, with errno captured for every call."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
        _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        _libc.mount.argtypes = [
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_ulong,
            ctypes.c_char_p,
        ]
    return _libc


def machine() -> str:
    """The machine name the syscall tables are keyed by (x86_64, aarch64, ...)."""
    return platform.machine()


def syscall_number(name: str) -> int | None:
    """Number of a syscall that has no libc wrapper, or None on an unknown machine."""
    return _SYSCALLS.get(machine(), {}).get(name)


def check(result: int, what: str) -> int:
    """Raise OSError with the current errno when a libc call returned -1."""
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    """prctl(2)."""
    return check(libc().prctl(option, arg2, arg3, arg4, arg5), f"prctl({option})")


def unshare(flags: int) -> None:
    """unshare(2): move this process into new namespaces."""
    check(libc().unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    """mount(2)."""
    encode = lambda s: None if s is None else s.encode()  # noqa: E731
    check(libc().mount(encode(source), target.encode(), encode(fstype), flags, encode(data)), "mount")


def umount(target: str, flags: int = MNT_DETACH) -> None:
    """umount2(2), lazily by default so a busy mount still goes."""
    check(libc().umount2(target.encode(), flags), "umount2")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def set_capabilities(keep: tuple[int, ...] = ()) -> None:
    """Reduce this thread's effective, permitted and inheritable capabilities to `keep`."""
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    for cap in keep:
        word, bit = divmod(cap, 32)
        data[word].effective |= 1 << bit
        data[word].permitted |= 1 << bit
    check(libc().capset(ctypes.byref(header), data), "capset")


def has_capability(cap: int) -> bool:
    """Whether `cap` is in this process's effective set (read from /proc/self/status)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> cap & 1)
    except OSError:
        pass
    return False
