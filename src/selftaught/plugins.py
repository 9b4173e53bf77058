"""Plugins: model kinds, tasks and executors that installed packages declare as entry points.

Three entry-point groups, one per kind of thing: `selftaught.models` (a `ModelKind`),
`selftaught.tasks` (a `Task`, a `Task` class or a function returning one) and
`selftaught.executors` (an `ExecutorKind`). The entry point's name is the name users type
(`--model NAME:...`, `--tasks NAME`, `--executor NAME`). selftaught's own built-ins are
declared the same way in its pyproject.toml; `BUILTINS` repeats that table for a source tree
run without installed metadata (a test keeps the two equal).

Discovery reads the installed packages' metadata and imports nothing; a plugin's module is
imported only when its name is asked for, or when a listing needs every one (`selftaught
models`, `selftaught tasks list`). A plugin is trusted code, like a built-in: it runs in the
orchestrator, never in the sandbox (a task's candidate solutions still run only there).

A plugin that fails to load (its import raises, or it holds the wrong type) is one line
naming it and its entry point: a `PluginWarning` where a listing leaves it out, a
`PluginError` (a UserInputError) where it was asked for by name. Built-ins and other plugins
go on working. A plugin that takes a built-in's name is ignored, with a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module, metadata
from typing import TypeVar

from selftaught.errors import UserInputError

MODELS = "selftaught.models"
TASKS = "selftaught.tasks"
EXECUTORS = "selftaught.executors"
GROUPS = (MODELS, TASKS, EXECUTORS)
PACKAGE = "selftaught"

# The built-ins as pyproject.toml declares them (used only when selftaught's metadata is absent).
BUILTINS: dict[str, dict[str, str]] = {
    MODELS: {
        "script": "selftaught.models.registry:SCRIPT_KIND",
        "openai": "selftaught.models.registry:OPENAI_KIND",
        "replay": "selftaught.models.registry:REPLAY_KIND",
        "local": "selftaught.models.registry:LOCAL_KIND",
    },
    TASKS: {
        "parity_noise": "selftaught.tasks.parity_noise.task:ParityNoiseTask",
        "parity_noiseless": "selftaught.tasks.parity_noiseless.task:ParityNoiselessTask",
        "three_sat": "selftaught.tasks.three_sat.task:ThreeSatTask",
        "maxcut": "selftaught.tasks.maxcut.task:MaxCutTask",
        "str_grid_dist": "selftaught.tasks.str_grid_dist.task:GridDistanceTask",
        "mqap": "selftaught.tasks.mqap.task:QuadraticAssignmentTask",
        "sandbox": "selftaught.tasks.sandbox.task:SandboxTask",
        "circle_packing": "selftaught.tasks.circle_packing.task:CirclePackingTask",
    },
    EXECUTORS: {
        "local": "selftaught.executors.registry:LOCAL_EXECUTOR",
        "ray": "selftaught.executors.registry:RAY_EXECUTOR",
    },
}

T = TypeVar("T")


class PluginError(UserInputError):
    """A plugin asked for by name could not be loaded (one line: which plugin, which entry point, why)."""


class PluginWarning(UserWarning):
    """A plugin was left out of a listing, or ignored (one line: which plugin, which entry point, why)."""


@dataclass(frozen=True)
class Plugin:
    """One declared entry point: its group, the name it provides, `module:attribute`, and its package."""

    group: str
    name: str
    value: str
    package: str

    @property
    def builtin(self) -> bool:
        return self.package == PACKAGE

    def describe(self) -> str:
        """How error lines name the plugin: package, and the entry point as declared."""
        entry = f"{self.group}: {self.name} = {self.value}"
        return f"plugin {self.name!r} of package {self.package} (entry point {entry})"

    def load(self) -> object:
        """The object the entry point names (imports its module)."""
        module, _, attribute = self.value.partition(":")
        target: object = import_module(module.strip())
        for part in attribute.strip().split(".") if attribute.strip() else []:
            target = getattr(target, part)
        return target


_DISCOVERED: dict[str, dict[str, Plugin]] = {}
_WARNED: set[str] = set()


def _package(entry: metadata.EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    name = getattr(dist, "name", None) or "?"
    return PACKAGE if name.lower().replace("_", "-") == PACKAGE else name


def discover(group: str) -> dict[str, Plugin]:
    """The plugins of `group` by name, built-ins first; reads metadata only, imports nothing (cached)."""
    if group not in GROUPS:
        raise ValueError(f"unknown plugin group {group!r} (one of {', '.join(GROUPS)})")
    if group in _DISCOVERED:
        return _DISCOVERED[group]
    declared = [Plugin(group, e.name, e.value, _package(e)) for e in metadata.entry_points(group=group)]
    if not any(plugin.builtin for plugin in declared):  # a source tree run without selftaught's metadata
        declared = [Plugin(group, n, v, PACKAGE) for n, v in BUILTINS[group].items()] + declared
    rank = {name: i for i, name in enumerate(BUILTINS[group])}  # the table's order; metadata sorts by name
    builtins = sorted((p for p in declared if p.builtin), key=lambda p: (rank.get(p.name, len(rank)), p.name))
    found: dict[str, Plugin] = {p.name: p for p in builtins}
    for plugin in declared:
        if plugin.builtin:
            continue
        if plugin.name in found:
            taken = found[plugin.name]
            what = "a built-in's name" if taken.builtin else f"a name that {taken.package} already declares"
            warn_once(f"{plugin.describe()} is ignored: it takes {what}")
            continue
        found[plugin.name] = plugin
    _DISCOVERED[group] = found
    return found


def forget() -> None:
    """Drop what discovery cached (after installing or removing a package in this process)."""
    _DISCOVERED.clear()
    _WARNED.clear()


def load(plugin: Plugin, convert: Callable[[object], T], kind: str) -> T:
    """`convert(plugin.load())`; any failure, or a TypeError from `convert`, is one PluginError line.

    `convert` checks the loaded object and turns it into what the group holds (raising
    TypeError when it cannot); `kind` names that in the line ("a model kind"). A plugin's own
    import errors and exceptions come back as the same one line.
    """
    try:
        return convert(plugin.load())
    except Exception as exc:  # any failure of a plugin's code is one line about that plugin
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        because = f"{exc.__class__.__name__}: {reason}" if reason else exc.__class__.__name__
        raise PluginError(f"{plugin.describe()} failed to load as {kind}: {because}") from exc


def named_kind(kind_type: type[T], name: str, where: str) -> Callable[[object], T]:
    """A check that an entry point's object is a `kind_type` (ModelKind, ExecutorKind) called `name`;
    `where`: the package a plugin imports the type from, as the error names it."""

    def convert(value: object) -> T:
        if not isinstance(value, kind_type):
            raise TypeError(f"expected a {where}.{kind_type.__name__}, found {type(value).__name__}")
        named = getattr(value, "name", None)
        if named != name:
            raise TypeError(f"its {kind_type.__name__} is named {named!r}, not {name!r}")
        return value

    return convert


def load_or_warn(plugin: Plugin, convert: Callable[[object], T], kind: str) -> T | None:
    """Like `load`, for listings: a broken plugin is one PluginWarning and None."""
    try:
        return load(plugin, convert, kind)
    except PluginError as exc:
        warn_once(f"{exc}; left out")
        return None


def warn_once(message: str) -> None:
    """One PluginWarning per distinct message in this process."""
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, PluginWarning, stacklevel=3)
