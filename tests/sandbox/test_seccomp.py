"""Every syscall number in the seccomp filter is the syscall its name says (x86_64)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from selftaught.sandbox import seccomp

HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
# Newer than many installed headers; numbers from the kernel's syscall_64.tbl.
NEWER = {"memfd_secret": 447, "process_mrelease": 448, "statmount": 457, "listmount": 458}


def _kernel_table() -> dict[str, int]:
    if not HEADER.exists():
        pytest.skip("no x86_64 unistd_64.h on this machine")
    table = {m[0]: int(m[1]) for m in re.findall(r"#define __NR_(\w+) (\d+)", HEADER.read_text())}
    return {**NEWER, **table}


def test_every_named_syscall_has_the_kernels_number():
    kernel = _kernel_table()
    wrong = {
        name: (number, kernel.get(name))
        for name, number in seccomp.X86_64.items()
        if kernel.get(name) != number
    }
    assert wrong == {}


def test_every_number_the_filter_compares_maps_back_to_a_named_syscall(monkeypatch):
    monkeypatch.setattr(seccomp.kernel, "machine", lambda: "x86_64")
    program, _ = seccomp._assemble(seccomp.X86_64)
    by_number = {number: name for name, number in _kernel_table().items()}
    # the syscall-number dispatch: JEQ instructions after the load of nr, up to the first return
    dispatch = []
    for code, _jt, _jf, k in program[3:]:
        if code == seccomp._RET:
            break
        if code == seccomp._JEQ:
            dispatch.append(k)
    names = [by_number.get(k, f"unknown {k}") for k in dispatch]
    assert not [n for n in names if n.startswith("unknown")]
    expected = {"clone3", *seccomp.DENIED, "clone", "kill", "tgkill", "rt_sigqueueinfo"}
    expected |= {"rt_tgsigqueueinfo", "prctl", "fcntl", "ioctl"}
    assert set(names) == expected
    for name in ("socket", "connect", "shmget", "msgget", "semget", "memfd_create", "setsockopt", "execve"):
        assert name in names
