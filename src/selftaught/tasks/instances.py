"""A task's instances as plain JSON, and a digest of them, for checks against other implementations.

`selftaught tasks instances TASK --split val --json` prints one object per line: the
instance's index, its seed (for seeded tasks) and `args`, the candidate's input
arguments in order, with arrays as nested lists. The digest is the sha256 of the
canonical JSON (sorted keys, no spaces) of the list of every instance's `args`; the
tests pin it per task and split, so any change to a generator is caught.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from selftaught.tasks.base import Task
from selftaught.tasks.seeded import SeededTask


@dataclass(frozen=True)
class InstanceRow:
    """One instance in plain JSON form."""

    index: int
    seed: int | None
    args: list[Any]

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "seed": self.seed, "args": self.args}


def plain(value: Any) -> Any:
    """`value` with numpy arrays and scalars turned into lists and Python numbers."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def canonical_json(value: Any) -> str:
    """The one JSON text of a plain value (sorted keys, no spaces; NaN refused)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def instance_rows(task: Task, split: str) -> list[InstanceRow]:
    """Every instance of `split`, in order, as plain rows."""
    base = task.split_base_seeds[split] if isinstance(task, SeededTask) else None
    return [
        InstanceRow(index, None if base is None else base + index, plain(list(instance.args)))
        for index, instance in enumerate(task.instances(split))
    ]


def instances_digest(task: Task, split: str) -> str:
    """sha256 of the canonical JSON of the list of every instance's arguments."""
    args = [row.args for row in instance_rows(task, split)]
    return hashlib.sha256(canonical_json(args).encode()).hexdigest()
