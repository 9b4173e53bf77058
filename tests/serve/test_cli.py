"""`selftaught serve` on the command line: one-line errors (exit 2), and the token off loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from tests.conftest import run_cli
from tests.serve.conftest import get, serve_extra_missing

pytestmark = pytest.mark.skipif(serve_extra_missing() is not None, reason=serve_extra_missing() or "")


def _fails_with_one_line(*args: str, expected: str) -> None:
    result = run_cli("serve", *args, timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_a_missing_or_corrupt_store_is_one_line(tmp_path):
    _fails_with_one_line("--store", str(tmp_path / "none.db"), "--port", "0", expected="no run store at")
    assert not (tmp_path / "none.db").exists()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all " * 100)
    _fails_with_one_line("--store", str(garbage), "--port", "0", expected="is not a selftaught run store")
    empty = tmp_path / "empty.db"
    import sqlite3

    sqlite3.connect(empty).execute("CREATE TABLE other (x)").connection.close()
    _fails_with_one_line("--store", str(empty), "--port", "0", expected="is not a selftaught run store")
    from selftaught.store.store import SCHEMA_VERSION, Store

    older = tmp_path / "older.db"
    Store.open(older).close()
    with sqlite3.connect(older) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    before = older.read_bytes()
    _fails_with_one_line("--store", str(older), "--port", "0", expected="selftaught runs --store")
    assert older.read_bytes() == before  # told how to migrate it; not migrated here


def test_a_port_in_use_is_one_line(store_with_runs):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        _fails_with_one_line("--store", str(store_with_runs.path), "--port", port, expected=f"port {port}")


def test_off_loopback_a_token_is_made_printed_and_required(store_with_runs):
    """Bound to every address (reached here through loopback only): no page without the printed token."""
    process = subprocess.Popen(
        [sys.executable, "-m", "selftaught", "serve", "--store", str(store_with_runs.path),
         "--host", "0.0.0.0", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if k != "SELFTAUGHT_SERVE_TOKEN"},
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        assert line.startswith("selftaught serve: http://0.0.0.0:"), line + process.stderr.read()
        address, token = line.split()[-1].split("?token=")
        local = address.replace("0.0.0.0", "127.0.0.1").rstrip("/")
        assert len(token) >= 24
        assert get(local + "/").status == 401
        assert get(f"{local}/runs/{store_with_runs.run_id}").status == 401
        assert get(f"{local}/?token={token}").status == 303  # a cookie, and the address without the token
        assert get(local + "/", headers={"Cookie": f"selftaught_token={token}"}).status == 200
        assert (
            get(f"{local}/runs/{store_with_runs.run_id}", headers={"Authorization": f"Bearer {token}"}).status
            == 200
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    assert process.returncode == 0, process.stderr.read()
