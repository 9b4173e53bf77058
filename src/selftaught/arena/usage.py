"""What each repeat used, read back from the run store's model calls (the gateway's records).

Every request an arm made, through the gateway or an improver's proxy, is a `model_calls`
row of one of the repeat's improver runs, answered by the backend or by the response
cache alike. A repeat's calls are those rows, its samples their `n`; tokens are the
paid call's, also for a call served again from the cache (found by its cache key), so a
rerun reports what the numbers cost when they were paid for. Cost uses the run's prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from selftaught.models.limits import Prices
from selftaught.store.store import Store


@dataclass
class Usage:
    calls: int = 0
    samples: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.samples += other.samples
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost += other.cost

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def usage_by_improver_run(store: Store, run_id: str, prices: Prices) -> dict[int, Usage]:
    """Improver run id -> the calls recorded under it."""
    calls = store.model_calls(run_id)
    paid: dict[str, tuple[int, int]] = {}
    for call in calls:
        if call.cache_key and call.prompt_tokens is not None and call.cache_key not in paid:
            paid[call.cache_key] = (call.prompt_tokens or 0, call.completion_tokens or 0)
    keys = {c.cache_key for c in calls if c.cache_key and c.prompt_tokens is None} - set(paid)
    if keys:  # paid for by another run of this store (a replayed or earlier experiment)
        marks = ",".join("?" * len(keys))
        rows = store.query(
            f"SELECT cache_key, prompt_tokens, completion_tokens FROM model_calls "
            f"WHERE prompt_tokens IS NOT NULL AND cache_key IN ({marks})",
            tuple(keys),
        )
        for row in rows:
            paid.setdefault(row[0], (row[1] or 0, row[2] or 0))
    usage: dict[int, Usage] = {}
    for call in calls:
        if call.improver_run_id is None:
            continue
        entry = usage.setdefault(call.improver_run_id, Usage())
        prompt, completion = paid.get(
            call.cache_key or "", (call.prompt_tokens or 0, call.completion_tokens or 0)
        )
        entry.calls += 1
        entry.samples += call.n
        entry.prompt_tokens += prompt
        entry.completion_tokens += completion
        entry.cost += prices.cost(prompt, completion)
    return usage


def repeat_usage(by_run: dict[int, Usage], improver_run_ids: list[int]) -> Usage:
    total = Usage()
    for improver_run_id in improver_run_ids:
        total.add(by_run.get(improver_run_id, Usage()))
    return total
