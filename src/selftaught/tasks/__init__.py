"""Downstream tasks: built-in and installed ones by name, tasks of one's own by folder or registration.

Each built-in task is one folder here (`maxcut/`, `three_sat/`, ...) holding its
generator and checker (`task.py`), the seed, the text shown to the model and a strong
solution. Nothing in this package runs on the untrusted side: candidates run only in the
sandbox, called over its protocol.

The built-in tasks are declared as entry points in the group `selftaught.tasks`, as another
package's tasks are (selftaught/plugins.py); a task's own code runs on the trusted side
whichever package it comes from. `get_task` is what `--tasks` resolves through: a built-in,
installed or registered name, or a path to a task folder (`./mytask`, `/abs/path`, or any
existing directory that is not a name) in any known format: selftaught's own, OpenEvolve's,
ShinkaEvolve's or AlgoTune's, told apart by its files (tasks/field/). `FORMAT:PATH` (what a
run records) also names the format.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from selftaught.errors import UserInputError
from selftaught.plugins import TASKS, discover, load, load_or_warn
from selftaught.tasks.base import SCORING_MODES, SPLITS, Instance, Task

_LOADED: dict[str, Task] = {}  # built-in and plugin tasks, loaded once per process
_REGISTERED: dict[str, Task] = {}
_FOLDERS: dict[Path, Task] = {}


def builtin_names() -> list[str]:
    """Names of the built-in tasks."""
    return sorted(name for name, plugin in discover(TASKS).items() if plugin.builtin)


def task_names() -> list[str]:
    """Built-in, installed (plugin) and registered task names; imports no task."""
    return sorted({*discover(TASKS), *_REGISTERED})


def installed_tasks() -> list[Task]:
    """Every task that `task_names` names, loaded; a plugin that fails to load is one PluginWarning."""
    tasks = []
    for name in task_names():
        if name in _REGISTERED or name in _LOADED:
            tasks.append(_REGISTERED.get(name) or _LOADED[name])
            continue
        task = load_or_warn(discover(TASKS)[name], _as_task(name), "a task")
        if task is not None:
            tasks.append(_LOADED.setdefault(name, task))
    return tasks


def _as_task(name: str) -> Callable[[object], Task]:
    """A check that an entry point's object is (or builds, called with no arguments) a Task called `name`."""

    def convert(value: object) -> Task:
        if not isinstance(value, Task):
            if not callable(value):
                raise TypeError(f"expected a selftaught.tasks.Task, found {type(value).__name__}")
            value = value()
            if not isinstance(value, Task):
                raise TypeError(f"expected a selftaught.tasks.Task, its call gave {type(value).__name__}")
        if getattr(value, "name", None) != name:
            raise TypeError(f"its task is named {getattr(value, 'name', None)!r}, not {name!r}")
        return value

    return convert


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
    if name in builtin_names():
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
    if name in _LOADED:
        return _LOADED[name]
    plugin = discover(TASKS).get(name)
    if plugin is not None:
        return _LOADED.setdefault(name, load(plugin, _as_task(name), "a task"))
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
    "installed_tasks",
    "load_task_folder",
    "register_task",
    "task_names",
    "unregister_task",
]
