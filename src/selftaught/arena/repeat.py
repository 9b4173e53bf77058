"""One repeat of one arm in an arena: where it ran, how it ended, and its scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STREAM_ROOT = "arena"


def repeat_segment(arm_slug: str, run: int, task: str, repeat: int) -> str:
    """The stream segment of (arm, run, task, repeat): its cache positions and its reuse key."""
    return f"{arm_slug}/run{run}/{task}/r{repeat}"


@dataclass
class ArenaRepeat:
    arm: str
    run: int
    task: str
    repeat: int
    ok: bool
    error_kind: str | None
    error: str | None
    val: float | None
    test: float
    improver_run_ids: list[int] = field(default_factory=list)
    rounds: int = 1

    @property
    def pair_key(self) -> str:
        return f"run{self.run}/{self.task}/r{self.repeat}"

    def to_json(self) -> dict[str, Any]:
        return {
            "arm": self.arm,
            "run": self.run,
            "task": self.task,
            "repeat": self.repeat,
            "ok": self.ok,
            "error_kind": self.error_kind,
            "error": self.error,
            "val": self.val,
            "test": self.test,
            "rounds": self.rounds,
        }
