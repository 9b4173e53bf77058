"""The read allowlist (the Python installation, never this package's source or the scratch space),
the PID namespace's view of the worker's children, and a child's memory cgroup."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import selftaught.sandbox.isolation as isolation


def test_an_installed_copy_of_the_package_is_left_out_of_the_allowlist(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    (site / "selftaught" / "sandbox").mkdir(parents=True)
    (site / "numpy").mkdir()
    (site / "helper.py").write_text("")
    monkeypatch.setattr(isolation, "__file__", str(site / "selftaught" / "sandbox" / "isolation.py"))
    monkeypatch.setattr(sys, "path", [str(site)])
    paths = isolation._python_read_paths(str(tmp_path / "scratch"))
    assert str(site / "numpy") in paths and str(site / "helper.py") in paths
    package = str(site / "selftaught")
    assert str(site) not in paths and not any(p == package or p.startswith(package + "/") for p in paths)


def test_an_editable_source_tree_and_the_scratch_space_are_left_out(tmp_path, monkeypatch):
    src = tmp_path / "src"
    (src / "selftaught" / "sandbox").mkdir(parents=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(isolation, "__file__", str(src / "selftaught" / "sandbox" / "isolation.py"))
    monkeypatch.setattr(sys, "path", [str(scratch), str(src)])
    paths = isolation._python_read_paths(str(scratch))
    assert str(src) not in paths and str(scratch) not in paths
    assert sys.base_prefix in paths or any(sys.base_prefix.startswith(p) for p in paths)


def test_the_namespace_finds_a_workers_children_through_the_real_proc(tmp_path):
    """The worker kills orphans the namespace's init adopted; it finds them through a
    descriptor of the machine's /proc, since its own /proc is covered."""
    import signal

    from selftaught.sandbox.pidns import Namespace

    read_end, release_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.read(read_end, 1)
        os._exit(0)
    namespace = Namespace(init_pid=-1, release_fd=release_end)
    try:
        assert pid in namespace.children_of(os.getpid())  # through /proc itself
        namespace.proc_fd = os.open("/proc", os.O_PATH | os.O_DIRECTORY)
        assert pid in namespace.children_of(os.getpid())  # through the kept descriptor
        assert pid in namespace.worker_children()
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        for fd in (read_end, release_end, namespace.proc_fd):
            if fd is not None:
                os.close(fd)


def test_a_child_joins_a_memory_cgroup_with_its_limit():
    from selftaught.sandbox.cgroup import MemoryCgroups

    cgroups, how = MemoryCgroups.set_up()
    if cgroups is None:
        pytest.skip(f"no memory cgroup can be made here: {how}")
    try:
        path = cgroups.create(256 * 1024**2)
        limit_file = "memory.limit_in_bytes" if cgroups.version == 1 else "memory.max"
        assert int(Path(path, limit_file).read_text()) == 256 * 1024**2
        # one pipe each way: with one shared pipe the child could read back its own byte
        joined_read, joined_write = os.pipe()
        done_read, done_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            status = b"0"
            try:
                cgroups.join(path)
                status = b"1"
            finally:
                os.write(joined_write, status)
                os.read(done_read, 1)
                os._exit(0)
        for end in (joined_write, done_read):
            os.close(end)
        assert os.read(joined_read, 1) == b"1"
        members = Path(path, "cgroup.procs").read_text().split()
        os.write(done_write, b"1")
        os.waitpid(pid, 0)
        assert members == [str(pid)]
        cgroups.remove(path)
        assert not os.path.exists(path)
    finally:
        cgroups.close()
    assert not os.path.exists(cgroups.root)
