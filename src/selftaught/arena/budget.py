"""The budget every arm of an arena gets per repeat, and how each kind of arm spends it.

The arena matches arms on samples: `--calls N` with `--samples S` allows N x S model samples
per (arm, task, repeat), asked as at most N requests of S samples by selftaught's improvers
and as N x S requests of one sample by an optimizer that asks one completion at a time
(OpenEvolve does). With `--samples 1` both counts are identical for every arm. Validation
scorings are matched too: N x S + 1 per repeat, the improvers' utility budget.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArmBudget:
    """Model requests and samples, and validation scorings, one repeat of one arm may use."""

    calls: int
    samples_per_call: int

    @property
    def samples(self) -> int:
        return self.calls * self.samples_per_call

    @property
    def evaluations(self) -> int:
        """Validation scorings: the utility budget of an improver run (n x m + 1)."""
        return self.samples + 1

    def to_json(self) -> dict[str, int]:
        return {
            "calls": self.calls,
            "samples_per_call": self.samples_per_call,
            "samples": self.samples,
            "evaluations": self.evaluations,
        }
