"""An audit run: a `runs` row of kind "audit" with the model, cache, limits and recorder of a STOP run.

Audits that ask a model (circumvention, the strategy judge) record every call under their
own run id through the same `Recorder`, `ResponseCache` and `UsageLimiter` as `run`, so a
rerun is served from the cache and `selftaught show RUN` lists the calls. An audit is a
`RunSession`, so it ends like every other run (stopped, failed, interrupted on Ctrl-C).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from selftaught.config import RunConfig
from selftaught.models.base import ModelBackend
from selftaught.models.cache import ResponseCache
from selftaught.models.facade import CallRecord, LanguageModel
from selftaught.models.limits import UsageLimiter
from selftaught.runs.calls import RunHooks
from selftaught.runs.recorder import Recorder
from selftaught.runs.scope import Scope
from selftaught.runs.session import QUIET_ENDINGS, RunSession
from selftaught.runs.start import fresh_usage
from selftaught.store.store import Store

AUDIT_KIND = "audit"
MAX_FINDINGS_PER_ITEM = 20  # labelled lines stored per audited source
MAX_TEXT_CHARS = 200  # of each stored line


class AuditSession(RunSession):
    """One audit run: a run session with no executor (audits never run model-written code).

    Entering it records the audit run (the run settings plus `parameters`); its recorder,
    response cache and usage limiter are those of a STOP run.
    """

    def __init__(
        self,
        config: RunConfig,
        store: Store,
        parameters: dict[str, Any],
        *,
        backend: ModelBackend | None = None,
        hooks: RunHooks | None = None,
        absorb: tuple[type[BaseException], ...] = QUIET_ENDINGS,
    ) -> None:
        super().__init__(config, store=store, executor=False, backend=backend, hooks=hooks, absorb=absorb)
        self.parameters = parameters

    def __enter__(self) -> AuditSession:
        super().__enter__()
        try:
            run_id = self.record(AUDIT_KIND, {**self.config.model_dump(), **self.parameters})
            self.audit_recorder = Recorder(self.store, run_id, on_progress=self.hooks.on_progress)
            self.recorder = self.audit_recorder
            self.limiter: UsageLimiter = fresh_usage(self.config)
            self.cache: ResponseCache | None = (
                ResponseCache(self.store, run_id) if self.config.cache else None
            )
        except BaseException as exc:
            self.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self.audit_id = run_id
        return self

    def model(self, stream: str, budget: int = 1) -> LanguageModel:
        """A `language_model` whose calls are cached under `stream` and recorded under this run."""
        scope = Scope(stream=stream)

        def record(call: CallRecord) -> None:
            self.audit_recorder.model_call(scope, call)

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
