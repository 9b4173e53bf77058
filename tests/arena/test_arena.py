"""`experiment arena` with the scripted model: matched budgets, intervals, reruns, resume, OpenEvolve."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest

from selftaught.inside import __file__ as inside_init
from tests.arena.conftest import ARENA_MODEL, STRONG_IMPROVER, needs_openevolve
from tests.conftest import run_cli

SEED_IMPROVER = Path(inside_init).with_name("improvers") / "seed_improver.py"
BUDGET = ("--calls", "3", "--samples", "1")


def arena(
    store: Path,
    arms: str,
    *extra: str,
    env: dict | None = None,
    tasks: str = "parity_noise",
    as_json: bool = True,
):
    args = ("experiment", "arena", "--arms", arms, "--model", ARENA_MODEL, "--tasks", tasks, *BUDGET)
    return run_cli(*args, "--store", str(store), *(["--json"] if as_json else []), *extra, env=env)


def _json(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _calls(store: Path) -> tuple[int, int]:
    """(all model_calls rows, rows that reached the model rather than the response cache)."""
    with sqlite3.connect(store) as db:
        total = db.execute("SELECT count(*) FROM model_calls").fetchone()[0]
        paid = db.execute("SELECT count(*) FROM model_calls WHERE cached_samples < n").fetchone()[0]
    return total, paid


def _samples_per_repeat(store: Path, run_id: str) -> dict[str, int]:
    """Samples recorded per repeat (stream prefix arena/<arm>/run<r>/<task>/r<i>), straight from the store:
    the model calls of the finished improver runs of each repeat's streams."""
    from selftaught.experiments.session import finished_improver_runs
    from selftaught.store.store import Store

    with Store.open_existing(store) as db:
        finished = {record.id for record in finished_improver_runs(db, run_id).values()}
        calls = [c for c in db.model_calls(run_id) if c.improver_run_id in finished]
    totals: dict[str, int] = {}
    for call in calls:
        key = "/".join((call.stream or "").split("/")[:5])
        totals[key] = totals.get(key, 0) + call.n
    return totals


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    store = tmp_path_factory.mktemp("arena") / "runs.db"
    arms = f"seed,improver:{STRONG_IMPROVER},best_of_n,greedy,improver:{SEED_IMPROVER}"
    data = _json(arena(store, arms, "--n-tests", "5"))
    return store, arms, data


def test_every_arm_spends_exactly_its_budget_by_the_store(finished):
    store, _, data = finished
    per_repeat = _samples_per_repeat(store, data["id"])
    arms = {row["arm"] for row in data["rows"]}
    assert len(per_repeat) == 5 * len(arms)  # one entry per (arm, repeat)
    assert set(per_repeat.values()) == {3}  # 3 calls x 1 sample, every repeat of every arm
    for row in data["rows"]:
        assert row["repeats"] == row["repeats_at_budget"] == 5
        assert row["calls"] == row["samples"] == 15
    seed = next(r for r in data["repeats"] if r["arm"] == "seed")
    assert seed["rounds"] == 3  # the seed improver makes one call per run: restarted twice


def test_a_stronger_improver_beats_the_seed_and_identical_arms_are_within_noise(finished):
    _, _, data = finished
    rows = {row["arm"].split("/")[-1]: row for row in data["rows"]}
    assert data["reference"] == "seed" and rows["seed"]["diff_vs_reference"] is None
    strong = rows["strong_improver.py"]["diff_vs_reference"]
    assert strong["mean"] > 0.1 and strong["ci"][0] > 0 and strong["method"] == "paired t"
    same = rows["seed_improver.py"]["diff_vs_reference"]
    assert same["ci"][0] <= 0 <= same["ci"][1]
    assert rows["seed"]["method"] == "t" and rows["seed"]["n"] == 5


def test_a_finished_arena_again_asks_no_model_and_prints_the_same(finished):
    store, arms, data = finished
    before = _calls(store)
    again = _json(arena(store, arms, "--n-tests", "5"))
    assert again == data and _calls(store) == before
    table = arena(store, arms, "--n-tests", "5", as_json=False)
    assert "vs seed" in table.stdout and "t over 5 repeats" in " ".join(table.stdout.split())
    resumed = _json(run_cli("resume", data["id"], "--store", str(store), "--json"))
    assert resumed == data and _calls(store) == before


def test_the_report_plots_each_repeats_score_against_its_calls_as_the_arena_recorded(finished, tmp_path):
    from selftaught.report import collect_report, render_report
    from selftaught.store.store import Store

    store, _, data = finished
    with Store.open_existing(store) as db:
        report = collect_report(db, data["id"])
    got = sorted((p.arm, p.calls, round(p.test, 9)) for p in report.arena)
    expected = sorted((r["arm"], r["calls"], round(r["test"], 9)) for r in data["repeats"])
    assert got == expected and len(got) == 5 * 5
    page = render_report(report)
    assert "Arena: test score against calls used" in page and page.count("<svg") >= 1


