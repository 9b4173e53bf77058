"""Executors by name (`--executor NAME`): the kinds declared in the entry-point group `selftaught.executors`.

The built-ins (`local`, `ray`) are declared there by selftaught's own pyproject.toml, like
another package's executor (selftaught/plugins.py). A kind's `start` imports what it needs,
so naming one executor never imports the others' dependencies (Ray).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from selftaught.errors import UserInputError
from selftaught.plugins import EXECUTORS, discover, load, named_kind

if TYPE_CHECKING:
    from selftaught.executors.base import Executor


@dataclass(frozen=True)
class ExecutorOptions:
    """What starting an executor may use: a cluster address, a worker count, where warnings go,
    how many sandbox children a local pool keeps forked ahead (None: its default), and whether
    it holds most of them until the run calls the executor's `release_spares()` (its model
    client is up; runs/start.py). An executor may ignore the last two."""

    ray_address: str | None = None
    n_workers: int | None = None
    on_warning: Callable[[str], None] | None = None
    spares: int | None = None
    hold_spares: bool = False


@dataclass(frozen=True)
class ExecutorKind:
    """A kind of executor: its name, one line about it, and how to start one with its sandbox mode.

    `start_in_thread`: whether a run may start it in a thread of its own while the model
    loads (the local pool may; Ray's daemons die with the thread that starts them).
    """

    name: str
    description: str
    start: Callable[[str, ExecutorOptions], Executor]
    start_in_thread: bool = False


def executor_names() -> list[str]:
    """The executors that can be named: built-ins first, then installed plugins; imports none of them."""
    return list(discover(EXECUTORS))


def executor_kind(name: str) -> ExecutorKind:
    """The kind called `name`; an unknown name, or a plugin that does not load, is a UserInputError."""
    plugin = discover(EXECUTORS).get(name)
    if plugin is None:
        raise UserInputError(f"unknown executor {name!r} (use {' or '.join(executor_names())})")
    return load(plugin, named_kind(ExecutorKind, name, "selftaught.executors"), "an executor kind")


def starts_in_thread(name: str) -> bool:
    """Whether the executor `name` may start in a thread of its own (False when it cannot be loaded)."""
    try:
        return executor_kind(name).start_in_thread
    except UserInputError:
        return False  # starting it, in the caller's thread, says why


def _start_local(mode: str, options: ExecutorOptions) -> Executor:
    from selftaught.executors.local import LocalExecutor
    from selftaught.sandbox.pool import WorkerPool

    pool = WorkerPool(
        options.n_workers,
        mode=mode,
        on_warning=options.on_warning,
        spares=options.spares,
        hold_spares=options.hold_spares,
    )
    return LocalExecutor(pool, own_pool=True)


def _start_ray(mode: str, options: ExecutorOptions) -> Executor:
    from selftaught.executors.bridge import bridges

    if not bridges(options.ray_address):
        from selftaught.executors.ray import RayExecutor

        return RayExecutor.connect(mode, address=options.ray_address, on_warning=options.on_warning)
    # a Ray of the run's own: the run starts on a local pool while Ray starts (executors/bridge.py)
    import importlib.util

    if importlib.util.find_spec("ray") is None:  # said now, not as a warning once the run is under way
        raise UserInputError("--executor ray needs Ray: pip install 'selftaught[ray]'")
    from selftaught.executors.bridge import BridgedExecutor, RayStart
    from selftaught.executors.ray import RayExecutor

    start = RayStart(lambda: RayExecutor.connect(mode, on_warning=options.on_warning), options.on_warning)
    try:
        local = _start_local(mode, replace(options, hold_spares=False))  # the bridge releases nothing
    except BaseException:
        start.close()
        raise
    return BridgedExecutor(local, start)  # type: ignore[arg-type]


# The built-in kinds, declared as entry points in pyproject.toml like any plugin's.
LOCAL_EXECUTOR = ExecutorKind("local", "a sandboxed worker pool on this machine", _start_local, True)
RAY_EXECUTOR = ExecutorKind("ray", "the nodes of a Ray cluster (pip install 'selftaught[ray]')", _start_ray)
