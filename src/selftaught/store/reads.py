"""Read queries for the report, until the store's own read methods land (issue 9).

Each function takes a `Store` and returns records whose attributes are the column names
of schema.sql. `reader(store)` gives an object with the same names as methods, so that
callers written against it switch to the store's methods by changing one import.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from selftaught.store.store import Store

Record = SimpleNamespace

_RUN_SQL = """SELECT r.*, s.status, s.reason FROM runs r
    JOIN run_status s ON s.id = (SELECT MAX(id) FROM run_status WHERE run_id = r.id)"""


def _record(row: Any, **extra: Any) -> Record:
    return Record(**dict(row), **extra)


def _run_record(row: Any) -> Record:
    try:
        config = json.loads(row["config_json"])
    except (TypeError, ValueError):
        config = {}
    return _record(row, config=config)


def runs(store: Store) -> list[Record]:
    """Every run, newest first, with its latest status and reason."""
    return [_run_record(r) for r in store.query(_RUN_SQL + " ORDER BY r.created DESC, r.id DESC")]


def run(store: Store, run_id: str) -> Record | None:
    """One run with `status`, `reason` and the decoded `config`, or None."""
    rows = store.query(_RUN_SQL + " WHERE r.id = ?", (run_id,))
    return _run_record(rows[0]) if rows else None


def iterations(store: Store, run_id: str) -> list[Record]:
    return [
        _record(r)
        for r in store.query("SELECT * FROM iterations WHERE run_id = ? ORDER BY iteration", (run_id,))
    ]


def improver_runs(store: Store, run_id: str, iteration: int | None = None) -> list[Record]:
    """Improver runs joined with their results (result columns are None while one is unfinished)."""
    sql = """SELECT i.*, r.status, r.error_kind, r.error, r.result_hash, r.score_val, r.score_test,
                    r.elapsed_s
             FROM improver_runs i LEFT JOIN improver_run_results r ON r.improver_run_id = i.id
             WHERE i.run_id = ?"""
    params: tuple = (run_id,)
    if iteration is not None:
        sql += " AND i.iteration = ?"
        params += (iteration,)
    return [_record(r) for r in store.query(sql + " ORDER BY i.id", params)]


def _by_improver_run(store: Store, table: str, run_id: str, improver_run_id: int | None) -> list[Record]:
    sql = f"SELECT * FROM {table} WHERE run_id = ?"
    params: tuple = (run_id,)
    if improver_run_id is not None:
        sql += " AND improver_run_id = ?"
        params += (improver_run_id,)
    return [_record(r) for r in store.query(sql + " ORDER BY id", params)]


def evaluations(store: Store, run_id: str, improver_run_id: int | None = None) -> list[Record]:
    return _by_improver_run(store, "evaluations", run_id, improver_run_id)


def model_calls(store: Store, run_id: str, improver_run_id: int | None = None) -> list[Record]:
    return _by_improver_run(store, "model_calls", run_id, improver_run_id)


def events(store: Store, run_id: str) -> list[Record]:
    """Events with `detail`, the decoded `detail_json` (a dict; {} when it does not decode)."""
    result = []
    for row in store.query("SELECT * FROM events WHERE run_id = ? ORDER BY id", (run_id,)):
        try:
            detail = json.loads(row["detail_json"])
        except (TypeError, ValueError):
            detail = {}
        result.append(_record(row, detail=detail if isinstance(detail, dict) else {"value": detail}))
    return result


def source(store: Store, digest: str) -> str | None:
    return store.source(digest)


class _Reader:
    """The functions above as methods of one object, the shape the store's own methods will have."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        function = _FUNCTIONS.get(name)
        if function is None:
            raise AttributeError(name)
        return lambda *args, **kwargs: function(self.store, *args, **kwargs)


_FUNCTIONS = {
    f.__name__: f for f in (runs, run, iterations, improver_runs, evaluations, model_calls, events, source)
}


def reader(store: Store) -> Any:
    """An object with `runs()`, `run(id)`, `iterations(id)`, ... over `store`."""
    return _Reader(store)
