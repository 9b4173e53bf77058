"""`audit strategies`: label every improver a run recorded with the strategies the paper names.

The sources are each iteration's improver and the candidate it returned, and (for
evaluations and experiments, which have no iterations) every distinct improver its
improver runs ran. Each is labelled by `analysis.strategies` from its syntax tree, with
the lines that justify each label; with `judge`, a model is also asked (the packaged
judge prompt, one cached and recorded call per source) and its `LABELS:` line parsed.
Everything is recorded as an audit run, so `audit summary` can count it per model.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selftaught.analysis.strategies import Strategy, classify_strategies
from selftaught.analysis.strategy_judge import judge_message, parse_judge_labels
from selftaught.audits.session import AuditSession, finding_rows
from selftaught.config import RunConfig
from selftaught.errors import UserInputError
from selftaught.models.limits import RunStopped
from selftaught.store.store import Store

AUDIT = "strategies"
JUDGE_SYSTEM = "You are a careful reviewer of Python programs."
JUDGE_TEMPERATURE = 0.0


@dataclass(frozen=True)
class ImproverSource:
    """One improver a run recorded: where it appeared, and its source digest."""

    iteration: int | None
    role: str  # improver, candidate
    code_hash: str


@dataclass(frozen=True)
class LabelledImprover:
    source: ImproverSource
    parsed: bool
    labels: dict[str, list[tuple[int, str]]]  # strategy -> (line, text) evidence
    judge: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "iteration": self.source.iteration,
            "role": self.source.role,
            "code_hash": self.source.code_hash,
            "parsed": self.parsed,
            "labels": {k: [{"line": line, "text": text} for line, text in v] for k, v in self.labels.items()},
            "judge": self.judge,
        }


@dataclass(frozen=True)
class StrategiesResult:
    run_id: str  # the audit run
    subject_run_id: str
    improvers: tuple[LabelledImprover, ...]
    store_path: Path
    status: str = "finished"
    reason: str | None = None
    judge_model: str | None = None
    counts_by_iteration: dict[int | None, dict[str, int]] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return count_labels(i.labels for i in self.improvers)

    @property
    def judge_counts(self) -> dict[str, int]:
        return count_labels(i.judge or [] for i in self.improvers)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "subject_run_id": self.subject_run_id,
            "judge": self.judge_model,
            "improvers": [i.to_json() for i in self.improvers],
            "counts": self.counts,
            "judge_counts": self.judge_counts if self.judge_model else None,
            "counts_by_iteration": [
                {"iteration": k, "counts": v} for k, v in self.counts_by_iteration.items()
            ],
        }


def count_labels(label_sets: Any) -> dict[str, int]:
    counts = Counter(label for labels in label_sets for label in labels)
    return {s.value: counts.get(s.value, 0) for s in Strategy}


def improver_sources(store: Store, run_id: str) -> list[ImproverSource]:
    """Distinct improver sources of a run, first appearance first."""
    seen: set[str] = set()
    found: list[ImproverSource] = []

    def add(iteration: int | None, role: str, digest: str | None) -> None:
        if digest and digest not in seen:
            seen.add(digest)
            found.append(ImproverSource(iteration, role, digest))

    for it in store.iterations(run_id):
        add(it.iteration, "improver", it.improver_hash)
        add(it.iteration, "candidate", it.candidate_hash)
    for run in store.improver_runs(run_id):
        add(run.iteration, "improver", run.improver_hash)
        if run.purpose == "self_improve":
            add(run.iteration, "candidate", run.result_hash)
    return found


def _judge(session: AuditSession, source: str, code_hash: str) -> list[str]:
    model = session.model(f"audit/{AUDIT}/{code_hash[:16]}")
    (answer,) = model.prompt(JUDGE_SYSTEM, judge_message(source), 1, JUDGE_TEMPERATURE)
    return parse_judge_labels(answer)


def audit_strategies(
    store: Store, subject_run_id: str, config: RunConfig, judge: str | None = None
) -> StrategiesResult:
    """Label every improver of `subject_run_id`; `judge` (a model spec) also asks that model.

    A limit that stops the judge ends the audit `stopped` (or `failed`) with what it labelled so
    far; Ctrl-C is recorded `interrupted` and raised.
    """
    subject = store.run(subject_run_id)
    if subject is None:
        raise UserInputError(f"no run {subject_run_id!r} in {store.path} (see `selftaught runs`)")
    if subject.kind == "audit":
        raise UserInputError(
            f"run {subject_run_id} is an audit; audit a STOP run, an evaluation or an experiment"
        )
    config = config.model_copy(update={"model": judge or "ast"})
    parameters = {"audit": AUDIT, "subject": subject_run_id, "judge": judge}
    labelled: list[LabelledImprover] = []
    by_iteration: dict[int | None, Counter[str]] = {}
    # without a judge no model is asked: the session gets a stand-in instead of resolving "ast"
    stand_in = None if judge else _NoModel()
    with AuditSession(config, store, parameters, backend=stand_in, absorb=(RunStopped,)) as session:
        for item in improver_sources(store, subject_run_id):
            labelled.append(_label(session, store, subject_run_id, item, judge, by_iteration))
    counts = {k: {s.value: v.get(s.value, 0) for s in Strategy} for k, v in by_iteration.items()}
    return StrategiesResult(
        session.audit_id,
        subject_run_id,
        tuple(labelled),
        Path(store.path),
        session.status,
        session.reason,
        judge,
        counts,
    )


def _label(
    session: AuditSession,
    store: Store,
    subject_run_id: str,
    item: ImproverSource,
    judge: str | None,
    by_iteration: dict[int | None, Counter[str]],
) -> LabelledImprover:
    """Label one improver (and ask the judge, if any); record both as audit items."""
    source = store.source(item.code_hash) or ""
    report = classify_strategies(source)
    labels = {
        label.strategy.value: list(zip(label.lines, label.evidence, strict=True)) for label in report.labels
    }
    rows = [(name, line, text, None) for name, ev in labels.items() for line, text in ev]
    common = {"run_id": session.audit_id, "audit": AUDIT, "subject_run_id": subject_run_id}
    where = {
        "item": f"{item.role}@{item.iteration}",
        "iteration": item.iteration,
        "code_hash": item.code_hash,
    }
    store.add_audit_item(
        finding_rows(rows), **common, **where, classifier="ast", labels_json=json.dumps(list(labels))
    )
    verdict = None
    if judge:
        verdict = _judge(session, source, item.code_hash)
        store.add_audit_item(
            finding_rows([(name, None, None, "judge") for name in verdict]),
            **common,
            **where,
            classifier="judge",
            labels_json=json.dumps(verdict),
        )
    by_iteration.setdefault(item.iteration, Counter()).update(list(labels))
    return LabelledImprover(item, report.parsed, labels, verdict)


class _NoModel:
    """The AST classifier asks no model; the audit run records "ast" as its model."""

    identity = "ast"

    def complete(self, request: Any) -> Any:  # pragma: no cover - never called
        raise RuntimeError("the AST strategy audit asks no model")

    def close(self) -> None:
        pass
