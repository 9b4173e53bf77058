"""Runs survive a crash: SIGKILL at several points, resume, and get the uninterrupted results.

A fake OpenAI-compatible server on 127.0.0.1 answers deterministically, so an
uninterrupted run is the reference. Every request carries its position's cache key
(`X-Selftaught-Request`), so the server's log shows whether work the run had already
received and stored before it died is requested again after the resume (it must not be).
An answer the server sent in the instant the client was killed, before it was stored,
is legitimately requested again: no client can close that window.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from tests.conftest import EXAMPLE_MODEL, load_respond, run_cli

from selftaught.testing.fake_openai import FakeOpenAIServer

RUN_ARGS = ["-T", "2", "--n-tests", "2", "--samples", "3", "--calls", "2", "--max-retries", "1"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SELFTAUGHT_FAILPOINTS"}
    return {**env, "OPENAI_API_KEY": "sk-test", **extra}


def _run_args(server, store) -> list[str]:
    return [
        "run",
        "--model",
        "openai:fake",
        "--base-url",
        server.base_url,
        *RUN_ARGS,
        "--store",
        str(store),
        "--json",
    ]


def _run(server, store, *extra, env=None):
    return run_cli(*_run_args(server, store), *extra, env=env or _env())


def _start(server, store) -> subprocess.Popen:
    """A run in the background, to be killed or interrupted while it works."""
    return subprocess.Popen(
        [sys.executable, "-m", "selftaught", *_run_args(server, store)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C must reach it even if something in this test process ignores SIGINT (an ignored
        # signal is inherited across exec, and Python then installs no KeyboardInterrupt handler)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer(load_respond(EXAMPLE_MODEL)) as fake:
        yield fake


@pytest.fixture(scope="module")
def reference(server, tmp_path_factory):
    """The uninterrupted run, and how many requests it needed."""
    store = tmp_path_factory.mktemp("reference") / "runs.db"
    before = len(server.log)
    result = _run(server, store)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["iterations"], len(server.log) - before


def _run_id(store) -> str:
    runs = json.loads(run_cli("runs", "--store", str(store), "--json").stdout)
    assert len(runs) == 1
    return runs[0]["id"]


def _stored_keys(store) -> set[str]:
    import sqlite3

    with sqlite3.connect(store) as db:
        return {row[0] for row in db.execute("SELECT DISTINCT key FROM responses")}


def _resume_and_check(server, store, reference) -> None:
    answered_before = _stored_keys(store)
    assert answered_before, "the killed run should have stored some answers"
    run_id = _run_id(store)
    assert json.loads(run_cli("runs", "--store", str(store), "--json").stdout)[0]["status"] == "running"
    first_new = len(server.log)
    result = run_cli("resume", run_id, "--store", str(store), "--json", env=_env())
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["run_id"] == run_id and payload["status"] == "finished"
    assert payload["iterations"] == reference[0]
    repeated = {entry.key for entry in server.log[first_new:]} & answered_before
    assert not repeated, f"{len(repeated)} answered requests were sent again"


@pytest.mark.parametrize("failpoint", ["evaluation:3", "iteration_end:1", "self_improve_done:1"])
def test_killed_at_a_failpoint_resumes_to_the_uninterrupted_result(server, reference, tmp_path, failpoint):
    store = tmp_path / "runs.db"
    first = len(server.log)
    killed = _run(server, store, env=_env(SELFTAUGHT_FAILPOINTS=failpoint))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert len(server.log) > first
    _resume_and_check(server, store, reference)


def test_killed_during_a_model_call_resumes_to_the_uninterrupted_result(server, reference, tmp_path):
    store = tmp_path / "runs.db"
    first = len(server.log)
    target = first + 6
    holder: dict[str, subprocess.Popen] = {}

    def kill_at_target(entry):
        if entry.number == target:
            holder["process"].send_signal(signal.SIGKILL)
            time.sleep(0.2)
            return "reset"  # the client is dead before this request is answered
        return None

    server.on_request = kill_at_target
    try:
        holder["process"] = _start(server, store)
        holder["process"].communicate(timeout=300)
    finally:
        server.on_request = None
    assert holder["process"].returncode == -signal.SIGKILL
    _resume_and_check(server, store, reference)


def test_rerun_makes_no_requests_and_replay_reproduces_exactly(server, reference, tmp_path):
    store = tmp_path / "runs.db"
    assert _run(server, store).returncode == 0
    before = len(server.log)
    again = _run(server, store)
    assert again.returncode == 0, again.stderr
    assert len(server.log) == before, "a rerun of the same configuration must be served from the cache"
    assert json.loads(again.stdout)["iterations"] == reference[0]

    run_id = json.loads(again.stdout)["run_id"]
    env = {k: v for k, v in _env().items() if k != "OPENAI_API_KEY"}  # replay needs no key
    replayed = run_cli(
        "run", "--model", f"replay:{run_id}", *RUN_ARGS, "--store", str(store), "--json", env=env
    )
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["iterations"] == reference[0]
    assert len(server.log) == before

    other = run_cli(
        "run",
        "--model",
        f"replay:{run_id}",
        "-T",
        "2",
        "--n-tests",
        "3",
        "--samples",
        "3",
        "--calls",
        "2",
        "--store",
        str(store),
        "--json",
        env=env,
    )
    assert other.returncode == 1 and "no recorded answer" in other.stderr


def test_max_calls_stops_cleanly_and_resume_finishes(server, reference, tmp_path):
    store = tmp_path / "runs.db"
    stopped = _run(server, store, "--max-calls", "5")
    assert stopped.returncode == 0, stopped.stderr
    payload = json.loads(stopped.stdout)
    assert payload["status"] == "stopped" and "max-calls" in stopped.stderr
    assert payload["iterations"] == reference[0][: len(payload["iterations"])]
    runs = json.loads(run_cli("runs", "--store", str(store), "--json").stdout)
    assert runs[0]["status"] == "stopped"
    result = run_cli(
        "resume", payload["run_id"], "--store", str(store), "--json", "--max-calls", "1000", env=_env()
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["iterations"] == reference[0]


def test_ctrl_c_stops_at_once_says_how_to_resume_and_resume_finishes(server, reference, tmp_path):
    store = tmp_path / "runs.db"
    first = len(server.log)
    server.delay_s = 0.3  # slow answers: the run cannot finish between the 8th request and the signal
    try:
        process = _start(server, store)
        deadline = time.monotonic() + 120
        while len(server.log) < first + 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        server.delay_s = 0.0
    assert process.returncode == 130, stderr
    run_id = _run_id(store)
    assert f"selftaught resume {run_id}" in stderr and stdout == ""
    assert json.loads(run_cli("runs", "--store", str(store), "--json").stdout)[0]["status"] == "interrupted"
    result = run_cli("resume", run_id, "--store", str(store), "--json", env=_env())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["iterations"] == reference[0]
