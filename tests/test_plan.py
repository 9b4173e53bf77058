"""`--plan` asks no model and bounds what every kind of command then records (scripted model).

Each command runs for real, small, with the scripted model; its plan (the same command with
`--plan --json`) must bound the improver runs, requests, samples and prompt bytes (a
byte-level tokenizer never makes more tokens than bytes) that the store recorded.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from selftaught.config import RunConfig
from selftaught.plan import Counts, plan_circumvention, plan_run
from tests.conftest import EXAMPLE_MODEL, run_cli

MODEL = f"script:{EXAMPLE_MODEL}"
SMALL = ("--model", MODEL, "--n-tests", "1", "--calls", "2", "--samples", "2", "--max-tokens", "500")


def _json(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _plan(*args: str) -> dict:
    result = run_cli(*args, "--plan", "--json")
    data = _json(result)
    assert "selftaught.db" not in result.stderr
    return data["upper_bounds"]


def _recorded(store: Path, run_ids: list[str]) -> dict[str, int]:
    marks = ", ".join("?" for _ in run_ids)
    with sqlite3.connect(store) as db:
        calls = db.execute(
            f"SELECT n, system, messages_json FROM model_calls WHERE run_id IN ({marks})", run_ids
        ).fetchall()
        improver_runs = db.execute(
            f"SELECT count(*) FROM improver_runs WHERE run_id IN ({marks})", run_ids
        ).fetchone()[0]
    prompt_bytes = sum(
        len(system.encode()) + len(json.loads(messages)[0].encode()) for _, system, messages in calls
    )
    return {
        "improver_runs": improver_runs,
        "requests": len(calls),
        "samples": sum(n for n, _, _ in calls),
        "prompt_tokens": prompt_bytes,
    }


def _assert_bounded(plan: dict, recorded: dict[str, int]) -> None:
    assert recorded["requests"] > 0
    for key, value in recorded.items():
        assert value <= plan[key], (key, value, plan[key])


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("plan") / "runs.db"


@pytest.fixture(scope="module")
def stop_run(store) -> str:
    args = ("run", *SMALL, "-T", "1", "--store", str(store))
    plan = _plan(*args)
    data = _json(run_cli(*args, "--json"))
    _assert_bounded(plan, _recorded(store, [data["run_id"]]))
    return data["run_id"]


def test_plan_bounds_a_stop_run(stop_run):
    assert stop_run  # checked in the fixture, which the recursion test reuses


def test_plan_bounds_several_runs(tmp_path):
    store = tmp_path / "r.db"
    args = ("run", *SMALL, "-T", "1", "--runs", "2", "--store", str(store))
    plan = _plan(*args)
    data = _json(run_cli(*args, "--json"))
    _assert_bounded(plan, _recorded(store, data["runs"]))


@pytest.mark.parametrize(
    "command",
    [
        ("transfer", "--improver", "SEED", "--tasks", "parity_noiseless"),
        ("baselines", "--runs", "1"),
        ("prompts", "--runs", "1"),
    ],
    ids=lambda c: c[0],
)
def test_plan_bounds_experiments(tmp_path, command):
    from selftaught.stop.seed import seed_improver_source

    seed = tmp_path / "seed_improver.py"
    seed.write_text(seed_improver_source())
    store = tmp_path / "e.db"
    args = (
        "experiment",
        *(str(seed) if part == "SEED" else part for part in command),
        *SMALL,
        "--store",
        str(store),
    )
    plan = _plan(*args)
    data = _json(run_cli(*args, "--json"))
    _assert_bounded(plan, _recorded(store, [data["id"]]))


def test_plan_bounds_the_recursion_experiment(store, stop_run):
    args = ("experiment", "recursion", "--run", stop_run, "--store", str(store))
    plan = _plan(*args)
    data = _json(run_cli(*args, "--json"))
    _assert_bounded(plan, _recorded(store, [data["id"]]))


def test_plan_bounds_the_circumvention_audit(tmp_path):
    store = tmp_path / "a.db"
    args = ("audit", "circumvention", "--n", "5", "--compare", "--model", MODEL, "--samples", "2")
    args = (*args, "--store", str(store))
    plan = _plan(*args)
    data = _json(run_cli(*args, "--json"))
    recorded = _recorded(store, [audit["run_id"] for audit in data["audits"]])
    _assert_bounded(plan, recorded)
    assert recorded["samples"] == plan["samples"] == 10  # its requests are ours: the bound is exact


def test_plan_asks_no_model_and_writes_no_store(tmp_path):
    result = run_cli(
        "run", "--model", "openai:none", "--plan", "--store", str(tmp_path / "x.db"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "requests" in result.stdout and not (tmp_path / "x.db").exists()


def test_reference_budgets_match_the_papers_scale():
    """~3,000 samples per iteration at the reference budgets (the issue's figure), and prices apply."""
    config = RunConfig(iterations=1, max_tokens=1000, price_prompt=1.0, price_completion=2.0)
    plan = plan_run(config, latency_s=10.0)
    per_iteration = plan.parts[1].counts
    assert per_iteration.improver_runs == 1 + 25 * 5 + 5
    assert per_iteration.samples == (1 + 25 * 5 + 5) * 4 * 6 == 3144
    total = plan.total
    assert plan.usd == pytest.approx(total.prompt_tokens / 1e6 + total.completion_tokens * 2.0 / 1e6)
    assert total.completion_tokens == total.samples * 1000
    assert "no --max-tokens" not in " ".join(plan.assumptions)
    unbounded = plan_circumvention(RunConfig(price_completion=1.0), 10, ["seed"])
    assert unbounded.total.completion_tokens is None and unbounded.usd is None
    assert Counts(completion_tokens=None) + Counts(completion_tokens=3) == Counts(completion_tokens=None)
