"""Run-wide limits on model use: calls and cost. Reaching one stops the run cleanly."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class RunStopped(Exception):
    """The run must stop now (a limit was reached, a replay missed, the user interrupted).

    Not a ModelError: nothing inside an improver run may swallow it. `clean` says whether
    stopping is an expected outcome (limits) rather than an error (a replay miss).
    """

    def __init__(self, reason: str, clean: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.clean = clean


@dataclass(frozen=True)
class Prices:
    """USD per million tokens; zero means unpriced."""

    prompt_per_million: float = 0.0
    completion_per_million: float = 0.0

    @classmethod
    def of(cls, config: Any) -> Prices:
        """The prices a run's settings name: a `RunConfig`, or the settings a run recorded (a
        mapping, where a price may be missing or null); an unset price is zero."""
        if isinstance(config, Mapping):
            prompt, completion = config.get("price_prompt"), config.get("price_completion")
        else:
            prompt, completion = config.price_prompt, config.price_completion
        return cls(float(prompt or 0.0), float(completion or 0.0))

    def cost(self, prompt_tokens: int | None, completion_tokens: int | None) -> float:
        return (
            (prompt_tokens or 0) * self.prompt_per_million
            + (completion_tokens or 0) * self.completion_per_million
        ) / 1e6


class UsageLimiter:
    """Counts backend calls and cost for the whole run; refuses calls past the limits."""

    def __init__(
        self,
        max_calls: int | None = None,
        max_cost: float | None = None,
        prices: Prices | None = None,
        calls: int = 0,
        cost: float = 0.0,
    ) -> None:
        self.max_calls = max_calls
        self.max_cost = max_cost
        self.prices = prices or Prices()
        self.calls = calls
        self.cost = cost
        self.stopped: RunStopped | None = None
        self._lock = threading.Lock()

    def stop(self, reason: str, clean: bool) -> None:
        with self._lock:
            if self.stopped is None:
                self.stopped = RunStopped(reason, clean)

    def before_call(self) -> None:
        """Reserve one backend call, or raise RunStopped."""
        with self._lock:
            if self.stopped is not None:
                raise self.stopped
            if self.max_calls is not None and self.calls >= self.max_calls:
                self.stopped = RunStopped(f"--max-calls {self.max_calls} reached", clean=True)
                raise self.stopped
            if self.max_cost is not None and self.cost >= self.max_cost:
                self.stopped = RunStopped(
                    f"--max-cost {self.max_cost:g} USD reached (spent {self.cost:.4f})", True
                )
                raise self.stopped
            self.calls += 1

    def after_call(self, prompt_tokens: int | None, completion_tokens: int | None) -> float:
        """Add a finished call's cost; returns it."""
        cost = self.prices.cost(prompt_tokens, completion_tokens)
        with self._lock:
            self.cost += cost
        return cost
