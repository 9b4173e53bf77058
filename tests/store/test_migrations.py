"""A store written by the previous release opens, migrates and keeps its rows; versions are enforced."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from selftaught.store import SCHEMA_VERSION, Store, StoreError
from selftaught.store.migrations import MIGRATIONS

FIXTURES = Path(__file__).parent / "fixtures"


def _first_release_store(path: Path) -> None:
    """A store as the first release wrote it: its schema.sql, schema_info = 1, user_version 0."""
    db = sqlite3.connect(path)
    db.executescript((FIXTURES / "schema_v1.sql").read_text())
    db.execute("INSERT INTO schema_info(version) VALUES (1)")
    config = {"model": "script:x.py", "tasks": ["parity_noise"], "iterations": 1, "seed": 3}
    db.execute(
        "INSERT INTO runs VALUES ('r1', 'stop', 1.0, ?, 'script:x.py', 'script:x', '0.1.0')",
        (json.dumps(config),),
    )
    db.execute("INSERT INTO run_status(run_id, status, reason, at) VALUES ('r1', 'running', NULL, 1.0)")
    db.execute(
        "INSERT INTO run_status(run_id, status, reason, at) VALUES ('r1', 'interrupted', 'ctrl-c', 2.0)"
    )
    db.execute("INSERT INTO sources VALUES ('h1', 'improver', 'def improve_algorithm(): pass')")
    db.execute(
        "INSERT INTO iterations VALUES ('r1', 0, 'seed', 'h1', NULL, 0.5, 0.4, NULL, NULL, 1, 1.0, 2.0)"
    )
    db.execute(
        "INSERT INTO improver_runs VALUES (1, 'r1', 0, NULL, 'iteration_eval', NULL, 'h1', "
        "'parity_noise', 0, 'it0/eval/parity_noise/r0', 1, 1.0)"
    )
    db.execute("INSERT INTO improver_run_results VALUES (1, 'ok', NULL, NULL, 'h1', 0.5, 0.4, 0.2)")
    db.execute(
        "INSERT INTO evaluations(run_id, iteration, improver_run_id, code_hash, task, split, score, "
        "instances, elapsed_s, created) VALUES ('r1', 0, 1, 'h1', 'parity_noise', 'val', 0.5, 20, 0.1, 1.5)"
    )
    db.execute(
        "INSERT INTO model_calls(run_id, iteration, improver_run_id, method, system, messages_json, n, "
        "temperature, responses_json, cache_key, created) "
        "VALUES ('r1', 0, 1, 'prompt', 's', '[\"u\"]', 1, 0.7, '[\"answer\"]', 'k1', 1.2)"
    )
    db.execute("INSERT INTO responses VALUES ('k1', 0, 'answer', 'script:x', 'r1', 1.2)")
    db.execute(
        "INSERT INTO events(run_id, iteration, improver_run_id, kind, detail_json, created) "
        "VALUES ('r1', 0, 1, 'budget_tamper', '{\"attribute\": \"budget\"}', 1.3)"
    )
    db.commit()
    db.close()


def test_a_first_release_store_migrates_and_keeps_every_row(tmp_path):
    path = tmp_path / "old.db"
    _first_release_store(path)
    store = Store.open(path)
    assert store.schema_version == SCHEMA_VERSION == MIGRATIONS[-1].version
    assert store.query("SELECT version FROM schema_info")[0][0] == SCHEMA_VERSION
    run = store.run("r1")
    assert run is not None and (run.status, run.reason, run.config["seed"]) == ("interrupted", "ctrl-c", 3)
    assert [(i.iteration, i.meta_utility_val) for i in store.iterations("r1")] == [(0, 0.5)]
    (improver_run,) = store.improver_runs("r1", iteration=0)
    assert (improver_run.stream, improver_run.status, improver_run.score_test) == (
        "it0/eval/parity_noise/r0",
        "ok",
        0.4,
    )
    assert [e.score for e in store.evaluations("r1", improver_run_id=1)] == [0.5]
    assert [c.cache_key for c in store.model_calls("r1")] == ["k1"]
    assert store.cached_samples("k1") == {0: "answer"}
    assert [e.detail for e in store.events("r1")] == [{"attribute": "budget"}]
    assert store.counts("r1") == {
        "iterations": 1,
        "improver_runs": 1,
        "model_calls": 1,
        "evaluations": 1,
        "events": 1,
    }
    indexes = {r[0] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"events_improver_run", "model_calls_improver_run", "evaluations_improver_run"} <= indexes
    store.close()
    assert Store.open(path).schema_version == SCHEMA_VERSION  # opening again changes nothing


def test_an_old_store_gains_split_secrets_and_its_runs_read_as_reference_splits(tmp_path):
    from selftaught.config import RunConfig

    path = tmp_path / "old.db"
    _first_release_store(path)
    store = Store.open(path)
    assert store.split_secret("r1") is None  # recorded before fresh splits existed: none
    run = store.run("r1")
    assert run is not None and "splits" not in run.config
    assert RunConfig(**run.config).splits == "reference"  # resumed on the seeds it ran on
    secret = store.split_secret("r1", create=True)
    assert secret is not None and store.split_secret("r1", create=True) == secret  # written once
    store.close()


def test_a_new_store_gets_every_migration_and_the_first_release_refuses_it(tmp_path):
    store = Store.open(tmp_path / "new.db")
    assert store.schema_version == SCHEMA_VERSION
    store.close()
    # what the first release checked: schema_info's version against its own (1)
    db = sqlite3.connect(tmp_path / "new.db")
    assert db.execute("SELECT version FROM schema_info").fetchone()[0] > 1
    db.close()


def test_a_newer_store_and_a_foreign_file_are_refused(tmp_path):
    newer = tmp_path / "newer.db"
    Store.open(newer).close()
    db = sqlite3.connect(newer)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version"):
        Store.open(newer)
    foreign = tmp_path / "foreign.db"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="not a selftaught run store"):
        Store.open(foreign)


def test_a_failing_migration_leaves_the_store_at_its_version(tmp_path, monkeypatch):
    from selftaught.store import migrations

    path = tmp_path / "old.db"
    _first_release_store(path)
    broken = migrations.Migration(2, "broken", lambda: "CREATE INDEX x ON no_such_table(a);")
    monkeypatch.setattr(migrations, "MIGRATIONS", (migrations.MIGRATIONS[0], broken))
    with pytest.raises(sqlite3.OperationalError):
        Store.open(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
    db.close()
