"""`--accept significant` after a crash: the current improver's repeats are read back from the store,
so the resumed run records the same tests as an uninterrupted one."""

from __future__ import annotations

import json
import os
import sqlite3

from tests.conftest import EXAMPLE_MODEL, run_cli

ARGS = ("--model", f"script:{EXAMPLE_MODEL}", "-T", "2", "--n-tests", "5", "--samples", "3", "--calls", "2")


def _iterations(result) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])["iterations"]


def test_a_resumed_significant_run_tests_against_the_recorded_repeats(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SELFTAUGHT_FAILPOINTS"}
    whole = _iterations(
        run_cli("run", *ARGS, "--accept", "significant", "--store", str(tmp_path / "a.db"), "--json", env=env)
    )
    # iteration 1 is better on all 5 repeats; iteration 2's candidate ties the improver in use on each
    assert [it["status"] for it in whole] == ["seed", "improved", "failed"]
    assert whole[1]["acceptance"]["p_value"] == 1 / 32 and whole[1]["acceptance"]["significant"]
    assert whole[2]["acceptance"]["mean_difference"] == 0 and whole[2]["acceptance"]["p_value"] == 1
    store = str(tmp_path / "b.db")
    crash = {**env, "SELFTAUGHT_FAILPOINTS": "iteration_end:2"}  # dies once iteration 1 is recorded
    killed = run_cli("run", *ARGS, "--accept", "significant", "--store", store, "--json", env=crash)
    assert killed.returncode != 0
    run_id = json.loads(run_cli("runs", "--store", store, "--json").stdout)[0]["id"]
    resumed = _iterations(run_cli("resume", run_id, "--store", store, "--json", env=env))
    assert resumed == whole
    # and without evaluating the improver in use again
    assert _evaluations(tmp_path / "a.db") == _evaluations(tmp_path / "b.db") == 15


def _evaluations(store) -> int:
    with sqlite3.connect(store) as db:
        return db.execute("SELECT count(*) FROM improver_runs WHERE purpose = 'iteration_eval'").fetchone()[0]
