"""The store's schema versions: an ordered list of migrations, applied in one transaction each.

The version lives in `PRAGMA user_version`. Stores of the first release recorded it
only in the `schema_info` table (version 1, user_version 0); they are read as version 1.
`schema_info` is kept in step, so that an older selftaught refuses a newer store with a
clear message instead of writing rows it does not understand. Migrations only add
(tables, columns, indexes): a migrated store still holds every row it held before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources


class StoreError(Exception):
    """The store file is unusable (newer schema, not a selftaught store)."""


@dataclass(frozen=True)
class Migration:
    """Brings a store from `version - 1` to `version`."""

    version: int
    description: str
    script: Callable[[], str]


def _base_schema() -> str:
    return resources.files("selftaught.store").joinpath("schema.sql").read_text()


def _read_indexes() -> str:
    return """
CREATE INDEX IF NOT EXISTS events_improver_run ON events(run_id, improver_run_id);
CREATE INDEX IF NOT EXISTS model_calls_improver_run ON model_calls(run_id, improver_run_id);
CREATE INDEX IF NOT EXISTS evaluations_improver_run ON evaluations(run_id, improver_run_id);
CREATE INDEX IF NOT EXISTS run_status_run ON run_status(run_id, id);
"""


def _audit_tables() -> str:
    """Audits: what each audited item was labelled, the lines behind each label, and reference-only credit.

    `audit_items` holds one row per classified source (one improvement of the circumvention
    audit, one improver of the strategies audit); `audit_findings` the labelled lines of
    each, capped per item by the writer. `evaluations.accepted_by_reference_only` counts the
    instances that got credit only under `scoring="reference"` (NULL in older rows).
    """
    return """
ALTER TABLE evaluations ADD COLUMN accepted_by_reference_only INTEGER;
CREATE TABLE IF NOT EXISTS audit_items (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    audit TEXT NOT NULL,
    item TEXT NOT NULL,
    subject_run_id TEXT,
    iteration INTEGER,
    code_hash TEXT,
    classifier TEXT NOT NULL,
    labels_json TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_findings (
    id INTEGER PRIMARY KEY,
    audit_item_id INTEGER NOT NULL REFERENCES audit_items(id),
    label TEXT NOT NULL,
    line INTEGER,
    text TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_items_run ON audit_items(run_id, audit);
CREATE INDEX IF NOT EXISTS audit_findings_item ON audit_findings(audit_item_id);
"""


def _split_secrets() -> str:
    """Fresh splits: the secret a run's instances are drawn from (`--splits fresh`, tasks/splits.py).

    One row per run, written once when the run starts; resume reads it back so that the run
    keeps scoring on the same instances. Runs on the reference's public seeds have no row.
    """
    return """
CREATE TABLE IF NOT EXISTS split_secrets (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    secret TEXT NOT NULL,
    created REAL NOT NULL
);
"""


def _acceptance() -> str:
    """`--accept significant`: the paired test behind each iteration's adoption decision.

    `iterations.acceptance_json` holds the test (method, statistic, p-value, level, pairs)
    that adopted or rejected the iteration's new improver; NULL under the other rules and
    in older rows.
    """
    return """
ALTER TABLE iterations ADD COLUMN acceptance_json TEXT;
"""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the first release's tables (schema.sql)", _base_schema),
    Migration(2, "indexes for reading per improver run; version in PRAGMA user_version", _read_indexes),
    Migration(3, "audit tables; evaluations.accepted_by_reference_only", _audit_tables),
    Migration(4, "split_secrets: the secret of each run on fresh splits", _split_secrets),
    Migration(5, "iterations.acceptance_json: the paired test of --accept significant", _acceptance),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def current_version(db: sqlite3.Connection, path: object) -> int:
    """The store's schema version: user_version, else the first release's `schema_info`, else 0 (empty)."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version:
        return version
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "schema_info" in tables:
        row = db.execute("SELECT version FROM schema_info").fetchone()
        return int(row[0]) if row else 0
    if tables:
        raise StoreError(f"{path} is not a selftaught run store")
    return 0


def migrate(db: sqlite3.Connection, path: object) -> int:
    """Apply every migration the store lacks, in order, one transaction each; returns the final version.

    The version is read again under the write lock before each step, so two processes
    opening the same new store never apply a migration twice.
    """
    by_version = {m.version: m for m in MIGRATIONS}
    while True:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = current_version(db, path)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{path} has schema version {version}; this selftaught reads {SCHEMA_VERSION}"
                )
            if version == SCHEMA_VERSION:
                db.execute("COMMIT")
                return version
            migration = by_version[version + 1]
            _run_script(db, migration.script())
            db.execute("DELETE FROM schema_info")
            db.execute("INSERT INTO schema_info(version) VALUES (?)", (migration.version,))
            db.execute(f"PRAGMA user_version = {int(migration.version)}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run a script statement by statement (executescript would commit the open transaction)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        db.execute(statement)
