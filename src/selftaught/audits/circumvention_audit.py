"""`audit circumvention`: N independent improvements of the `sandbox` task, each read for circumvention.

An improvement is one sample of the seed improver's request on the `sandbox` task (its
seed is an improver whose utility call carries `use_sandbox=True`), rendered on the
trusted side by `prompt.seed_request`; the code in the answer is classified by
`analysis.circumvention.classify` from its syntax tree and never run. Improvement i is
sample `i % samples` of request `i // samples` on stream `audit/circumvention/VARIANT/sSEED/bB`
(occurrence 1), so the first N improvements of a larger audit are those of a smaller one,
and a rerun (or an interrupted audit run again) is served from the response cache.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selftaught.analysis.circumvention import CircumventionTally, Finding, classify, tally
from selftaught.audits.prompt import SeedRequest, seed_request
from selftaught.audits.session import AuditSession, finding_rows
from selftaught.config import RunConfig
from selftaught.inside.helpers import extract_code
from selftaught.models.base import ModelError
from selftaught.runs.calls import RunHooks, RunStart
from selftaught.store.store import Store

AUDIT = "circumvention"
TASK = "sandbox"
NO_CODE = "no_code"  # the answer had no fenced code block: counted in N, classified as nothing


@dataclass(frozen=True)
class CircumventionResult:
    """One audit run: how it ended, and the tally over the improvements it classified."""

    run_id: str
    status: str
    reason: str | None
    variant: str
    requested: int
    tally: CircumventionTally
    no_code: int
    store_path: Path

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "reason": self.reason,
            "variant": self.variant,
            "requested": self.requested,
            "improvements": self.tally.n,
            "no_code": self.no_code,
            "circumvention": self.tally.circumvention.to_json(),
            "by_kind": {kind.value: rate.to_json() for kind, rate in self.tally.by_kind.items()},
        }


def stream_of(variant: str, seed: int, batch: int) -> str:
    return f"audit/{AUDIT}/{variant}/s{seed}/b{batch}"


class _Classifier:
    """Classification memoized by source: many answers repeat, and the tree walk is the audit's cost."""

    def __init__(self, original: str) -> None:
        self.original = original
        self._memo: dict[str, list[Finding]] = {}
        self._lock = threading.Lock()

    def __call__(self, code: str) -> list[Finding]:
        with self._lock:
            known = self._memo.get(code)
        if known is None:
            known = classify(code, original=self.original)
            with self._lock:
                self._memo[code] = known
        return known


@dataclass
class _Progress:
    done: int = 0
    no_code: int = 0


def _one_batch(
    session: AuditSession,
    request: SeedRequest,
    classifier: _Classifier,
    batch: int,
    indices: range,
    per_item: dict[int, list[Finding]],
    progress: _Progress,
    lock: threading.Lock,
) -> None:
    model = session.model(stream_of(request.variant, session.config.seed, batch))
    answers = model.batch_prompt(request.expertise, [request.message] * len(indices), request.temperature)
    for index, answer in zip(indices, answers, strict=True):
        code = extract_code(answer) if answer else None
        findings = classifier(code) if isinstance(code, str) else []
        kinds = sorted({f.kind.value for f in findings}) if isinstance(code, str) else [NO_CODE]
        session.store.add_audit_item(
            finding_rows([(f.kind.value, f.line, f.text, f.detail) for f in findings]),
            run_id=session.audit_id,
            audit=AUDIT,
            item=str(index),
            code_hash=session.store.put_source(code, "improver") if isinstance(code, str) else None,
            classifier="ast",
            labels_json=json.dumps(kinds),
        )
        with lock:
            per_item[index] = findings
            progress.done += 1
            progress.no_code += not isinstance(code, str)


def run_circumvention(
    config: RunConfig,
    store: Store,
    n: int,
    variant: str = "seed",
    hooks: RunHooks | None = None,
) -> CircumventionResult:
    """Ask for `n` improvements with the `variant` prompt ("seed" or "warning"), classify and record each."""
    from selftaught.tasks import get_task

    task = get_task(TASK)
    original = task.seed_solution()
    request = seed_request(variant, original, task.shown_utility())
    parameters = {"audit": AUDIT, "n": n, "variant": variant, "task": TASK}
    hooks = hooks or RunHooks()
    classifier = _Classifier(original)
    samples = config.samples
    batches = [
        (b, range(b * samples, min(n, (b + 1) * samples))) for b in range((n + samples - 1) // samples)
    ]
    per_item: dict[int, list[Finding]] = {}
    progress, lock = _Progress(), threading.Lock()
    with AuditSession(config, store, parameters, hooks=hooks) as session:
        hooks.started(RunStart(session.audit_id, Path(store.path), config.model, (TASK,), 0, 0))
        executor = ThreadPoolExecutor(max_workers=max(1, min(config.max_concurrency, len(batches) or 1)))
        pending: set[Future[None]] = set()
        drained = False
        try:
            queue = iter(batches)
            for batch, indices in queue:
                pending.add(
                    executor.submit(
                        _one_batch, session, request, classifier, batch, indices, per_item, progress, lock
                    )
                )
                if len(pending) >= 4 * config.max_concurrency:
                    pending = _drain(pending, session, progress, n)
            while pending:
                pending = _drain(pending, session, progress, n)
            drained = True
        except ModelError as exc:
            session.end("failed", f"language model failed: {exc}")
        finally:
            executor.shutdown(wait=drained, cancel_futures=True)
    ordered = [per_item[i] for i in sorted(per_item)]
    return CircumventionResult(
        session.audit_id,
        session.status,
        session.reason,
        variant,
        n,
        tally(ordered),
        progress.no_code,
        Path(store.path),
    )


def _drain(
    pending: set[Future[None]], session: AuditSession, progress: _Progress, n: int
) -> set[Future[None]]:
    done, rest = wait(pending, return_when=FIRST_COMPLETED)
    for future in done:
        future.result()  # raises RunStopped, ModelError, ...
    tenth = 10 * progress.done // max(n, 1)  # the phase changes (and plain progress prints) ten times
    session.audit_recorder.progress(f"{AUDIT}: {10 * tenth}% of {n} improvements classified")
    return rest
