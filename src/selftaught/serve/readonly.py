"""The run store opened read-only (`mode=ro`): `selftaught serve` can never write it.

A store in WAL mode is read while another process writes it, without blocking that
writer: each page reads one snapshot (a deferred read transaction), and readers never
take the write lock. A missing file, a file that is not SQLite, or a database without
the store's tables each give one clear line.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from selftaught.errors import UserInputError
from selftaught.store.migrations import SCHEMA_VERSION
from selftaught.store.queries import ReadQueries

REQUIRED_TABLES = {"runs", "run_status", "iterations", "improver_runs", "model_calls", "sources"}


class StoreUnreadable(UserInputError):
    """The store is missing, is not SQLite, or is not a selftaught run store."""


class ReadOnlyStore(ReadQueries):
    """The read methods of `Store` over a connection that SQLite itself keeps read-only."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self._lock = threading.RLock()
        self.path = path

    @classmethod
    def open(cls, path: str | Path) -> ReadOnlyStore:
        path = Path(path)
        if not path.is_file():
            raise StoreUnreadable(f"no run store at {path}")
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        try:
            connection = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreUnreadable(f"cannot open the run store {path}: {exc}") from None
        connection.row_factory = sqlite3.Row
        store = cls(connection, path)
        try:
            tables = {row[0] for row in store.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise StoreUnreadable(f"{path} is not a selftaught run store ({exc})") from None
        if not tables >= REQUIRED_TABLES:
            connection.close()
            missing = ", ".join(sorted(REQUIRED_TABLES - tables))
            raise StoreUnreadable(f"{path} is not a selftaught run store (no table {missing})")
        version = int(store.query("PRAGMA user_version")[0][0])
        if version != SCHEMA_VERSION:
            connection.close()
            if version > SCHEMA_VERSION:
                raise StoreUnreadable(
                    f"{path} has schema version {version}; this selftaught reads {SCHEMA_VERSION}"
                )
            raise StoreUnreadable(
                f"{path} has schema version {version}, older than this selftaught's {SCHEMA_VERSION}; "
                f"`selftaught runs --store {path}` brings it up to date (serve never writes a store)"
            )
        return store

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, params))

    @contextmanager
    def snapshot(self) -> Iterator[ReadOnlyStore]:
        """Every read inside sees one state of the store (a read transaction; the writer goes on)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self
            finally:
                self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
