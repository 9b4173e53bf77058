"""What the store's read methods return: frozen records named exactly like the columns.

Field names are the column names of `schema.sql`, so a query, a record and the docs
use one vocabulary. JSON columns are also offered decoded (`config`, `detail`).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field


class Record(BaseModel):
    """A row of the store, read-only."""

    model_config = ConfigDict(frozen=True, protected_namespaces=(), extra="ignore")


class RunRecord(Record):
    """A row of `runs`, with the status and reason of its latest `run_status` row."""

    id: str
    kind: str
    created: float
    config_json: str
    model_spec: str
    model_identity: str | None
    package_version: str
    status: str
    reason: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def config(self) -> dict[str, Any]:
        return dict(json.loads(self.config_json))


class IterationRecord(Record):
    run_id: str
    iteration: int
    status: str
    improver_hash: str
    candidate_hash: str | None
    meta_utility_val: float | None
    meta_utility_test: float | None
    error_kind: str | None
    error: str | None
    attempt: int
    started: float
    ended: float
    acceptance_json: str | None = None  # schema 5: the paired test of --accept significant

    @computed_field  # type: ignore[prop-decorator]
    @property
    def acceptance(self) -> dict[str, Any] | None:
        return dict(json.loads(self.acceptance_json)) if self.acceptance_json else None


class ImproverRunRecord(Record):
    """A row of `improver_runs` joined with its `improver_run_results` row (None while unfinished)."""

    id: int
    run_id: str
    iteration: int | None
    parent_id: int | None
    purpose: str
    meta_call: int | None
    improver_hash: str
    task: str | None
    repeat: int | None
    stream: str
    attempt: int
    started: float
    status: str | None
    error_kind: str | None
    error: str | None
    result_hash: str | None
    score_val: float | None
    score_test: float | None
    elapsed_s: float | None


class EvaluationRecord(Record):
    id: int
    run_id: str | None
    iteration: int | None
    improver_run_id: int | None
    code_hash: str
    task: str
    split: str
    score: float
    error_kind: str | None
    error: str | None
    instances: int
    elapsed_s: float
    created: float
    accepted_by_reference_only: int | None = None  # schema 3; None in older rows


class ModelCallRecord(Record):
    id: int
    run_id: str
    iteration: int | None
    improver_run_id: int | None
    method: str
    system: str
    messages_json: str
    n: int
    temperature: float
    max_tokens: int | None
    responses_json: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float | None
    model_identity: str | None
    error: str | None
    stream: str | None
    occurrence: int | None
    cache_key: str | None
    cached_samples: int
    failed_samples: int
    retries: int
    created: float


class EventRecord(Record):
    id: int
    run_id: str | None
    iteration: int | None
    improver_run_id: int | None
    kind: str
    detail_json: str
    code_hash: str | None
    created: float

    @computed_field  # type: ignore[prop-decorator]
    @property
    def detail(self) -> dict[str, Any]:
        value = json.loads(self.detail_json)
        return value if isinstance(value, dict) else {"value": value}


class AuditItemRecord(Record):
    """A row of `audit_items`: one source an audit classified, with its labels (decoded `labels`)."""

    id: int
    run_id: str
    audit: str
    item: str
    subject_run_id: str | None
    iteration: int | None
    code_hash: str | None
    classifier: str
    labels_json: str
    created: float

    @computed_field  # type: ignore[prop-decorator]
    @property
    def labels(self) -> list[str]:
        value = json.loads(self.labels_json)
        return [str(v) for v in value] if isinstance(value, list) else []


class AuditFindingRecord(Record):
    """A row of `audit_findings`: one labelled line of an audited source."""

    id: int
    audit_item_id: int
    label: str
    line: int | None
    text: str | None
    detail: str | None
