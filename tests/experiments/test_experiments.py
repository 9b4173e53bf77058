"""Experiments through the real command line and store, with the deterministic scripted model."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from selftaught.errors import UserInputError
from selftaught.inside import __file__ as inside_init
from tests.conftest import EXAMPLE_MODEL, run_cli

MODEL = f"script:{EXAMPLE_MODEL}"
SMALL = ("--samples", "3", "--calls", "2")
SEED_IMPROVER = str(__import__("pathlib").Path(inside_init).with_name("improvers") / "seed_improver.py")


def _json(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _paid_calls(store, run_id: str | None = None) -> int:
    """Model calls that reached the backend (not served whole from the response cache)."""
    where = "WHERE cached_samples < n" + (" AND run_id = ?" if run_id else "")
    with sqlite3.connect(store) as db:
        params = (run_id,) if run_id else ()
        return db.execute(f"SELECT count(*) FROM model_calls {where}", params).fetchone()[0]


@pytest.fixture(scope="module")
def stop_run(tmp_path_factory):
    """A two-iteration STOP run whose improver the scripted model makes better."""
    store = tmp_path_factory.mktemp("stop") / "runs.db"
    result = _json(
        run_cli("run", "--model", MODEL, "-T", "2", "--n-tests", "2", *SMALL, "--store", str(store), "--json")
    )
    assert [it["status"] for it in result["iterations"]] == ["seed", "improved", "improved"]
    return store, result["run_id"]


def transfer(store, improver, *extra):
    return run_cli(
        "experiment", "transfer", "--improver", improver, "--model", MODEL, "--tasks", "parity_noiseless",
        "--n-tests", "5", *SMALL, "--store", str(store), "--json", *extra,
    )  # fmt: skip


def test_transfer_of_a_better_improver_shows_it_above_the_seed_improver(stop_run):
    store, run_id = stop_run
    data = _json(transfer(store, run_id))
    (row,) = data["rows"]
    assert row["task"] == "parity_noiseless" and data["improver"] == f"{run_id}:2"
    assert 0.3 < row["u_seed"] < 0.7
    assert row["it"]["mean"] > row["i0"]["mean"]
    # five successes of five still allow a failure rate up to 43%: the arm's interval reaches below
    assert row["it"]["ci"][0] < row["it"]["mean"] and row["it"]["method"] == "failure rate x bootstrap-t"
    assert row["diff"]["mean"] == pytest.approx(row["it"]["mean"] - row["i0"]["mean"])
    assert row["diff"]["ci"][0] > 0 and row["i0"]["n"] == row["it"]["n"] == 5


def test_transfer_again_asks_no_model_and_prints_the_same_table_and_replay_reproduces_it(stop_run):
    store, run_id = stop_run
    first = _json(transfer(store, f"{run_id}:1"))
    calls_before = _paid_calls(store)
    with sqlite3.connect(store) as db:
        rows_before = db.execute("SELECT count(*) FROM model_calls").fetchone()[0]
    again = _json(transfer(store, f"{run_id}:1"))
    assert again == first
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM model_calls").fetchone()[0] == rows_before
    assert _paid_calls(store) == calls_before
    replayed = _json(transfer(store, f"{run_id}:1", "--model", f"replay:{first['id']}"))
    assert replayed["id"] != first["id"] and replayed["rows"] == first["rows"]
    resumed = _json(run_cli("resume", first["id"], "--store", str(store), "--json"))
    assert resumed == first
    # limits may change on resume (the same experiment, nothing asked again); what it computes may not
    limited = _json(run_cli("resume", first["id"], "--store", str(store), "--max-calls", "3", "--json"))
    assert limited == first and _paid_calls(store) == calls_before
    from selftaught.experiments import resume_experiment
    from selftaught.store.store import Store

    with pytest.raises(UserInputError, match="keeps its n_tests"):
        resume_experiment(Store.open_existing(store), first["id"], overrides={"n_tests": 9})


def test_identical_improvers_give_a_difference_interval_that_contains_zero(tmp_path):
    data = _json(transfer(tmp_path / "e.db", SEED_IMPROVER))
    (row,) = data["rows"]
    lo, hi = row["diff"]["ci"]
    assert lo <= 0 <= hi and row["diff"]["mean"] == pytest.approx(0.0)


def test_transfer_refuses_an_unknown_improver_with_one_line(tmp_path):
    result = transfer(tmp_path / "e.db", "no-such-run")
    assert result.returncode == 2 and "neither a file nor a run" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_baselines_table_has_every_arm_and_chain_of_thought_without_errors(tmp_path):
    store = tmp_path / "b.db"
    args = ("experiment", "baselines", "--model", MODEL, "--runs", "2", "--n-tests", "1", *SMALL)
    data = _json(run_cli(*args, "--store", str(store), "--json"))
    arms = [row["arm"] for row in data["rows"]]
    assert arms[0] == "seed" and {"chain_of_thought", "greedy_iterative", "best_of_n"} <= set(arms)
    for row in data["rows"]:
        assert 0.0 <= row["mean"] <= 1.0 and row["n"] >= 1
    assert all(row["improver_runs"] == 2 for row in data["rows"] if "(" not in row["arm"])
    table = run_cli(*args, "--store", str(store))
    text = " ".join(table.stdout.split())
    assert "95% intervals: failure rate x bootstrap-t" in text
    assert "no interval where fewer than 5 repeats" in text  # 2 runs of 1 repeat
    assert _paid_calls(store) == _paid_calls(store, data["id"])  # all of it recorded under the experiment


def test_prompts_compares_the_seed_wordings(tmp_path):
    args = ("experiment", "prompts", "--model", MODEL, "--runs", "2", "--n-tests", "1", *SMALL)
    data = _json(run_cli(*args, "--store", str(tmp_path / "p.db"), "--json"))
    assert [row["arm"] for row in data["rows"]] == ["seed", "seed_terse", "seed_warning"]
    assert data["rows"][0]["diff_vs_first"] is None and data["rows"][1]["diff_vs_first"] is not None


def test_recursion_compares_three_arms_per_step_with_their_costs(stop_run):
    store, run_id = stop_run
    args = ("experiment", "recursion", "--run", run_id, "--store", str(store), "--json")
    data = _json(run_cli(*args))
    steps = {(row["arm"], row["step"]) for row in data["rows"]}
    arms = ("recursive", "seed_improves_current", "current_improves_seed", "recursive_significant")
    assert steps == {(arm, t) for arm in arms for t in (1, 2)}
    significant = [row for row in data["rows"] if row["arm"] == "recursive_significant"]
    # 2 repeats of 1 task: the smallest p-value of the paired test is 1/4, so nothing is adopted
    assert all(not row["adopted"] for row in significant)
    tests = [row["acceptance"] for row in significant if "acceptance" in row]
    assert tests and all(t["n"] == 2 and t["p_value"] >= 0.25 and t["alpha"] == 0.05 for t in tests)
    # the run improved twice: I_0 and I_1 have descendants, I_2 (the last) none
    productivity = {p["step"]: p for p in data["metaproductivity"]}
    assert sorted(productivity) == [0, 1, 2] and productivity[2]["metaproductivity"] is None
    assert productivity[0]["descendants"] == 2 and productivity[0]["metaproductivity"] is not None
    costs = {c["arm"]: c for c in data["costs"]}
    # evaluations count scorings this arm made; a program scored before in the run is not scored again
    assert all(costs[arm]["model_calls"] > 0 and costs[arm]["evaluations"] >= 0 for arm in arms)
    assert costs["recursive"]["evaluations"] > 0
    assert _json(run_cli(*args)) == data


def test_run_with_several_runs_summarizes_them_and_reuses_them(tmp_path):
    store = tmp_path / "r.db"
    args = ("--model", MODEL, "--runs", "2", "-T", "1", "--n-tests", "1", *SMALL, "--store", str(store))
    data = _json(run_cli("run", *args, "--json"))
    assert len(data["runs"]) == 2 and [row["iteration"] for row in data["rows"]] == [0, 1]
    assert data["gained"]["n"] == 2 and 0 <= data["gained"]["k"] <= 2
    productivity = data["metaproductivity"]
    assert [p["iteration"] for p in productivity] == [0, 1]
    assert productivity[0]["metaproductivity"]["n"] == 2 and productivity[1]["metaproductivity"] is None
    # the response cache has no seed in its key but the stream does: member 2 paid for its own answers
    assert all(_paid_calls(store, run_id) > 0 for run_id in data["runs"])
    again = _json(run_cli("experiment", "runs", *args, "--json"))
    assert again["runs"] == data["runs"] and again["rows"] == data["rows"]


def test_an_experiment_killed_midway_finishes_with_the_same_numbers_and_no_call_repaid(tmp_path):
    args = ("experiment", "baselines", "--model", MODEL, "--runs", "1", "--n-tests", "2", *SMALL, "--json")
    whole = _json(run_cli(*args, "--store", str(tmp_path / "whole.db")))
    store = tmp_path / "killed.db"
    crash = {**os.environ, "SELFTAUGHT_FAILPOINTS": "evaluation:6"}
    killed = run_cli(*args, "--store", str(store), env=crash)
    assert killed.returncode != 0
    paid_before = _paid_calls(store)
    assert paid_before > 0
    finished = _json(run_cli(*args, "--store", str(store)))
    assert finished["rows"] == whole["rows"]
    assert _paid_calls(store) == _paid_calls(tmp_path / "whole.db")


def test_the_report_of_an_experiment_shows_its_arms_from_the_store(stop_run, tmp_path):
    store, run_id = stop_run
    data = _json(transfer(store, run_id))
    page = tmp_path / "experiment.html"
    result = run_cli("report", data["id"], "-o", str(page), "--store", str(store))
    assert result.returncode == 0, result.stderr
    html = page.read_text()
    assert "Experiment arms" in html
    (row,) = data["rows"]
    for arm in ("i0", "it"):
        assert f"<td>{arm}</td>" in html
    assert f"{row['it']['mean']:.3f}" in html and f"{row['i0']['mean']:.3f}" in html
