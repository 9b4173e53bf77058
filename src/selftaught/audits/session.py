"""An audit run: a `runs` row of kind "audit" with the model, cache, limits and recorder of a STOP run.

Audits that ask a model (circumvention, the strategy judge) record every call under their
own run id through the same `Recorder`, `ResponseCache` and `UsageLimiter` as `run`, so a
rerun is served from the cache and `selftaught show RUN` lists the calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selftaught.config import RunConfig
from selftaught.models.base import ModelBackend
from selftaught.models.cache import ResponseCache
from selftaught.models.facade import CallRecord, LanguageModel
from selftaught.models.limits import Prices, UsageLimiter
from selftaught.stop.context import ProgressCallback, Scope
from selftaught.stop.recorder import Recorder
from selftaught.store.store import Store

AUDIT_KIND = "audit"
MAX_FINDINGS_PER_ITEM = 20  # labelled lines stored per audited source
MAX_TEXT_CHARS = 200  # of each stored line


@dataclass
class AuditSession:
    """What one audit run writes through; close it to record the final status."""

    config: RunConfig
    store: Store
    backend: ModelBackend
    recorder: Recorder
    limiter: UsageLimiter
    cache: ResponseCache | None
    run_id: str

    def model(self, stream: str, budget: int = 1) -> LanguageModel:
        """A `language_model` whose calls are cached under `stream` and recorded under this run."""
        scope = Scope(stream=stream)

        def record(call: CallRecord) -> None:
            self.recorder.model_call(scope, call)

        return LanguageModel(
            self.backend,
            budget=budget,
            max_responses_per_call=self.config.samples,
            max_tokens=self.config.max_tokens,
            recorder=record,
            cache=self.cache,
            stream=stream,
            limiter=self.limiter,
        )

    def finish(self, status: str, reason: str | None = None) -> None:
        self.recorder.flush_all()
        self.store.set_run_status(self.run_id, status, reason)


def open_audit(
    config: RunConfig,
    store: Store,
    parameters: dict[str, Any],
    on_progress: ProgressCallback | None = None,
    backend: ModelBackend | None = None,
) -> AuditSession:
    """Record a new audit run (config: the run settings plus `parameters`) and return its session."""
    from selftaught.stop.session import resolve_backend

    backend = backend or resolve_backend(config, store.path)
    recorded = {**config.model_dump(), **parameters}
    run_id = store.new_run(AUDIT_KIND, recorded, config.model, getattr(backend, "identity", None))
    limiter = UsageLimiter(
        config.max_calls, config.max_cost, Prices(config.price_prompt, config.price_completion)
    )
    return AuditSession(
        config,
        store,
        backend,
        Recorder(store, run_id, on_progress=on_progress),
        limiter,
        ResponseCache(store, run_id) if config.cache else None,
        run_id,
    )


def finding_rows(findings: Sequence[tuple[str, int | None, str | None, str | None]]) -> list[dict[str, Any]]:
    """`audit_findings` rows, capped at MAX_FINDINGS_PER_ITEM with texts cut to MAX_TEXT_CHARS."""
    return [
        {
            "label": label,
            "line": line,
            "text": (text or "")[:MAX_TEXT_CHARS],
            "detail": (detail or "")[:MAX_TEXT_CHARS] or None,
        }
        for label, line, text, detail in findings[:MAX_FINDINGS_PER_ITEM]
    ]


def store_path(store: Store) -> Path:
    return Path(store.path)
