"""An experiment run: a `runs` row of kind "experiment" that owns every improver run it makes.

An experiment is found again by a digest of what determines its numbers (model, tasks,
budgets, seed, scoring, and the experiment's own parameters), so the same command run
again continues an interrupted experiment, or reprints a finished one, from the store:
finished improver runs are reused by their stream, recorded evaluations are not scored
again, and model calls already answered come from the response cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from selftaught.config import COMPUTING_SETTINGS, RunConfig
from selftaught.errors import UserInputError
from selftaught.runs.calls import RunHooks, RunStart
from selftaught.runs.context import RunContext
from selftaught.runs.session import RunSession
from selftaught.store.records import ImproverRunRecord
from selftaught.store.store import Store

EXPERIMENT_KIND = "experiment"


# settings that change how a run is carried out, never what it computes
CARRYING_SETTINGS = frozenset(RunConfig.model_fields) - frozenset(COMPUTING_SETTINGS)


def computing_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A recorded configuration less the settings that never change what it computes.

    Keys that are no setting (a record from another release) are kept, so such records differ.
    """
    return {k: v for k, v in settings.items() if k not in CARRYING_SETTINGS}


def experiment_digest(config: RunConfig, kind: str, parameters: dict[str, Any]) -> str:
    """What identifies an experiment: its kind, parameters and every setting that changes its numbers."""
    settings = computing_settings(config.model_dump())
    text = json.dumps({"kind": kind, "parameters": parameters, "settings": settings}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class ExperimentRun:
    """One experiment's run id, its context, and the improver runs it already finished."""

    run_id: str
    kind: str
    parameters: dict[str, Any]
    ctx: RunContext
    store: Store
    finished: dict[str, ImproverRunRecord]  # stream -> its latest finished improver run
    resumed: bool

    def reuse(self, stream: str) -> ImproverRunRecord | None:
        return self.finished.get(stream)


def find_experiment(store: Store, digest: str) -> str | None:
    """The id of the latest experiment recorded with this digest, if any."""
    found = [r for r in store.runs() if r.kind == EXPERIMENT_KIND and r.config.get("digest") == digest]
    return found[-1].id if found else None


def finished_improver_runs(store: Store, run_id: str) -> dict[str, ImproverRunRecord]:
    """Stream -> the latest improver run of `run_id` on that stream that has a result."""
    done: dict[str, ImproverRunRecord] = {}
    for record in store.improver_runs(run_id):
        if record.status is not None:
            done[record.stream] = record
    return done


@contextmanager
def open_experiment(
    config: RunConfig,
    kind: str,
    parameters: dict[str, Any],
    *,
    store: Store,
    hooks: RunHooks | None = None,
) -> Iterator[ExperimentRun]:
    """Find or record the experiment and yield its context; its session records how it ended.

    Every ending propagates (a limit's `RunStopped` and Ctrl-C too): the caller reports it.
    """
    from selftaught.runs.resume import recorded_scores, usage_so_far
    from selftaught.runs.start import Continued, resolve_tasks

    hooks = hooks or RunHooks()
    config, tasks = resolve_tasks(config)
    digest = experiment_digest(config, kind, parameters)
    found = find_experiment(store, digest)
    with RunSession(config, store=store, hooks=hooks, absorb=()) as session:
        if found is None:
            recorded = {**config.model_dump(), "experiment": kind, "parameters": parameters, "digest": digest}
            run_id = session.record(EXPERIMENT_KIND, recorded)
        else:
            run_id = session.continue_run(found, "the same experiment again: continued from the store")
        resumed = found is not None
        names = tuple(t.name for t in tasks)
        hooks.started(
            RunStart(run_id, store.path, config.model, names, 0, config.iterations, continued=resumed)
        )
        ctx = session.context(tasks, Continued(usage_so_far(store, run_id, config)) if resumed else None)
        if resumed:
            ctx.scorer.prefill(recorded_scores(store, run_id))
        done = finished_improver_runs(store, run_id)
        yield ExperimentRun(run_id, kind, parameters, ctx, store, done, resumed)


def recorded_experiment(store: Store, run_id: str) -> tuple[RunConfig, str, dict[str, Any]]:
    """The configuration, kind and parameters an experiment was recorded with (for resume)."""
    run = store.run(run_id)
    if run is None:
        raise UserInputError(f"no run {run_id!r} in {store.path}")
    if run.kind != EXPERIMENT_KIND:
        raise UserInputError(f"run {run_id} is a {run.kind} run, not an experiment")
    recorded = dict(run.config)
    kind, parameters = recorded.pop("experiment"), recorded.pop("parameters")
    recorded.pop("digest", None)
    return RunConfig(**recorded), kind, parameters
