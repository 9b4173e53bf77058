"""What OpenEvolve-, ShinkaEvolve- and AlgoTune-format folders share once read.

A field task is read from the user's folder as it is: the initial program is the seed
(shown with its EVOLVE-BLOCK marked), the evaluator's text (or a `utility.md` the user
adds) is the utility description, and the evaluator itself never runs here: its text is
sent to a sandboxed child, with the folder's other small text files, which it may read.
"""

from __future__ import annotations

import ast
import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

from selftaught.errors import UserInputError
from selftaught.seeding import stable_seed
from selftaught.tasks.base import SPLITS, Instance, Task
from selftaught.tasks.field.evolve_block import MalformedBlocks, find_blocks, marking_note
from selftaught.tasks.field.settings import SETTINGS_FILE, FieldSettings, read_settings
from selftaught.tasks.seeded import environment_note

UTILITY_FILE = "utility.md"
MAX_FILE_BYTES = 1_000_000  # folder files larger than this are not shipped to the evaluator's child
MAX_SHIPPED_BYTES = 8_000_000
SKIPPED_DIRS = {"__pycache__", ".git", "results", "outputs", "openevolve_output"}


def read_text(folder: Path, filename: str) -> str:
    path = folder / filename
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserInputError(f"task folder {str(folder)!r} has no {filename}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"cannot read {str(path)!r}: {exc}") from exc


def parse(source: str, path: Path) -> ast.Module:
    try:
        return ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise UserInputError(f"{str(path)!r} does not parse: {exc.msg} (line {exc.lineno})") from exc


def top_level_functions(tree: ast.Module) -> set[str]:
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def folder_files(folder: Path) -> dict[str, str]:
    """The folder's small UTF-8 files by relative path, for the evaluator's child to read."""
    files: dict[str, str] = {}
    total = 0
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") or part in SKIPPED_DIRS for part in relative.parts):
            continue
        if not path.is_file() or path.is_symlink():
            continue
        size = path.stat().st_size
        if size > MAX_FILE_BYTES or total + size > MAX_SHIPPED_BYTES:
            continue
        try:
            files[relative.as_posix()] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        total += size
    return files


LABELS = {"openevolve": "OpenEvolve", "shinka": "ShinkaEvolve", "algotune": "AlgoTune"}


def field_task_name(name: str, fmt: str, folder: Path, taken: set[str] | None) -> str:
    """`name`, else `name@format` if a built-in or registered task has it, else the folder's path."""
    taken = taken or set()
    for choice in (name, f"{name}@{fmt}"):
        if choice not in taken:
            return choice
    return str(folder)


class FieldTask(Task):
    """A task read from a field-format folder; subclasses say how its evaluator is run."""

    format: str = ""
    program_file: str = ""
    evaluator_file: str = ""
    evaluator_function: str = ""  # a function the evaluator must define ("" if none)
    enforce_block: bool = False
    route: str = ""  # one line: where the candidate and the evaluator run
    checker_trusted = False  # the user's evaluator runs in a sandboxed child, not here

    def __init__(self, folder: Path, taken: set[str] | None = None) -> None:
        self.folder = folder
        self.settings: FieldSettings = read_settings(folder)
        self._program = read_text(folder, self.program_file)
        parse(self._program, folder / self.program_file)
        try:
            find_blocks(self._program)
        except MalformedBlocks as exc:
            raise UserInputError(f"{str(folder / self.program_file)!r}: {exc}") from None
        splits = self.settings.splits
        val_file = splits.val_evaluator or self.evaluator_file
        files = {"val": val_file, "test": splits.test_evaluator or val_file}
        self._evaluators = {split: read_text(folder, filename) for split, filename in files.items()}
        for split, filename in files.items():
            tree = parse(self._evaluators[split], folder / filename)
            if self.evaluator_function and self.evaluator_function not in top_level_functions(tree):
                raise UserInputError(
                    f"{str(folder / filename)!r} defines no function {self.evaluator_function!r}"
                )
        self._utility_md = (
            (folder / UTILITY_FILE).read_text(encoding="utf-8") if (folder / UTILITY_FILE).is_file() else None
        )
        self.files = folder_files(folder)
        self.name = field_task_name(self.settings.name or folder.name, self.format, folder, taken)
        self.description = self.settings.description or f"{LABELS[self.format]} task folder {folder.name}"
        self.time_limit_s = float(self.settings.time_limit_s or 60.0)
        digest = hashlib.sha256()
        for key in sorted(self.files):
            digest.update(key.encode() + b"\0" + self.files[key].encode() + b"\0")
        digest.update(self._program.encode() + b"\0" + self.settings.model_dump_json().encode())
        digest.update(self.child_source().encode())  # our side of the evaluator's child, too
        self.cache_token = digest.hexdigest()
        self.spec = f"{self.format}:{folder}"
        self.held_out = self.settings.held_out

    # --- what the model sees -----------------------------------------------------------
    def seed_solution(self) -> str:
        return self._program

    def shown_utility(self) -> str:
        if self._utility_md is not None:
            return self._utility_md
        lines = [
            f"# {self.description}",
            f"# The program ({self.program_file}) is scored by the {LABELS[self.format]} evaluator below"
            f" ({self.evaluator_file}), unchanged: {self.scoring_rule()}",
            *(f"# {line}" for line in _wrap(marking_note(self._program, self.enforce_block))),
            "# A metric that is NaN, infinite, missing or not a number scores 0.",
        ]
        return "\n".join(lines) + "\n" + environment_note() + self._evaluators["val"]

    def scoring_rule(self) -> str:
        raise NotImplementedError

    child_wrapper: str = ""  # the file of this package sent to the evaluator's child

    def child_source(self) -> str:
        """The text of the code that runs the evaluator in its child (sent, never imported here)."""
        if not self.child_wrapper:
            return ""
        return resources.files("selftaught.tasks.field").joinpath(self.child_wrapper).read_text()

    # --- the hidden utility ------------------------------------------------------------
    def instances(self, split: str) -> list[Instance]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r} (use val or test)")
        return [Instance(args=(split,), answer=None)]

    def evaluator_source(self, split: str) -> str:
        return self._evaluators[split]

    def user_seeds(self) -> dict[str, int]:
        """The split seeds given in selftaught.toml (none, one or both)."""
        s = self.settings.splits
        return {k: v for k, v in (("val", s.val_seed), ("test", s.test_seed)) if v is not None}

    def split_seed(self, split: str, code: str) -> int:
        """The seed of the children scoring `code` on `split`: the user's split seed, else one per code."""
        given = self.settings.splits.val_seed if split == "val" else self.settings.splits.test_seed
        return given if given is not None else stable_seed("solution", self.name, split, code)

    def record(self) -> dict[str, Any]:
        """What a run records about this task: its format, folder and whether it has a held-out split."""
        return {"format": self.format, "folder": str(self.folder), "held_out": self.held_out}

    def check(self, instance: Instance, output: Any) -> float:  # pragma: no cover - subclasses score
        raise NotImplementedError


def _wrap(text: str, width: int = 96) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*lines, current] if current else lines


NO_HELD_OUT = (
    "no held-out split: the optimized and the reported score are the same evaluation "
    f"(add a test evaluator or split seeds in {SETTINGS_FILE})"
)
