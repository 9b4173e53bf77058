"""The run store: one SQLite file, schema-versioned and append-only.

Every number selftaught reports is recomputable from here: the configuration, every
model call with its responses, every improver and solution source, every evaluation.
All SQL of the package lives in this folder; the rest of the code calls methods.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from selftaught.store.migrations import SCHEMA_VERSION, StoreError, migrate
from selftaught.store.queries import ReadQueries

DEFAULT_STORE_NAME = "selftaught.db"
__all__ = ["DEFAULT_STORE_NAME", "SCHEMA_VERSION", "Store", "StoreError", "default_store_path", "source_hash"]


def default_store_path() -> Path:
    """`SELFTAUGHT_STORE` if set, else `selftaught.db` in the working directory."""
    return Path(os.environ.get("SELFTAUGHT_STORE") or DEFAULT_STORE_NAME)


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


class Store(ReadQueries):
    """Thread-safe access to one store file. Open with `Store.open(path)`; read methods in ReadQueries."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self._lock = threading.RLock()
        self.path = path

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Store:
        """Open (or create) a store and bring its schema to this release's version."""
        path = Path(path)
        connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        try:
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            migrate(connection, path)
        except BaseException:
            connection.close()
            raise
        return cls(connection, path)

    @classmethod
    def open_existing(cls, path: str | os.PathLike[str]) -> Store:
        """Open a store that must already exist (for read-only commands: never create one)."""
        if not Path(path).is_file():
            raise StoreError(f"no run store at {path}")
        return cls.open(path)

    @property
    def schema_version(self) -> int:
        return int(self.query("PRAGMA user_version")[0][0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _insert(self, table: str, **values: Any) -> int:
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self._lock:
            cursor = self._db.execute(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values())
            )
            return int(cursor.lastrowid or 0)

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        """Rows of one read-only SQL query (for the read methods, tests and ad-hoc inspection)."""
        with self._lock:
            return list(self._db.execute(sql, params))

    # --- runs -----------------------------------------------------------------------------
    def new_run(self, kind: str, config: dict[str, Any], model_spec: str, model_identity: str | None) -> str:
        from selftaught import __version__

        run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
        self._insert(
            "runs",
            id=run_id,
            kind=kind,
            created=time.time(),
            config_json=json.dumps(config, sort_keys=True),
            model_spec=model_spec,
            model_identity=model_identity,
            package_version=__version__,
        )
        self.set_run_status(run_id, "running")
        return run_id

    def set_run_status(self, run_id: str, status: str, reason: str | None = None) -> None:
        self._insert("run_status", run_id=run_id, status=status, reason=reason, at=time.time())

    def split_secret(self, run_id: str, *, create: bool = False) -> str | None:
        """The secret the run's fresh splits are drawn from; with `create`, recorded first if absent.

        Written once per run (INSERT OR IGNORE under the write lock), so two processes that
        start or resume the same run read the same secret.
        """
        with self._lock:
            if create:
                from selftaught.tasks.splits import new_secret

                self._db.execute(
                    "INSERT OR IGNORE INTO split_secrets(run_id, secret, created) VALUES (?, ?, ?)",
                    (run_id, new_secret(), time.time()),
                )
            row = self._db.execute("SELECT secret FROM split_secrets WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else str(row[0])

    # --- sources --------------------------------------------------------------------------
    def put_source(self, source: str, kind: str) -> str:
        digest = source_hash(source)
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO sources(hash, kind, source) VALUES (?, ?, ?)", (digest, kind, source)
            )
        return digest

    # --- what a run does ------------------------------------------------------------------
    def add_iteration(self, **values: Any) -> None:
        self._insert("iterations", **values)

    def start_improver_run(self, **values: Any) -> int:
        return self._insert("improver_runs", started=time.time(), **values)

    def mark_speculative(self, run_id: str, parent_id: int | None, meta_call: int, improver: str) -> int:
        """Relabel the improver runs of a meta-utility evaluation started by `--speculate` and never
        asked for (call `meta_call` of improver run `parent_id`, of `improver`): `speculative`."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE improver_runs SET purpose = 'speculative' WHERE run_id = ? AND parent_id IS ?"
                " AND meta_call = ? AND improver_hash = ? AND purpose = 'meta_call'",
                (run_id, parent_id, meta_call, source_hash(improver)),
            )
        return cursor.rowcount

    def finish_improver_run(self, improver_run_id: int, **values: Any) -> None:
        self._insert("improver_run_results", improver_run_id=improver_run_id, **values)

    def add_model_call(self, **values: Any) -> int:
        return self._insert("model_calls", created=time.time(), **values)

    def add_evaluation(self, **values: Any) -> int:
        return self._insert("evaluations", created=time.time(), **values)

    def add_event(self, **values: Any) -> int:
        return self._insert("events", created=time.time(), **values)

    def add_audit_item(
        self, findings: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (), **values: Any
    ) -> int:
        """One `audit_items` row and its `audit_findings` (label, line, text, detail), in one transaction."""
        columns = ", ".join(["created", *values])
        marks = ", ".join("?" for _ in range(len(values) + 1))
        with self._lock:
            self._db.execute("BEGIN")
            try:
                cursor = self._db.execute(
                    f"INSERT INTO audit_items ({columns}) VALUES ({marks})", (time.time(), *values.values())
                )
                item_id = int(cursor.lastrowid or 0)
                self._db.executemany(
                    "INSERT INTO audit_findings (audit_item_id, label, line, text, detail) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [(item_id, f["label"], f.get("line"), f.get("text"), f.get("detail")) for f in findings],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return item_id

    # --- response cache -------------------------------------------------------------------
    def cached_samples(self, key: str) -> dict[int, str]:
        """The cached samples of one request position: {sample index: text}."""
        rows = self.query("SELECT sample, text FROM responses WHERE key = ?", (key,))
        return {int(r["sample"]): r["text"] for r in rows}

    def put_samples(self, key: str, samples: dict[int, str], model_identity: str, run_id: str | None) -> None:
        """The samples of one answer, in one transaction: a crash stores all of them or none.

        A resumed run asks again for a position whose samples are missing; storing them one by
        one let a kill between two inserts leave a paid-for answer half-kept and asked for again.
        """
        now = time.time()
        rows = [(key, sample, text, model_identity, run_id, now) for sample, text in samples.items()]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO responses(key, sample, text, model_identity, run_id, created) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def recorded_samples(self, run_id: str) -> dict[str, dict[int, str]]:
        """The samples one run's model calls received, by cache key (the first answer per position)."""
        samples: dict[str, dict[int, str]] = {}
        rows = self.query(
            "SELECT cache_key, responses_json FROM model_calls "
            "WHERE run_id = ? AND responses_json IS NOT NULL AND cache_key IS NOT NULL ORDER BY id",
            (run_id,),
        )
        for row in rows:
            per_key = samples.setdefault(row["cache_key"], {})
            for index, text in enumerate(json.loads(row["responses_json"])):
                per_key.setdefault(index, text)
        return samples