def test_replay_reproduces_the_arena_without_the_model(finished):
    store, arms, data = finished
    paid = _calls(store)[1]
    replayed = _json(arena(store, arms, "--n-tests", "5", "--model", f"replay:{data['id']}"))
    assert replayed["id"] != data["id"] and _calls(store)[1] == paid
    assert [r["mean"] for r in replayed["rows"]] == [r["mean"] for r in data["rows"]]


def test_killed_with_sigkill_resumes_to_the_uninterrupted_result(tmp_path):
    import os

    reference = _json(arena(tmp_path / "ref.db", "seed,greedy", "--n-tests", "2"))
    store = tmp_path / "killed.db"
    env = {**os.environ, "SELFTAUGHT_FAILPOINTS": "evaluation:3"}
    killed = arena(store, "seed,greedy", "--n-tests", "2", env=env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = _json(arena(store, "seed,greedy", "--n-tests", "2"))
    assert resumed["rows"] == reference["rows"]
    assert _calls(store)[1] == _calls(tmp_path / "ref.db")[1]  # nothing paid for twice


def test_unknown_arm_is_one_line(tmp_path):
    result = arena(tmp_path / "x.db", "seed,nonesuch")
    assert result.returncode == 2 and "unknown arm 'nonesuch'" in result.stderr


@needs_openevolve
def test_openevolve_runs_against_the_gateway_on_parity_noise_and_is_scored_on_test(tmp_path):
    store = tmp_path / "oe.db"
    data = _json(arena(store, "seed,openevolve", "--n-tests", "2"))
    row = next(r for r in data["rows"] if r["arm"] == "openevolve")
    assert row["failed_repeats"] == 0 and row["repeats_at_budget"] == 2 and row["samples"] == 6
    assert row["calls"] == 6  # one sample per request
    settings = next(a for a in data["arms"] if a["name"] == "openevolve")["settings"]
    assert settings["max_iterations"] == 3 and settings["evaluator"]["parallel_evaluations"] == 1
    oe = [r for r in data["repeats"] if r["arm"] == "openevolve"]
    assert all(r["ok"] and r["test"] > 0 and r["val"] is not None for r in oe)
    with sqlite3.connect(store) as db:
        splits = {s for (s,) in db.execute("SELECT DISTINCT split FROM evaluations")}
        streams = {s for (s,) in db.execute("SELECT DISTINCT stream FROM model_calls")}
    assert splits == {"val", "test"}
    assert {"arena/openevolve/run0/parity_noise/r0", "arena/openevolve/run0/parity_noise/r1"} <= streams
    before = _calls(store)
    assert _json(arena(store, "seed,openevolve", "--n-tests", "2")) == data and _calls(store) == before


@needs_openevolve
def test_openevolve_runs_on_circle_packing(tmp_path):
    data = _json(arena(tmp_path / "cp.db", "openevolve", "--n-tests", "1", tasks="circle_packing"))
    (row,) = data["rows"]
    assert row["failed_repeats"] == 0 and row["samples"] == 3 and 0 < row["mean"] <= 1


def test_improved_run_arm_is_the_improver_a_stop_run_ended_with_over_two_runs(tmp_path):
    store = tmp_path / "stop.db"
    stop = run_cli(
        "run", "--model", ARENA_MODEL, "-T", "1", "--n-tests", "1", "--calls", "1", "--samples", "1",
        "--tasks", "parity_noise", "--store", str(store), "--json",
    )  # fmt: skip
    run_id = _json(stop)["run_id"]
    data = _json(arena(store, f"seed,improved:{run_id}", "--n-tests", "1", "--runs", "2"))
    improved = next(a for a in data["arms"] if a["name"] == f"improved:{run_id}")
    assert improved["label"] == f"{run_id}:1" and data["runs"] == 2
    rows = {row["arm"]: row for row in data["rows"]}
    assert rows[f"improved:{run_id}"]["repeats"] == 2 == rows[f"improved:{run_id}"]["repeats_at_budget"]
    assert {r["run"] for r in data["repeats"]} == {0, 1}


def test_plan_bounds_what_the_arena_used_and_asks_no_model(finished):
    store, arms, data = finished
    before = _calls(store)
    plan = _json(arena(store, arms, "--n-tests", "5", "--plan"))
    bounds = plan["upper_bounds"]
    assert bounds["samples"] >= sum(row["samples"] for row in data["rows"])
    assert bounds["requests"] >= sum(row["calls"] for row in data["rows"])
    assert [p["what"] for p in plan["parts"]][0] == "seed, 1 runs" and _calls(store) == before
