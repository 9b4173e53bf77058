"""Task folders in the formats the field uses, taken as they are and told apart by their files.

| format       | files                                            | evaluator runs                     |
|--------------|--------------------------------------------------|------------------------------------|
| `selftaught` | seed_algorithm.py, utility.py, secret_utility.py | see tasks/folder.py                |
| `openevolve` | initial_program.py, evaluator.py                 | next to the candidate (it imports it) |
| `shinka`     | initial.py, evaluate.py                          | in children of its own             |
| `algotune`   | a .py file with a class defining generate_problem, solve, is_solution | on the trusted side |

`detect_format` reads file names (and, for AlgoTune, parses without running);
`load_field_folder` builds the task. A spec `FORMAT:PATH` (what a run records) names the
format, and loading refuses a folder whose files say otherwise. Docs: docs/tasks.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selftaught.errors import UserInputError
from selftaught.tasks.base import Task

SELFTAUGHT, OPENEVOLVE, SHINKA, ALGOTUNE = "selftaught", "openevolve", "shinka", "algotune"
FORMATS = (SELFTAUGHT, OPENEVOLVE, SHINKA, ALGOTUNE)
FIELD_FORMATS = (OPENEVOLVE, SHINKA, ALGOTUNE)
_MARKERS = {
    SELFTAUGHT: ("seed_algorithm.py", "secret_utility.py", "utility.py"),
    OPENEVOLVE: ("initial_program.py", "evaluator.py"),
    SHINKA: ("initial.py", "evaluate.py"),
}
_NAMES = {SELFTAUGHT: "selftaught", OPENEVOLVE: "OpenEvolve", SHINKA: "ShinkaEvolve", ALGOTUNE: "AlgoTune"}


def format_label(fmt: str) -> str:
    """The format's name as people write it (OpenEvolve, ShinkaEvolve, ...)."""
    return _NAMES.get(fmt, fmt)


def detect_format(folder: Path) -> str:
    """Which format `folder` is in, from its files; UserInputError with one line saying why not."""
    if not folder.is_dir():
        raise UserInputError(f"task folder {str(folder)!r} does not exist or is not a directory")
    complete = [fmt for fmt, files in _MARKERS.items() if all((folder / f).is_file() for f in files)]
    if len(complete) > 1:
        both = " and ".join(format_label(f) for f in complete)
        raise UserInputError(
            f"task folder {str(folder)!r} has the files of both {both}; keep one format's files"
        )
    if complete:
        return complete[0]
    from selftaught.tasks.field.algotune import find_task_file

    if find_task_file(folder) is not None:
        return ALGOTUNE
    for fmt, files in _MARKERS.items():
        present = [f for f in files if (folder / f).is_file()]
        if present:
            missing = [f for f in files if f not in present]
            raise UserInputError(
                f"task folder {str(folder)!r} looks like the {format_label(fmt)} format "
                f"({', '.join(present)}) but has no {' or '.join(missing)}"
            )
    raise UserInputError(
        f"task folder {str(folder)!r} is in no known format: expected seed_algorithm.py + utility.py + "
        "secret_utility.py (selftaught), initial_program.py + evaluator.py (OpenEvolve), initial.py + "
        "evaluate.py (ShinkaEvolve), or a class with generate_problem, solve and is_solution (AlgoTune)"
    )


def split_spec(spec: str) -> tuple[str | None, str]:
    """(format, path) of a task spec; the format is None unless the spec starts with `FORMAT:`."""
    head, sep, rest = spec.partition(":")
    if sep and head in FORMATS and rest:
        return head, rest
    return None, spec


def load_field_folder(folder: Path, taken: set[str] | None = None, expected: str | None = None) -> Task:
    """The task of a folder in any known format; `expected` (from a `FORMAT:` spec) must match."""
    fmt = detect_format(folder)
    if expected is not None and expected != fmt:
        raise UserInputError(
            f"task folder {str(folder)!r} is now in the {format_label(fmt)} format, "
            f"not {format_label(expected)} as recorded"
        )
    if fmt == SELFTAUGHT:
        from selftaught.tasks.folder import FolderTask

        return FolderTask(folder, taken=taken)
    if fmt == OPENEVOLVE:
        from selftaught.tasks.field.openevolve import OpenEvolveTask

        return OpenEvolveTask(folder, taken)
    if fmt == SHINKA:
        from selftaught.tasks.field.shinka import ShinkaTask

        return ShinkaTask(folder, taken)
    from selftaught.tasks.field.algotune import AlgoTuneTask

    return AlgoTuneTask(folder, taken)


def task_format(task: Task) -> str:
    """The format a task was read in: a field format, `selftaught` for folders, else `builtin`."""
    fmt = getattr(task, "format", None)
    if isinstance(fmt, str) and fmt in FORMATS:
        return fmt
    return SELFTAUGHT if hasattr(task, "folder") else "builtin"


def held_out(task: Task) -> bool:
    """False only for a field task whose validation and test score are the same evaluation."""
    return bool(getattr(task, "held_out", True))


def task_record(task: Task) -> dict[str, Any]:
    """What `show` and the report say of a task: its format, route, and whether its test split is held out."""
    return {
        "task": task.name,
        "format": task_format(task),
        "route": getattr(task, "route", "") or None,
        "held_out": held_out(task),
    }


def recorded_task_notes(specs: list[str]) -> list[dict[str, Any]]:
    """For a run's recorded task specs: each field task's format, and whether its test split is held out.

    What `show` and the report read: `held_out` is False when the optimized and the
    reported score are the same evaluation, None when the folder can no longer be read.
    Built-in and selftaught-format tasks are left out (their splits are always disjoint).
    """
    from selftaught.tasks.field.settings import read_settings

    notes = []
    for spec in specs:
        fmt, path = split_spec(spec)
        if fmt not in FIELD_FORMATS:
            continue
        held: bool | None
        try:
            held = True if fmt == ALGOTUNE else read_settings(Path(path)).held_out
        except UserInputError:
            held = None
        notes.append({"task": path, "format": fmt, "label": format_label(fmt), "held_out": held})
    return notes
