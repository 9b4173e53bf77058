"""A memory cgroup per child, so that its tmpfs scratch counts against its memory limit.

`RLIMIT_AS` bounds a child's address space, but the pages of its tmpfs scratch are not in
its address space: without a cgroup a child may hold its memory limit *plus* its scratch
size (2 GiB + 128 MiB by default). Where this process's memory cgroup may be written (cgroup
v1's memory hierarchy, as root; or cgroup v2 where the memory controller is delegated, that
is, enabled in the subtree of this process's cgroup), each worker makes a directory of its
own there and one cgroup per child, limited to the child's `memory_bytes`: anonymous memory
and tmpfs pages together (swap included where the kernel accounts it). A child joins its
cgroup itself while it is still privileged, before Landlock; the worker removes it after the
child is reaped. Costs, measured on the project's shared machine: about 0.25 ms to create,
limit and later remove one (in the worker, while it forks the spare) and about 0.1 to 0.3 ms
of median to join it (in the spare, before it is handed out).
"""

from __future__ import annotations

import contextlib
import os

_STALE_PREFIX = "selftaught-worker-"


def _mounts() -> dict[str, str]:
    """Where cgroup v2 ('') and cgroup v1's memory hierarchy ('memory') are mounted."""
    found: dict[str, str] = {}
    try:
        with open("/proc/self/mountinfo") as mountinfo:
            for line in mountinfo:
                fields = line.split()
                separator = fields.index("-")
                mount_point, fs_type = fields[4], fields[separator + 1]
                options = fields[separator + 3].split(",") if len(fields) > separator + 3 else []
                if fs_type == "cgroup2":
                    found.setdefault("", mount_point)
                elif fs_type == "cgroup" and "memory" in options:
                    found.setdefault("memory", mount_point)
    except (OSError, ValueError):
        pass
    return found


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup path per hierarchy ('' for v2, 'memory' for v1's memory)."""
    paths: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as cgroups:
            for line in cgroups:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for name in controllers.split(",") if controllers else [""]:
                    paths[name] = path
    except (OSError, ValueError):
        pass
    return paths


def _pid_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, killed but not yet reaped by its parent, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        return True


class MemoryCgroups:
    """One directory per worker, and in it one memory cgroup per child."""

    def __init__(self, root: str, version: int) -> None:
        self.root = root
        self.version = version
        self._limit_file = "memory.limit_in_bytes" if version == 1 else "memory.max"
        self._swap_file = "memory.memsw.limit_in_bytes" if version == 1 else "memory.swap.max"
        self._count = 0

    @classmethod
    def set_up(cls) -> tuple[MemoryCgroups | None, str]:
        """This worker's cgroups, or None and why there are none."""
        mounts, own = _mounts(), _own_cgroups()
        reasons = []
        candidates = []
        if "memory" in mounts and "memory" in own:
            candidates.append((1, os.path.join(mounts["memory"], own["memory"].lstrip("/"))))
        if "" in mounts and "" in own:
            candidates.append((2, os.path.join(mounts[""], own[""].lstrip("/"))))
        for version, parent in candidates:
            if version == 2:
                try:
                    with open(os.path.join(parent, "cgroup.subtree_control")) as control:
                        delegated = "memory" in control.read().split()
                except OSError:
                    delegated = False
                if not delegated:
                    reasons.append(f"cgroup v2: the memory controller is not delegated to {parent}")
                    continue
            if not os.access(parent, os.W_OK):
                reasons.append(f"cgroup v{version}: {parent} is not writable")
                continue
            _remove_stale(parent)
            root = os.path.join(parent, f"{_STALE_PREFIX}{os.getpid()}")
            try:
                os.mkdir(root)
                if version == 2:
                    _write(os.path.join(root, "cgroup.subtree_control"), "+memory")
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.rmdir(root)
                reasons.append(f"cgroup v{version}: cannot create {root}: {exc.strerror}")
                continue
            return cls(root, version), f"cgroup v{version} under {parent}"
        return None, "; ".join(reasons) or "no memory cgroup is mounted"

    def create(self, limit_bytes: int) -> str:
        """A new child cgroup limited to `limit_bytes`; its path."""
        self._count += 1
        path = os.path.join(self.root, f"child-{self._count}")
        os.mkdir(path)
        try:
            self.set_limit(path, limit_bytes)
        except OSError:
            self.remove(path)
            raise
        return path

    def set_limit(self, path: str, limit_bytes: int) -> None:
        """Cap memory (tmpfs pages included) and, where accounted, memory plus swap."""
        swap = os.path.join(path, self._swap_file)
        swap_limit = str(limit_bytes) if self.version == 1 else "0"
        accounted = os.path.exists(swap)
        if accounted and self.version == 1:  # v1 keeps memory <= memory+swap: raise that first
            with contextlib.suppress(OSError):
                _write(swap, swap_limit)
        _write(os.path.join(path, self._limit_file), str(limit_bytes))
        if accounted:
            with contextlib.suppress(OSError):  # without swap accounting the file refuses writes
                _write(swap, swap_limit)

    def join(self, path: str) -> None:
        """Move the calling (single-threaded) process into the cgroup at `path`.

        On cgroup v1 through `tasks`: moving only the calling thread skips the kernel's
        global thread-group lock, whose RCU wait put 8 to 13 ms on one child in ten under
        load; the process has one thread here, so it moves whole.
        """
        _write(os.path.join(path, "tasks" if self.version == 1 else "cgroup.procs"), "0")

    @staticmethod
    def remove(path: str) -> None:
        """Remove a child's cgroup once its processes are gone (best effort)."""
        with contextlib.suppress(OSError):
            os.rmdir(path)

    def close(self) -> None:
        """Remove every child cgroup left and this worker's directory."""
        _remove_tree(self.root)


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _remove_tree(root: str) -> None:
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            if entry.is_dir(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.rmdir(entry.path)
        os.rmdir(root)


def _remove_stale(parent: str) -> None:
    """Remove directories left by workers that were killed before they could."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(parent):
            suffix = entry.name.removeprefix(_STALE_PREFIX)
            if entry.name.startswith(_STALE_PREFIX) and suffix.isdigit() and not _pid_alive(int(suffix)):
                _remove_tree(entry.path)
