"""Reading a store: one method per table, each returning frozen records (see records.py).

These methods are the contract that analyses, reports and tests code against; their
filters (`run_id`, `iteration`, `improver_run_id`) use the indexes of schema version 2.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from selftaught.store.records import (
    AuditFindingRecord,
    AuditItemRecord,
    EvaluationRecord,
    EventRecord,
    ImproverRunRecord,
    IterationRecord,
    ModelCallRecord,
    RunRecord,
)

_RUNS = """SELECT r.*, s.status, s.reason FROM runs r
           JOIN run_status s ON s.id = (SELECT MAX(id) FROM run_status WHERE run_id = r.id)"""


class ReadQueries:
    """Read methods of `Store`; needs only `query`."""

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:  # pragma: no cover - Store's
        raise NotImplementedError

    def runs(self) -> list[RunRecord]:
        """Every run, newest first, with its latest status."""
        rows = self.query(_RUNS + " ORDER BY r.created DESC, r.id DESC")
        return [RunRecord(**dict(r)) for r in rows]

    def run(self, run_id: str) -> RunRecord | None:
        rows = self.query(_RUNS + " WHERE r.id = ?", (run_id,))
        return RunRecord(**dict(rows[0])) if rows else None

    def run_statuses(self, run_id: str) -> list[str]:
        """Every status a run has had, oldest first (running, finished, ... one row each)."""
        return [
            r["status"]
            for r in self.query("SELECT status FROM run_status WHERE run_id = ? ORDER BY id", (run_id,))
        ]

    def iterations(self, run_id: str) -> list[IterationRecord]:
        rows = self.query("SELECT * FROM iterations WHERE run_id = ? ORDER BY iteration", (run_id,))
        return [IterationRecord(**dict(r)) for r in rows]

    def improver_runs(self, run_id: str, iteration: int | None = None) -> list[ImproverRunRecord]:
        """Improver runs with their results (result columns None while a run is unfinished)."""
        sql = (
            "SELECT i.*, r.status, r.error_kind, r.error, r.result_hash, r.score_val, r.score_test, "
            "r.elapsed_s FROM improver_runs i LEFT JOIN improver_run_results r ON r.improver_run_id = i.id "
            "WHERE i.run_id = ?"
        )
        params: tuple[Any, ...] = (run_id,)
        if iteration is not None:
            sql, params = sql + " AND i.iteration = ?", (*params, iteration)
        return [ImproverRunRecord(**dict(r)) for r in self.query(sql + " ORDER BY i.id", params)]

    def _per_run(self, table: str, run_id: str, improver_run_id: int | None) -> list[dict[str, Any]]:
        params: tuple[Any, ...]
        sql, params = f"SELECT * FROM {table} WHERE run_id = ?", (run_id,)
        if improver_run_id is not None:
            sql, params = sql + " AND improver_run_id = ?", (*params, improver_run_id)
        return [dict(r) for r in self.query(sql + " ORDER BY id", params)]

    def evaluations(self, run_id: str, improver_run_id: int | None = None) -> list[EvaluationRecord]:
        return [EvaluationRecord(**r) for r in self._per_run("evaluations", run_id, improver_run_id)]

    def model_calls(self, run_id: str, improver_run_id: int | None = None) -> list[ModelCallRecord]:
        return [ModelCallRecord(**r) for r in self._per_run("model_calls", run_id, improver_run_id)]

    def events(self, run_id: str, improver_run_id: int | None = None) -> list[EventRecord]:
        return [EventRecord(**r) for r in self._per_run("events", run_id, improver_run_id)]

    def audit_items(self, run_id: str, audit: str | None = None) -> list[AuditItemRecord]:
        """What an audit run classified (schema 3), in the order it was recorded."""
        params: tuple[Any, ...]
        sql, params = "SELECT * FROM audit_items WHERE run_id = ?", (run_id,)
        if audit is not None:
            sql, params = sql + " AND audit = ?", (*params, audit)
        return [AuditItemRecord(**dict(r)) for r in self.query(sql + " ORDER BY id", params)]

    def audit_findings(self, run_id: str) -> dict[int, list[AuditFindingRecord]]:
        """The labelled lines of an audit run's items, by audit item id."""
        rows = self.query(
            "SELECT f.* FROM audit_findings f JOIN audit_items i ON i.id = f.audit_item_id "
            "WHERE i.run_id = ? ORDER BY f.id",
            (run_id,),
        )
        found: dict[int, list[AuditFindingRecord]] = {}
        for row in rows:
            found.setdefault(int(row["audit_item_id"]), []).append(AuditFindingRecord(**dict(row)))
        return found

    def source(self, digest: str) -> str | None:
        """The source text with this sha256 digest, if stored."""
        rows = self.query("SELECT source FROM sources WHERE hash = ?", (digest,))
        return rows[0]["source"] if rows else None

    # --- summaries ------------------------------------------------------------------------
    def usage(self, run_id: str) -> dict[int | None, dict[str, Any]]:
        """Model use per iteration (None: outside iterations): requests, cached calls, tokens, retries."""
        rows = self.query(
            """SELECT iteration, COUNT(*) AS calls, SUM(cached_samples = n) AS cached_calls,
                      SUM(cached_samples < n) AS requests, COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,
                      COALESCE(SUM(completion_tokens), 0) AS completion_tokens, SUM(retries) AS retries,
                      SUM(failed_samples) AS failed_samples, SUM(latency_s) AS model_seconds
               FROM model_calls WHERE run_id = ? GROUP BY iteration ORDER BY iteration""",
            (run_id,),
        )
        return {r["iteration"]: {k: v for k, v in dict(r).items() if k != "iteration"} for r in rows}

    def paid_usage(self, run_id: str) -> tuple[int, int, int]:
        """Backend requests a run has paid for, and their prompt and completion tokens."""
        row = self.query(
            "SELECT COUNT(*) AS calls, COALESCE(SUM(prompt_tokens), 0) AS p, "
            "COALESCE(SUM(completion_tokens), 0) AS c FROM model_calls "
            "WHERE run_id = ? AND cached_samples < n",
            (run_id,),
        )[0]
        return int(row["calls"]), int(row["p"]), int(row["c"])

    def speculative_usage(self, run_id: str) -> dict[str, int]:
        """What `--speculate` spent on evaluations no improver asked for: improver runs and model requests."""
        row = self.query(
            "SELECT COUNT(DISTINCT i.id) AS runs, COUNT(m.id) AS calls,"
            " COALESCE(SUM(m.cached_samples < m.n), 0) AS requests"
            " FROM improver_runs i LEFT JOIN model_calls m ON m.improver_run_id = i.id"
            " WHERE i.run_id = ? AND i.purpose = 'speculative'",
            (run_id,),
        )[0]
        return {
            "improver_runs": int(row["runs"]),
            "model_calls": int(row["calls"]),
            "requests": int(row["requests"]),
        }

    def served_models(self, run_id: str) -> list[str]:
        """Model identities as the servers reported them."""
        rows = self.query(
            "SELECT DISTINCT model_identity FROM model_calls WHERE run_id = ? AND cached_samples < n "
            "AND model_identity IS NOT NULL",
            (run_id,),
        )
        return [r["model_identity"] for r in rows]

    def counts(self, run_id: str) -> dict[str, int]:
        """How many rows of each kind a run has (for `show` and tests)."""
        result = {}
        for table in ("iterations", "improver_runs", "model_calls", "evaluations", "events"):
            rows = self.query(f"SELECT COUNT(*) AS n FROM {table} WHERE run_id = ?", (run_id,))
            result[table] = int(rows[0]["n"])
        return result
