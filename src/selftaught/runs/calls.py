"""What every public call shares: the hooks it takes, what `on_start` is told, and the result protocol.

`start_run`, `resume_run`, `evaluate_improver`, the experiments and the audits all take one
`RunHooks` (every callback optional) and return a result with `to_json()` (`JsonResult`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from selftaught.runs.recorder import ProgressCallback
    from selftaught.stop.loop import IterationResult

Status = Literal["finished", "stopped", "failed", "interrupted"]
WarningCallback = Callable[[str], None]
IterationCallback = Callable[["IterationResult"], None]


@dataclass(frozen=True)
class RunStart:
    """Told to `on_start` once a run is recorded and about to work."""

    run_id: str
    store_path: Path
    model: str
    tasks: tuple[str, ...]
    first_iteration: int
    iterations: int
    continued: bool = False  # an experiment found again in the store and continued


@dataclass(frozen=True)
class RunHooks:
    """The callbacks a caller may give any run (all optional)."""

    on_progress: ProgressCallback | None = None  # the run's counters and phase, as they change
    on_iteration: IterationCallback | None = None  # each finished STOP iteration (0 is the seed)
    on_start: Callable[[RunStart], None] | None = None  # once the run is recorded
    on_warning: WarningCallback | None = None  # each missing sandbox protection, else warned

    def started(self, start: RunStart) -> None:
        if self.on_start is not None:
            self.on_start(start)

    def merged(self, **callbacks: Any) -> RunHooks:
        """These hooks with the callbacks given by keyword (those not None) put in."""
        return replace(self, **{k: v for k, v in callbacks.items() if v is not None})


@runtime_checkable
class JsonResult(Protocol):
    """What every public call returns: a named result whose `to_json()` is what `--json` prints.

    The runs' results (`RunResult`, `EvaluationResult`, the audits') also carry `run_id`, `status`
    and `reason`; an experiment raises instead of ending with a status other than finished.
    """

    def to_json(self) -> dict[str, Any]: ...
