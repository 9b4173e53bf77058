"""What a run's gain cost: model requests and USD per point of test meta-utility gained.

A point is 0.01 of meta-utility (one percentage point of the held-out score). The gain is
the improver in use at the end against the seed improver (iteration 0), on the test split;
the cost is every request the run paid for (answers served from the response cache are
free), priced with the run's own price table. `cost_curve` gives, after each iteration,
the cumulative requests and USD beside the meta-utility of the improver in use, which is
what a plot of meta-utility against spending needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from selftaught.store.store import Store

POINT = 0.01


@dataclass(frozen=True)
class CostPoint:
    """After iteration t: requests and USD spent so far, and the meta-utility of the improver in use."""

    iteration: int
    requests: int
    usd: float
    meta_utility_val: float | None
    meta_utility_test: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "cumulative_requests": self.requests,
            "cumulative_usd": self.usd,
            "meta_utility_val": self.meta_utility_val,
            "meta_utility_test": self.meta_utility_test,
        }


@dataclass(frozen=True)
class CostPerGain:
    """A run's requests and USD, its test gain in points, and the cost of one point (None without a gain)."""

    requests: int
    usd: float
    first_test: float | None
    last_test: float | None

    @property
    def gain_points(self) -> float | None:
        if self.first_test is None or self.last_test is None:
            return None
        return (self.last_test - self.first_test) / POINT

    @property
    def usd_per_point(self) -> float | None:
        gain = self.gain_points
        return self.usd / gain if gain is not None and gain > 1e-9 else None

    @property
    def requests_per_point(self) -> float | None:
        gain = self.gain_points
        return self.requests / gain if gain is not None and gain > 1e-9 else None

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "usd": self.usd,
            "first_test": self.first_test,
            "last_test": self.last_test,
            "gain_points": self.gain_points,
            "usd_per_point": self.usd_per_point,
            "requests_per_point": self.requests_per_point,
        }

    def text(self) -> str:
        if self.gain_points is None:
            return "cost per gain: no iteration recorded"
        head = (
            f"test meta-utility {self.first_test:.3f} -> {self.last_test:.3f}"
            f" ({self.gain_points:+.1f} points)"
            f" for {self.requests:,} paid requests, {self.usd:.4f} USD"
        )
        if self.usd_per_point is None or self.requests_per_point is None:
            return f"cost per gain: {head}; no gain, so no cost per point"
        return (
            f"cost per gain: {head}: {self.usd_per_point:.4f} USD"
            f" ({self.requests_per_point:,.1f} requests) per point gained"
        )


def _prices(store: Store, run_id: str):
    from selftaught.models.limits import Prices

    run = store.run(run_id)
    config = run.config if run is not None else {}
    return Prices.of(config)


def cost_curve(store: Store, run_id: str) -> list[CostPoint]:
    """Cumulative paid requests and USD after each iteration, with the improver in use's meta-utility."""
    prices = _prices(store, run_id)
    usage = store.usage(run_id)
    requests, usd = 0, 0.0
    points = []
    for it in store.iterations(run_id):
        figures = usage.get(it.iteration) or {}
        requests += int(figures.get("requests") or 0)
        usd += prices.cost(int(figures.get("prompt_tokens") or 0), int(figures.get("completion_tokens") or 0))
        points.append(CostPoint(it.iteration, requests, usd, it.meta_utility_val, it.meta_utility_test))
    return points


def cost_per_gain(store: Store, run_id: str) -> CostPerGain:
    """Every paid request of the run and its USD, against the test gain from iteration 0 to the last."""
    calls, prompt_tokens, completion_tokens = store.paid_usage(run_id)
    usd = _prices(store, run_id).cost(prompt_tokens, completion_tokens)
    iterations = store.iterations(run_id)
    first = iterations[0].meta_utility_test if iterations else None
    last = iterations[-1].meta_utility_test if iterations else None
    return CostPerGain(calls, usd, first, last)
