"""Fixtures for the audit tests: the real command line on a store of the test's own."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tests.conftest import run_cli


@pytest.fixture
def store(tmp_path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture
def cli(store):
    """Run `selftaught ARGS --store STORE --json`; fail the test with stderr unless it exits 0."""

    def call(*args: str) -> dict:
        done = run_cli(*args, "--store", str(store), "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return call


@pytest.fixture
def sql(store):
    """Rows of one query on the test's store."""

    def query(text: str, params: tuple = ()) -> list[tuple]:
        with sqlite3.connect(store) as db:
            return db.execute(text, params).fetchall()

    return query
