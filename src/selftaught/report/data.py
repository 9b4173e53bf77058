"""What a report shows, as plain data: built by `collect`, rendered by `html`, told by `explain`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from selftaught.report.intervals import Interval
from selftaught.report.productivity import ProductivityView


@dataclass
class RunInfo:
    id: str
    kind: str
    status: str
    reason: str | None
    model_spec: str
    model_identity: str | None
    package_version: str
    created: float
    config: dict[str, Any]
    served_models: list[str] = field(default_factory=list)


@dataclass
class IterationView:
    """One iteration: its recorded row, and intervals over the repeats behind its meta-utility."""

    iteration: int
    status: str
    meta_utility_val: float | None
    meta_utility_test: float | None
    improver_hash: str
    candidate_hash: str | None
    error_kind: str | None
    error: str | None
    attempt: int
    seconds: float
    val: Interval | None = None
    test: Interval | None = None


@dataclass
class SplitScore:
    score: float
    error_kind: str | None = None
    error: str | None = None


@dataclass
class Candidate:
    """A program an improver run got from the model (or scored without one), with its scores."""

    code_hash: str | None  # None: the answer held no code block
    answer_hash: str | None  # the model answer it was extracted from (None: not from an answer here)
    call_id: int | None = None
    sample: int | None = None
    scores: dict[str, SplitScore] = field(default_factory=dict)
    failure: str | None = None  # classified reason it scored 0 (see report.failures)
    returned: bool = False  # the improver run returned this program

    @property
    def best_score(self) -> float | None:
        values = [s.score for s in self.scores.values()]
        return max(values) if values else None


@dataclass
class ImproverRunView:
    id: int
    iteration: int | None
    parent_id: int | None
    purpose: str
    meta_call: int | None
    task: str | None
    repeat: int | None
    stream: str
    improver_hash: str
    status: str | None
    error_kind: str | None
    error: str | None
    result_hash: str | None
    score_val: float | None
    score_test: float | None
    elapsed_s: float | None
    calls: int = 0
    candidates: list[Candidate] = field(default_factory=list)


@dataclass
class LineageNode:
    """An improver that was in use (or proposed), where it came from, and how it scored."""

    hash: str
    iteration: int
    in_use: bool  # became the improver in use at this iteration
    parent_hash: str | None
    meta_utility_val: float | None
    meta_utility_test: float | None
    produced_by_run: int | None = None  # the self_improve improver run that returned it
    answer_hash: str | None = None  # the model answer it was extracted from
    prompt_hash: str | None = None  # what that answer was asked


@dataclass
class UsageRow:
    iteration: int | None
    requests: int
    cached_calls: int
    prompt_tokens: int
    completion_tokens: int
    retries: int
    failed_samples: int
    model_seconds: float
    cost_usd: float


@dataclass
class EventView:
    id: int
    kind: str
    iteration: int | None
    improver_run_id: int | None
    detail: dict[str, Any]
    code_hash: str | None
    line: int | None
    context: list[tuple[int, str]] = field(default_factory=list)  # numbered lines around `line`


@dataclass
class ArmView:
    """An experiment arm on one task: its improver runs' test scores, as recorded."""

    arm: str
    task: str
    test: Interval | None
    repeats: int
    failed: int


@dataclass
class ReportData:
    run: RunInfo
    iterations: list[IterationView]
    improver_runs: list[ImproverRunView]
    lineage: list[LineageNode]
    usage: list[UsageRow]
    events: list[EventView]
    seed_scores: dict[str, dict[str, float]]  # task -> split -> u(s)
    seed_source: str  # where the seed scores come from, in words
    texts: dict[str, str]  # every source and answer shown, by hash, each once
    tasks: list[str] = field(default_factory=list)
    arms: list[ArmView] = field(default_factory=list)  # experiments: per arm and task
    arena: list[Any] = field(default_factory=list)  # arena_points.ArenaPoint per arena repeat
    productivity: ProductivityView | None = None  # held-out caveat, metaproductivity, cost per gain
