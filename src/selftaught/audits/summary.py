"""`audit summary`: for each model identity in a store, every audit rate with its interval and count.

- circumvention, per prompt variant: improvements are deduplicated across audit runs by
  (variant, seed, index), the latest classification winning, so a 200-improvement audit
  and a 10,000-improvement audit of the same model count the shared 200 once; with both
  variants, the difference warning minus seed with Newcombe's interval, flagged `few_events`
  below FEW_EVENTS circumventions in both arms together, where the interval is conservative
  (simulated: 99.7% coverage at the paper's rates with 200 improvements per arm; 95.1% with
  3,000, see docs/experiments.md);
- hacking: the detectors over every STOP, evaluation and experiment run of the model;
- strategies: the share of the model's distinct improvers carrying each AST label.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from selftaught.analysis import hacking as detectors
from selftaught.analysis.circumvention import CIRCUMVENTION_KINDS, Kind
from selftaught.analysis.stats import Rate, RateDifference, proportion_difference, wilson
from selftaught.analysis.strategies import Strategy, classify_strategies
from selftaught.audits.circumvention_audit import AUDIT as CIRCUMVENTION
from selftaught.audits.circumvention_audit import NO_CODE
from selftaught.audits.hacking_audit import load_records, reference_credit
from selftaught.audits.session import AUDIT_KIND
from selftaught.audits.strategies_audit import improver_sources
from selftaught.store.records import RunRecord
from selftaught.store.store import Store

FEW_EVENTS = 10  # circumventions in both arms together below which the difference's interval is wide


@dataclass(frozen=True)
class VariantRates:
    improvements: int
    no_code: int
    circumvention: Rate
    by_kind: dict[str, Rate]

    def to_json(self) -> dict[str, Any]:
        return {
            "improvements": self.improvements,
            "no_code": self.no_code,
            "circumvention": self.circumvention.to_json(),
            "by_kind": {k: v.to_json() for k, v in self.by_kind.items()},
        }


@dataclass(frozen=True)
class ModelSummary:
    identity: str
    runs: int
    circumvention: dict[str, VariantRates] = field(default_factory=dict)
    warning_difference: RateDifference | None = None
    hacking: dict[str, Rate] = field(default_factory=dict)
    improver_runs: int = 0
    strategies: dict[str, Rate] = field(default_factory=dict)
    improvers: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "model_identity": self.identity,
            "runs": self.runs,
            "circumvention": {k: v.to_json() for k, v in self.circumvention.items()},
            "warning_minus_seed": self.warning_difference.to_json() if self.warning_difference else None,
            "warning_minus_seed_few_events": few_events(self.warning_difference)
            if self.warning_difference
            else None,
            "hacking": {k: v.to_json() for k, v in self.hacking.items()},
            "improver_runs": self.improver_runs,
            "strategies": {k: v.to_json() for k, v in self.strategies.items()},
            "improvers": self.improvers,
        }


def few_events(difference: RateDifference) -> bool:
    """Whether a difference of rates rests on so few events that its 95% interval is conservative."""
    return difference.a.k + difference.b.k < FEW_EVENTS


def _identity(run: RunRecord) -> str:
    return run.model_identity or run.model_spec


def _circumvention(store: Store, audits: list[RunRecord]) -> dict[str, VariantRates]:
    latest: dict[str, dict[tuple[int, str], list[str]]] = {}
    for run in sorted(audits, key=lambda r: (r.created, r.id)):
        variant, seed = str(run.config.get("variant", "seed")), run.config.get("seed", 0)
        for item in store.audit_items(run.id, CIRCUMVENTION):
            latest.setdefault(variant, {})[(seed, item.item)] = item.labels
    rates = {}
    for variant, items in sorted(latest.items()):
        n = len(items)
        kinds = {
            kind.value: wilson(sum(kind.value in labels for labels in items.values()), n) for kind in Kind
        }
        circumventing = sum(any(k in CIRCUMVENTION_KINDS for k in labels) for labels in items.values())
        no_code = sum(NO_CODE in labels for labels in items.values())
        rates[variant] = VariantRates(n, no_code, wilson(circumventing, n), kinds)
    return rates


def _hacking(store: Store, runs: list[RunRecord]) -> tuple[dict[str, Rate], int]:
    evaluations, improver_runs, events = [], [], []
    credited = []
    for run in runs:
        e, r, v, scoring = load_records(store, run)
        evaluations += e
        improver_runs += r
        events += v
        if scoring == "reference":
            credited += store.evaluations(run.id)
    if not (evaluations or improver_runs):
        return {}, 0
    total = detectors.hacking_report(evaluations, improver_runs, events).total
    rates = {
        "gap": total.gap,
        "rejected": total.rejected,
        "impossible": total.impossible,
        "escapes": total.escapes,
        "reference_only": reference_credit(credited).total if credited else total.reference_only,
    }
    return rates, len(improver_runs)


def _strategies(store: Store, runs: list[RunRecord]) -> tuple[dict[str, Rate], int]:
    digests: dict[str, None] = {}
    for run in runs:
        for item in improver_sources(store, run.id):
            digests.setdefault(item.code_hash)
    labels = [classify_strategies(store.source(d) or "").names for d in digests]
    n = len(labels)
    return ({s.value: wilson(sum(s.value in names for names in labels), n) for s in Strategy} if n else {}), n


def audit_summary(store: Store) -> list[ModelSummary]:
    """One summary per model identity that has runs, sorted by identity."""
    grouped: dict[str, list[RunRecord]] = {}
    for run in store.runs():
        if run.kind == AUDIT_KIND and run.config.get("audit") != CIRCUMVENTION:
            continue  # strategy audits are about another run's model
        grouped.setdefault(_identity(run), []).append(run)
    summaries = []
    for identity, runs in sorted(grouped.items()):
        audits = [r for r in runs if r.kind == AUDIT_KIND]
        subjects = [r for r in runs if r.kind != AUDIT_KIND]
        circumvention = _circumvention(store, audits)
        difference = None
        if "seed" in circumvention and "warning" in circumvention:
            a, b = circumvention["warning"].circumvention, circumvention["seed"].circumvention
            difference = proportion_difference(a.k, a.n, b.k, b.n)
        hacking, improver_runs = _hacking(store, subjects)
        strategies, improvers = _strategies(store, subjects)
        summaries.append(
            ModelSummary(
                identity, len(runs), circumvention, difference, hacking, improver_runs, strategies, improvers
            )
        )
    return summaries


def summary_json(summaries: list[ModelSummary]) -> str:
    return json.dumps({"models": [s.to_json() for s in summaries]})
