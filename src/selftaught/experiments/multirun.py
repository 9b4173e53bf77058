"""R independent STOP runs: how much does self-improvement vary, and how often does it pay?

Run r is an ordinary STOP run with seed `seed + r` (so its own model samples and child
seeds), found again in the store by its configuration: a finished one is reused, an
unfinished one resumed, a missing one started. The table gives, per iteration, the mean
test meta-utility over the runs with a t interval, and the share of runs whose final
test meta-utility gained at least `gain` over their iteration 0, with a Wilson interval
(the paper: 3 of 25 GPT-3.5 runs gained 3 points); beside it, the mean metaproductivity
of the improver in use after each iteration (analysis/metaproductivity.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from selftaught.analysis.metaproductivity import IterationProductivity, productivity_across_runs
from selftaught.analysis.stats import Estimate, Rate, footnote, mean_ci, wilson
from selftaught.config import RunConfig
from selftaught.experiments.session import computing_settings
from selftaught.store.store import Store

GAIN = 0.03


@dataclass(frozen=True)
class MultiRunResult:
    id: str
    run_ids: tuple[str, ...]
    per_iteration: tuple[Estimate, ...]
    gained: Rate
    gain: float
    productivity: tuple[IterationProductivity, ...] = ()  # of the improver in use after each iteration

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "runs": list(self.run_ids),
            "rows": [{"iteration": t, **e.to_json()} for t, e in enumerate(self.per_iteration)],
            "gained": {"threshold": self.gain, **self.gained.to_json()},
            "metaproductivity": [p.to_json() for p in self.productivity],
        }

    @property
    def note(self) -> str:
        return footnote([*self.per_iteration, self.gained], unit="runs") + (
            f"; gained = final test meta-utility at least {self.gain:g} above iteration 0"
        )


def _settings(config: dict[str, Any]) -> dict[str, Any]:
    """What a recorded configuration computes, with settings added since it was recorded at their defaults."""
    from pydantic import ValidationError

    try:
        config = RunConfig(**config).model_dump()
    except ValidationError:
        pass
    return computing_settings(config)


def _same_settings(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return _settings(a) == _settings(b)


def find_member(store: Store, config: RunConfig) -> tuple[str, str] | None:
    """The latest STOP run recorded with `config`'s settings: (run id, status)."""
    wanted = config.model_dump()
    found = [r for r in store.runs() if r.kind == "stop" and _same_settings(r.config, wanted)]
    return (found[-1].id, found[-1].status) if found else None


def run_members(
    store: Store,
    base: RunConfig,
    runs: int,
    start: Callable[[RunConfig], str],
    resume: Callable[[str], None],
) -> list[str]:
    """Make sure runs seed..seed+runs-1 exist and are finished; their ids in seed order."""
    from selftaught.runs.start import resolve_tasks

    ids = []
    for r in range(runs):
        config, _ = resolve_tasks(base.model_copy(update={"seed": base.seed + r}))
        member = find_member(store, config)
        if member is None:
            ids.append(start(config))
            continue
        run_id, status = member
        if status != "finished":
            resume(run_id)
        ids.append(run_id)
    return ids


def summarize(store: Store, experiment_id: str, run_ids: list[str], gain: float = GAIN) -> MultiRunResult:
    """The table, from the iterations the member runs recorded."""
    curves = [[it.meta_utility_test or 0.0 for it in store.iterations(run_id)] for run_id in run_ids]
    length = min((len(c) for c in curves), default=0)
    per_iteration = tuple(mean_ci([c[t] for c in curves]) for t in range(length))
    gained = sum(1 for c in curves if c and c[-1] - c[0] >= gain - 1e-12)
    productivity = tuple(productivity_across_runs(store, run_ids))
    return MultiRunResult(
        experiment_id, tuple(run_ids), per_iteration, wilson(gained, len(curves)), gain, productivity
    )
