"""Where in a run something happens: the `Scope` every record and model stream is keyed by."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """Where in a run something happens: iteration, improver run, and its deterministic stream path."""

    iteration: int | None = None
    improver_run_id: int | None = None
    stream: str = ""

    def child(self, segment: str, improver_run_id: int | None) -> Scope:
        return Scope(self.iteration, improver_run_id, f"{self.stream}/{segment}" if self.stream else segment)
