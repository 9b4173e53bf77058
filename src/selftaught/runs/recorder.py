"""The recorder: every write a run makes to its store, and the live counters progress shows.

Storage is bounded by what a run was allowed to do, not by what a child sends:

- at most `EVENTS_PER_IMPROVER_RUN` (100) events are recorded per improver run (and as
  many outside any improver run); past that only a count per kind is kept, written
  once as one `events_capped` event when the improver run finishes (or the run ends);
- an event's detail is stored whole up to `DETAIL_MAX_BYTES` (4 KiB of JSON); past it
  the store keeps a `PREVIEW_CHARS` (512 character) preview, the byte count and the
  sha256 digest of the full JSON. Extra arguments an improver passes to `utility` are
  event details, so they are bounded the same way.

So one improver run adds at most about 101 x 4.6 KiB of events, whatever it sends.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from selftaught.failpoints import failpoint
from selftaught.models.facade import CallRecord, record_to_row
from selftaught.runs.scope import Scope
from selftaught.store.store import Store

if TYPE_CHECKING:
    from selftaught.tasks.scoring import SolutionScore

EVENTS_PER_IMPROVER_RUN = 100
DETAIL_MAX_BYTES = 4096
PREVIEW_CHARS = 512


@dataclass
class Counters:
    """Live counts for progress display."""

    model_calls: int = 0
    cached_calls: int = 0
    samples: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0
    evaluations: int = 0
    improver_runs: int = 0
    phase: str = ""


ProgressCallback = Callable[[Counters], None]


def bounded_detail(detail: dict[str, Any]) -> str:
    """The JSON to store for an event detail: whole up to DETAIL_MAX_BYTES, else preview, size and digest."""
    try:
        text = json.dumps(detail, default=str)
    except (ValueError, TypeError, RecursionError) as exc:  # circular or unencodable: say so, bounded
        text = json.dumps({"unencodable": f"{exc.__class__.__name__}: {exc}"[:PREVIEW_CHARS]})
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= DETAIL_MAX_BYTES:
        return text
    return json.dumps(
        {
            "truncated": True,
            "bytes": len(encoded),
            "sha256": hashlib.sha256(encoded).hexdigest(),
            "preview": text[:PREVIEW_CHARS],
        }
    )


class Recorder:
    """Writes a run's rows (improver runs, model calls, evaluations, events) and keeps its counters."""

    def __init__(
        self,
        store: Store | None,
        run_id: str | None,
        *,
        attempt: int = 1,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.attempt = attempt
        self.on_progress = on_progress
        self.counters = Counters()
        self._lock = threading.Lock()
        self._events: Counter[int | None] = Counter()
        self._dropped: dict[int | None, Counter[str]] = {}
        self._sealed = False

    @property
    def recording(self) -> bool:
        return self.store is not None and self.run_id is not None

    def progress(self, phase: str | None = None) -> None:
        if phase is not None:
            self.counters.phase = phase
        if self.on_progress is not None:
            self.on_progress(self.counters)

    def model_call(self, scope: Scope, call: CallRecord) -> None:
        with self._lock:
            self.counters.model_calls += 1
            self.counters.cached_calls += call.cached_samples == call.n
            self.counters.samples += call.n
            self.counters.prompt_tokens += call.prompt_tokens or 0
            self.counters.completion_tokens += call.completion_tokens or 0
            self.counters.model_seconds += call.latency_s
        if self.store is not None and self.run_id is not None:
            self.store.add_model_call(
                run_id=self.run_id,
                iteration=scope.iteration,
                improver_run_id=scope.improver_run_id,
                **record_to_row(call),
            )
        self.progress()

    def seal(self) -> None:
        """The run has ended: scorings that still come back are not recorded.

        Its executor closes next, killing the children of scorings still in flight (a seed
        evaluation an interrupt did not wait for): recorded, they would be crashes with a score
        of 0, which a resumed run reuses instead of scoring again. Left out, resume scores them.
        """
        with self._lock:
            self._sealed = True

    def evaluation(self, scope: Scope, code: str, task: str, split: str, result: SolutionScore) -> None:
        with self._lock:
            if self._sealed:
                return
            self.counters.evaluations += 1
        if self.store is not None:
            self.store.add_evaluation(
                run_id=self.run_id,
                iteration=scope.iteration,
                improver_run_id=scope.improver_run_id,
                code_hash=self.store.put_source(code, "solution"),
                task=task,
                split=split,
                score=result.score,
                error_kind=result.error_kind,
                error=result.error,
                instances=result.instances,
                elapsed_s=result.elapsed_s,
                accepted_by_reference_only=result.accepted_by_reference_only,
            )
        failpoint("evaluation")
        self.progress()

    def event(self, kind: str, scope: Scope, detail: dict[str, Any], code: str | None = None) -> None:
        """Record a safety-relevant event, within the per-improver-run cap (see the module docstring)."""
        if self.store is None:
            return
        key = scope.improver_run_id
        with self._lock:
            if self._events[key] >= EVENTS_PER_IMPROVER_RUN:
                self._dropped.setdefault(key, Counter())[kind] += 1
                return
            self._events[key] += 1
        self._write_event(kind, scope, bounded_detail(detail), code)

    def _write_event(self, kind: str, scope: Scope, detail_json: str, code: str | None) -> None:
        assert self.store is not None
        self.store.add_event(
            run_id=self.run_id,
            iteration=scope.iteration,
            improver_run_id=scope.improver_run_id,
            kind=kind,
            detail_json=detail_json,
            code_hash=self.store.put_source(code, "improver") if code else None,
        )

    def flush_capped(self, scope: Scope) -> None:
        """Write the `events_capped` summary of `scope`'s improver run, if it dropped any events."""
        with self._lock:
            dropped = self._dropped.pop(scope.improver_run_id, None)
        if dropped and self.store is not None:
            summary: dict[str, Any] = {
                "recorded": EVENTS_PER_IMPROVER_RUN,
                "dropped": sum(dropped.values()),
                "dropped_by_kind": dict(dropped.most_common(20)),
            }
            self._write_event("events_capped", scope, bounded_detail(summary), None)

    def flush_all(self) -> None:
        """Write the summaries still pending (improver runs that never finished, events outside them)."""
        with self._lock:
            keys = list(self._dropped)
        for key in keys:
            self.flush_capped(Scope(improver_run_id=key))

    def start_improver_run(
        self, scope: Scope, purpose: str, improver: str, stream: str, **extra: Any
    ) -> int | None:
        with self._lock:
            self.counters.improver_runs += 1
        if self.store is None or self.run_id is None:
            return None
        return self.store.start_improver_run(
            run_id=self.run_id,
            iteration=scope.iteration,
            parent_id=scope.improver_run_id,
            purpose=purpose,
            improver_hash=self.store.put_source(improver, "improver"),
            stream=stream,
            attempt=self.attempt,
            **extra,
        )

    def finish_improver_run(
        self, scope: Scope, outcome: Any, result_kind: str, scores: dict[str, float] | None = None
    ) -> None:
        if self.store is None or scope.improver_run_id is None:
            return
        self.flush_capped(scope)
        result_hash = self.store.put_source(outcome.solution, result_kind) if outcome.solution else None
        self.store.finish_improver_run(
            scope.improver_run_id,
            status="ok" if outcome.ok else "failed",
            error_kind=outcome.error_kind,
            error=outcome.error,
            result_hash=result_hash,
            score_val=(scores or {}).get("val"),
            score_test=(scores or {}).get("test"),
            elapsed_s=outcome.elapsed_s,
        )

    def iteration(self, improver: str, candidate: str | None, **values: Any) -> str | None:
        """Record a finished iteration with the improver in use after it and the candidate it produced;
        the improver's source digest (None without a store)."""
        if self.store is None:
            return None
        improver_hash = self.store.put_source(improver, "improver")
        candidate_hash = self.store.put_source(candidate, "improver") if candidate else None
        if self.run_id is not None:
            self.store.add_iteration(
                run_id=self.run_id,
                attempt=self.attempt,
                ended=time.time(),
                improver_hash=improver_hash,
                candidate_hash=candidate_hash,
                **values,
            )
        return improver_hash
