"""Downstream tasks: the built-ins by name, tasks of one's own by folder path or registration.

Each built-in task is one folder here (`maxcut/`, `three_sat/`, ...) holding its
generator and checker (`task.py`), the seed, the text shown to the model and a strong
solution. Nothing in this package runs on the untrusted side: candidates run only in the
sandbox, called over its protocol.

`get_task` is what `--tasks` resolves through: a built-in or registered name, or a path
to a task folder (`./mytask`, `/abs/path`, or any existing directory that is not a name) in
any known format: selftaught's own, OpenEvolve's, ShinkaEvolve's or AlgoTune's, told apart
by its files (tasks/field/). `FORMAT:PATH` (what a run records) also names the format.
"""

from __future__ import annotations

import os
from pathlib import Path

from selftaught.errors import UserInputError
from selftaught.tasks.base import SCORING_MODES, SPLITS, Instance, Task


def _builtin() -> dict[str, Task]:
    from selftaught.tasks.circle_packing.task import CirclePackingTask
    from selftaught.tasks.maxcut.task import MaxCutTask
    from selftaught.tasks.mqap.task import QuadraticAssignmentTask
    from selftaught.tasks.parity_noise.task import ParityNoiseTask
    from selftaught.tasks.parity_noiseless.task import ParityNoiselessTask
    from selftaught.tasks.sandbox.task import SandboxTask
    from selftaught.tasks.str_grid_dist.task import GridDistanceTask
    from selftaught.tasks.three_sat.task import ThreeSatTask

    tasks: list[Task] = [
        ParityNoiseTask(),
        ParityNoiselessTask(),
        ThreeSatTask(),
        MaxCutTask(),
        GridDistanceTask(),
        QuadraticAssignmentTask(),
        SandboxTask(),
        CirclePackingTask(),
    ]
    return {task.name: task for task in tasks}


_CACHE: dict[str, Task] = {}
_REGISTERED: dict[str, Task] = {}
_FOLDERS: dict[Path, Task] = {}


def _builtin_cached() -> dict[str, Task]:
    if not _CACHE:
        _CACHE.update(_builtin())
    return _CACHE


def builtin_names() -> list[str]:
    """Names of the built-in tasks."""
    return sorted(_builtin_cached())


def task_names() -> list[str]:
    """Built-in and registered task names."""
    return sorted({*_builtin_cached(), *_REGISTERED})


def register_task(task: Task, replace: bool = False) -> Task:
    """Make `task` resolvable by name in this process (`get_task`, `--tasks` via the API).

    The task's `instances` and `check` run on the trusted side, like a built-in's; only
    candidate solutions run in the sandbox. A name that is already taken needs `replace`.
    """
    if not isinstance(task, Task):
        raise TypeError(f"register_task needs a selftaught.tasks.Task, not {type(task).__name__}")
    name = getattr(task, "name", None)
    if not isinstance(name, str) or not name or os.sep in name:
        raise ValueError("a registered task needs a non-empty `name` without path separators")
    if name in _builtin_cached():
        raise ValueError(f"{name!r} is a built-in task; register yours under another name")
    if name in _REGISTERED and not replace:
        raise ValueError(f"task {name!r} is already registered (pass replace=True to replace it)")
    _REGISTERED[name] = task
    return task


def unregister_task(name: str) -> None:
    """Forget a registered task (built-ins stay)."""
    _REGISTERED.pop(name, None)


def _looks_like_path(name: str) -> bool:
    return os.sep in name or name.startswith(".") or name.startswith("~") or Path(name).is_dir()


def load_task_folder(path: str | os.PathLike[str], expected_format: str | None = None) -> Task:
    """The task defined by a folder in any known format (see tasks/field/), cached per path."""
    from selftaught.tasks.field import load_field_folder

    resolved = Path(path).expanduser().resolve()
    if resolved not in _FOLDERS:
        _FOLDERS[resolved] = load_field_folder(resolved, set(task_names()), expected_format)
    elif expected_format is not None:
        from selftaught.tasks.field import task_format

        if task_format(_FOLDERS[resolved]) != expected_format:
            _FOLDERS.pop(resolved)
            return load_task_folder(resolved, expected_format)
    return _FOLDERS[resolved]


def get_task(name: str) -> Task:
    """A task by built-in or registered name, or by folder path; anything else is a UserInputError."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    tasks = _builtin_cached()
    if name in tasks:
        return tasks[name]
    from selftaught.tasks.field import split_spec

    fmt, path = split_spec(name)
    if fmt is not None:
        return load_task_folder(path, fmt)
    if _looks_like_path(name):
        return load_task_folder(name)
    known = ", ".join(task_names())
    raise UserInputError(f"unknown task {name!r} (known: {known}; or a task folder path such as ./{name})")


__all__ = [
    "SCORING_MODES",
    "SPLITS",
    "Instance",
    "Task",
    "builtin_names",
    "get_task",
    "load_task_folder",
    "register_task",
    "task_names",
    "unregister_task",
]
