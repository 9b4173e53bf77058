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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from selftaught.config import RESUMABLE_SETTINGS, RunConfig
from selftaught.errors import UserInputError
from selftaught.stop.context import ProgressCallback, RunContext
from selftaught.stop.scorer import KnownScore
from selftaught.store.records import ImproverRunRecord
from selftaught.store.store import Store
from selftaught.tasks.scoring import SolutionScore

EXPERIMENT_KIND = "experiment"
# settings that change how a run is carried out, never what it computes
TRANSPORT = frozenset({*RESUMABLE_SETTINGS, "cache"})


def experiment_digest(config: RunConfig, kind: str, parameters: dict[str, Any]) -> str:
    """What identifies an experiment: its kind, parameters and every setting that changes its numbers."""
    settings = {k: v for k, v in config.model_dump().items() if k not in TRANSPORT}
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


def _known_scores(store: Store, run_id: str) -> list[KnownScore]:
    return [
        KnownScore(
            e.code_hash,
            e.task,
            e.split,
            SolutionScore(e.score, e.instances, e.error_kind, e.error, e.elapsed_s),
        )
        for e in store.evaluations(run_id)
    ]


@contextmanager
def open_experiment(
    config: RunConfig,
    kind: str,
    parameters: dict[str, Any],
    *,
    store: Store,
    on_progress: ProgressCallback | None = None,
    on_warning: Callable[[str], None] | None = None,
    on_start: Callable[[str, bool], None] | None = None,
) -> Iterator[ExperimentRun]:
    """Find or record the experiment, yield its context, and record how it ended."""
    from selftaught.models.limits import RunStopped
    from selftaught.stop.resume import usage_so_far
    from selftaught.stop.session import (
        Continued,
        close_quietly,
        make_context,
        resolve_backend,
        resolve_tasks,
        start_executor,
    )

    config, tasks = resolve_tasks(config)
    digest = experiment_digest(config, kind, parameters)
    run_id = find_experiment(store, digest)
    backend = resolve_backend(config, store.path)
    try:
        pool = start_executor(config, on_warning=on_warning)  # --executor local or ray
    except BaseException:
        close_quietly(backend)
        raise
    resumed = run_id is not None
    if run_id is None:
        recorded = {**config.model_dump(), "experiment": kind, "parameters": parameters, "digest": digest}
        run_id = store.new_run(EXPERIMENT_KIND, recorded, config.model, getattr(backend, "identity", None))
    else:
        store.set_run_status(run_id, "running", "the same experiment again: continued from the store")
    if on_start:
        on_start(run_id, resumed)
    ctx = make_context(
        config,
        tasks,
        backend=backend,
        store=store,
        run_id=run_id,
        pool=pool,
        on_progress=on_progress,
        continued=Continued(usage_so_far(store, run_id, config)) if resumed else None,
    )
    if resumed:
        ctx.prefill_scores(_known_scores(store, run_id))
    experiment = ExperimentRun(
        run_id, kind, parameters, ctx, store, finished_improver_runs(store, run_id), resumed
    )
    status, reason = "failed", None
    try:
        yield experiment
        status = "finished"
    except RunStopped as stopped:
        ctx.stop(stopped.reason, stopped.clean)
        status, reason = ("stopped" if stopped.clean else "failed"), stopped.reason
        raise
    except KeyboardInterrupt:
        ctx.stop("interrupted by the user")
        status, reason = "interrupted", "interrupted by the user"
        raise
    except BaseException as exc:
        reason = f"{exc.__class__.__name__}: {exc}"
        ctx.stop(reason)
        raise
    finally:
        ctx.recorder.flush_all()
        store.set_run_status(run_id, status, reason)
        close_quietly(pool)
        close_quietly(backend)


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
