"""Read-only queries that the served pages need beyond the store's own read methods.

A version is a few maxima and counts that change whenever a row a page shows is added
(the store is append-only), so a page asks for it each second and renders again only
when it moved. Summaries of every run come from one grouped query per table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from selftaught.models.limits import Prices
from selftaught.store.queries import ReadQueries

EXPERIMENT_KIND = "experiment"
_TABLES = ("run_status", "iterations", "improver_runs", "improver_run_results", "model_calls", "evaluations",
           "events")  # fmt: skip


def store_version(store: ReadQueries) -> str:
    """Changes whenever any row is added to the store."""
    parts = [str(store.query(f"SELECT COALESCE(MAX(rowid), 0) FROM {table}")[0][0]) for table in _TABLES]
    return ".".join(parts)


def run_version(store: ReadQueries, run_id: str) -> str:
    """Changes whenever a row of this run is added (its status, iterations, improver runs and results,
    model calls, evaluations, events)."""
    row = store.query(
        """SELECT (SELECT COALESCE(MAX(id), 0) FROM run_status WHERE run_id = ?),
                  (SELECT COUNT(*) FROM iterations WHERE run_id = ?),
                  (SELECT COALESCE(MAX(id), 0) FROM improver_runs WHERE run_id = ?),
                  (SELECT COUNT(*) FROM improver_run_results x
                   JOIN improver_runs i ON i.id = x.improver_run_id WHERE i.run_id = ?),
                  (SELECT COALESCE(MAX(id), 0) FROM model_calls WHERE run_id = ?),
                  (SELECT COALESCE(MAX(id), 0) FROM evaluations WHERE run_id = ?),
                  (SELECT COALESCE(MAX(id), 0) FROM events WHERE run_id = ?)""",
        (run_id,) * 7,
    )[0]
    return ".".join(str(v) for v in tuple(row))


@dataclass(frozen=True)
class RunSummary:
    """One line of the runs list."""

    id: str
    kind: str
    experiment: str | None  # the experiment's kind (baselines, transfer, ...) for experiment runs
    status: str
    reason: str | None
    model: str
    created: float
    iterations: int  # self-improvement iterations recorded (the seed not counted)
    planned_iterations: int | None
    best_meta_utility: float | None  # best validation meta-utility of an improver in use
    best_arm: str | None  # experiments: the arm with the best mean test meta-utility so far
    best_arm_test: float | None
    improver_runs: int
    finished_improver_runs: int
    calls: int
    cost_usd: float

    @property
    def is_experiment(self) -> bool:
        return self.kind == EXPERIMENT_KIND


def run_summaries(store: ReadQueries) -> list[RunSummary]:
    """Every run of the store, newest first, with the figures the runs list shows."""
    iterations = {
        r[0]: (int(r[1]), r[2])
        for r in store.query(
            "SELECT run_id, MAX(iteration), MAX(CASE WHEN status != 'failed' THEN meta_utility_val END) "
            "FROM iterations GROUP BY run_id"
        )
    }
    calls = {
        r[0]: (int(r[1]), int(r[2] or 0), int(r[3] or 0))
        for r in store.query(
            "SELECT run_id, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens) "
            "FROM model_calls GROUP BY run_id"
        )
    }
    improver_runs = {
        r[0]: (int(r[1]), int(r[2] or 0))
        for r in store.query(
            "SELECT i.run_id, COUNT(*), COUNT(x.improver_run_id) FROM improver_runs i "
            "LEFT JOIN improver_run_results x ON x.improver_run_id = i.id GROUP BY i.run_id"
        )
    }
    arm_scores: dict[str, dict[str, list[float]]] = {}  # experiment -> arm -> finished test scores
    for r in store.query(
        "SELECT i.run_id, i.purpose, x.score_test FROM improver_runs i "
        "JOIN improver_run_results x ON x.improver_run_id = i.id WHERE i.purpose LIKE 'arm:%'"
    ):
        arm = str(r[1])[len("arm:") :].split("/run")[0]
        arm_scores.setdefault(r[0], {}).setdefault(arm, []).append(float(r[2] or 0.0))
    summaries = []
    for run in store.runs():
        config: dict[str, Any] = run.config if isinstance(run.config, dict) else {}
        last, best = iterations.get(run.id, (None, None))
        arms = arm_scores.get(run.id, {})
        best_arm = max(arms, key=lambda a: sum(arms[a]) / len(arms[a])) if arms else None
        count, prompt, completion = calls.get(run.id, (0, 0, 0))
        prices = Prices.of(config)
        planned = config.get("iterations")
        started, finished = improver_runs.get(run.id, (0, 0))
        summaries.append(
            RunSummary(
                id=run.id,
                kind=run.kind,
                experiment=str(config["experiment"]) if run.kind == EXPERIMENT_KIND and "experiment" in config
                else None,
                status=run.status,
                reason=run.reason,
                model=run.model_spec,
                created=run.created,
                iterations=int(last or 0),
                planned_iterations=planned if isinstance(planned, int) else None,
                best_meta_utility=best,
                best_arm=best_arm,
                best_arm_test=sum(arms[best_arm]) / len(arms[best_arm]) if best_arm else None,
                improver_runs=started,
                finished_improver_runs=finished,
                calls=count,
                cost_usd=prices.cost(prompt, completion),
            )
        )  # fmt: skip
    return summaries
