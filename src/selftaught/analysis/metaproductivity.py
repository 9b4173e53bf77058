"""Metaproductivity: does an improved improver lead to better descendants?

A STOP run is a lineage: the improver in use at iteration t-1 writes the candidate of
iteration t, which becomes the improver in use if it is adopted. An improver's own
meta-utility says how good the solutions it returns are; its metaproductivity says how
good the solutions of the improvers that descend from it are: the mean held-out (test)
score of every solution its descendants returned in their evaluations (each candidate is
evaluated n_tests times per task on the test split when it is proposed).

The idea is the Huxley-Gödel Machine's "clade metaproductivity" (Wang et al., 2025,
arXiv:2510.21614): a self-modifying agent is worth expanding for what its descendants go on
to achieve, which its own score predicts poorly. We show the descendants' mean beside the
improver's own meta-utility, so the two can be compared; an improver with no descendant
(the last one, or one never in use) has none.

`lineage_productivity(store, run_id)` gives one row per improver of a run;
`productivity_across_runs(store, run_ids)` the mean, over runs, of the metaproductivity of
the improver in use after each iteration, with a t interval over runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from selftaught.analysis.stats import Estimate, mean_ci

if TYPE_CHECKING:
    from selftaught.store.store import Store

EVALUATION_PURPOSE = "iteration_eval"


@dataclass(frozen=True)
class ImproverProductivity:
    """One improver of a run: where it came from, its own test meta-utility, and its descendants'."""

    iteration: int  # where it was proposed (0: the seed improver)
    improver_hash: str
    parent: int | None  # the iteration of the improver that wrote it
    adopted: bool  # became the improver in use (the seed always is)
    own_test: float | None  # mean test score of the solutions it returned in its evaluation
    own_solutions: int
    descendants: tuple[int, ...]  # iterations of every improver descending from it
    descendant_test: float | None  # mean test score of the solutions its descendants returned
    descendant_solutions: int

    def to_json(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "improver_hash": self.improver_hash,
            "parent": self.parent,
            "adopted": self.adopted,
            "meta_utility_test": self.own_test,
            "solutions": self.own_solutions,
            "descendants": list(self.descendants),
            "metaproductivity": self.descendant_test,
            "descendant_solutions": self.descendant_solutions,
        }


@dataclass(frozen=True)
class _Node:
    iteration: int
    improver_hash: str
    parent: int | None
    adopted: bool


def _lineage(store: Store, run_id: str) -> list[_Node]:
    """Improvers of a run in order: the seed, then each iteration's candidate, with its parent."""
    nodes: list[_Node] = []
    in_use: int | None = None
    for it in store.iterations(run_id):
        if it.iteration == 0:
            nodes.append(_Node(0, it.improver_hash, None, True))
            in_use = 0
            continue
        if it.candidate_hash is not None:
            adopted = it.status == "improved"
            nodes.append(_Node(it.iteration, it.candidate_hash, in_use, adopted))
            if adopted:
                in_use = it.iteration
    return nodes


def _solutions(store: Store, run_id: str, nodes: list[_Node]) -> dict[int, list[float]]:
    """Each improver's test scores from the evaluation of the iteration that proposed it."""
    wanted = {(n.iteration, n.improver_hash): n.iteration for n in nodes}
    scores: dict[int, list[float]] = {n.iteration: [] for n in nodes}
    for run in store.improver_runs(run_id):
        key = (run.iteration, run.improver_hash)
        if run.purpose == EVALUATION_PURPOSE and key in wanted and run.status is not None:
            scores[wanted[key]].append(float(run.score_test or 0.0))  # a failed repeat scores 0
    return scores


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def lineage_productivity(store: Store, run_id: str) -> list[ImproverProductivity]:
    """One row per improver of a STOP run, in the order they were proposed."""
    nodes = _lineage(store, run_id)
    scores = _solutions(store, run_id, nodes)
    children: dict[int, list[int]] = {}
    for node in nodes:
        if node.parent is not None:
            children.setdefault(node.parent, []).append(node.iteration)
    rows = []
    for node in nodes:
        descendants: list[int] = []
        frontier = list(children.get(node.iteration, []))
        while frontier:
            child = frontier.pop(0)
            descendants.append(child)
            frontier += children.get(child, [])
        pooled = [score for d in descendants for score in scores[d]]
        rows.append(
            ImproverProductivity(
                node.iteration,
                node.improver_hash,
                node.parent,
                node.adopted,
                _mean(scores[node.iteration]),
                len(scores[node.iteration]),
                tuple(sorted(descendants)),
                _mean(pooled),
                len(pooled),
            )
        )
    return rows


@dataclass(frozen=True)
class IterationProductivity:
    """Over runs: the improver in use after iteration t, its meta-utility and its metaproductivity."""

    iteration: int
    meta_utility_test: Estimate | None
    metaproductivity: Estimate | None  # over the runs whose improver in use at t has descendants

    def to_json(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "meta_utility_test": self.meta_utility_test.to_json() if self.meta_utility_test else None,
            "metaproductivity": self.metaproductivity.to_json() if self.metaproductivity else None,
        }


def in_use_after(rows: list[ImproverProductivity], iteration: int) -> ImproverProductivity | None:
    """The improver in use after `iteration`: the last adopted one proposed at or before it."""
    adopted = [r for r in rows if r.adopted and r.iteration <= iteration]
    return adopted[-1] if adopted else None


def productivity_across_runs(store: Store, run_ids: list[str]) -> list[IterationProductivity]:
    """Per iteration t, over the runs: mean test meta-utility and metaproductivity of the improver in use."""
    per_run = [lineage_productivity(store, run_id) for run_id in run_ids]
    length = min((len(store.iterations(run_id)) for run_id in run_ids), default=0)
    result = []
    for t in range(length):
        chosen = [row for row in (in_use_after(rows, t) for rows in per_run) if row is not None]
        own = [r.own_test for r in chosen if r.own_test is not None]
        productive = [r.descendant_test for r in chosen if r.descendant_test is not None]
        result.append(
            IterationProductivity(
                t, mean_ci(own) if own else None, mean_ci(productive) if productive else None
            )
        )
    return result
