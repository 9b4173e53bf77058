"""Fresh hidden splits: seeds from a per-run secret, recorded once, reused on resume, never shown.

A candidate that regenerates the reference's parity instances from their public seeds
(tests/tasks/data/parity_regenerator.py) scores 1.0 on the reference splits and chance
on fresh ones, through `tasks eval`, `run` and `experiment transfer`.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tests.conftest import EXAMPLE_MODEL, run_cli

import selftaught
from selftaught.config import RunConfig
from selftaught.errors import UserInputError
from selftaught.tasks import get_task
from selftaught.tasks.base import Instance, Task
from selftaught.tasks.instances import instances_digest
from selftaught.tasks.seed_scores import cache_key
from selftaught.tasks.seeded import SPLIT_BASE_SEEDS
from selftaught.tasks.splits import HIGHEST_SEED, LOWEST_SEED, fresh_base_seeds, fresh_tasks, run_tasks

DATA = Path(__file__).parent / "data"
REGENERATOR = DATA / "parity_regenerator.py"
REGENERATING_MODEL = Path(__file__).parents[1] / "audits" / "fixtures" / "regenerating_model.py"


def test_fresh_seeds_depend_on_the_secret_and_task_and_stay_clear_of_the_reference():
    first = fresh_base_seeds("a" * 64, "parity_noise")
    assert first == fresh_base_seeds("a" * 64, "parity_noise")  # deterministic: resume finds them again
    assert first != fresh_base_seeds("b" * 64, "parity_noise")
    assert first != fresh_base_seeds("a" * 64, "maxcut")
    assert first["val"] != first["test"]
    for secret in ("a" * 64, "b" * 64, "0" * 64):
        for base in fresh_base_seeds(secret, "three_sat").values():
            assert LOWEST_SEED <= base < HIGHEST_SEED  # base + i stays a valid RandomState seed
            assert all(abs(base - reference) > 10_000 for reference in SPLIT_BASE_SEEDS.values())


def test_a_reseeded_task_draws_other_instances_and_leaves_the_original_alone():
    task = get_task("parity_noise")
    before = instances_digest(task, "val")
    (twin,) = fresh_tasks([task], "c" * 64)
    (again,) = fresh_tasks([task], "c" * 64)
    assert twin is not task and twin.split_base_seeds == fresh_base_seeds("c" * 64, "parity_noise")
    assert instances_digest(twin, "val") != before
    assert instances_digest(twin, "val") == instances_digest(again, "val")
    assert instances_digest(task, "val") == before and task.split_base_seeds == SPLIT_BASE_SEEDS
    assert len(twin.instances("test")) == len(task.instances("test"))
    assert cache_key(twin) != cache_key(task) == cache_key(get_task("parity_noise"))  # seed scores kept apart


class _FixedTask(Task):
    name = "fixed"

    def seed_solution(self) -> str:
        return "def algorithm(x):\n    return x\n"

    def shown_utility(self) -> str:
        return ""

    def instances(self, split: str) -> list[Instance]:
        return [Instance(args=(1,), answer=1)]

    def check(self, instance: Instance, output: object) -> float:
        return float(output == instance.answer)


def test_a_task_with_fixed_instances_refuses_fresh_splits_with_one_line():
    with pytest.raises(UserInputError, match="fixed instances.*--splits reference"):
        fresh_tasks([_FixedTask()], "d" * 64)


def test_a_run_records_one_secret_and_draws_the_same_instances_from_it_again(tmp_path):
    store = selftaught.open_store(tmp_path / "s.db", create=True)
    tasks = [get_task("parity_noise")]
    reference = RunConfig(model="script:x")
    assert run_tasks(reference, tasks, store, "r0") == tasks
    assert store.split_secret("r0") is None  # nothing recorded for the reference's seeds

    fresh = RunConfig(model="script:x", splits="fresh")
    ids = [store.new_run("stop", fresh.model_dump(), "script:x", None) for _ in range(2)]
    (first,) = run_tasks(fresh, tasks, store, ids[0])
    secret = store.split_secret(ids[0])
    assert secret is not None and len(secret) == 64
    (again,) = run_tasks(fresh, tasks, store, ids[0])
    assert store.split_secret(ids[0]) == secret and again.split_base_seeds == first.split_base_seeds
    (other,) = run_tasks(fresh, tasks, store, ids[1])
    assert store.split_secret(ids[1]) != secret and other.split_base_seeds != first.split_base_seeds
    rows = store.query("SELECT run_id FROM split_secrets ORDER BY run_id")
    assert [r[0] for r in rows] == sorted(ids)


def _eval(split: str, splits: str) -> float:
    result = run_cli(
        "tasks",
        "eval",
        "parity_noise",
        "--code",
        str(REGENERATOR),
        "--split",
        split,
        "--splits",
        splits,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["splits"] == splits
    return payload["score"]


def test_tasks_eval_a_regenerating_candidate_scores_one_on_reference_and_chance_on_fresh():
    assert _eval("val", "reference") == 1.0 and _eval("test", "reference") == 1.0
    # chance is 0.5: 400 (val) or 1000 (test) coin flips, so 0.65 is more than 6 standard deviations off
    assert _eval("val", "fresh") < 0.65 and _eval("test", "fresh") < 0.65
    bad = run_cli("tasks", "eval", "parity_noise", "--code", str(REGENERATOR), "--splits", "hidden")
    assert bad.returncode == 2 and "unknown splits 'hidden'" in bad.stderr


def _run(store: Path, splits: str) -> dict:
    result = run_cli(
        "run", "--model", f"script:{REGENERATING_MODEL}", "-T", "0", "--n-tests", "1", "--calls", "1",
        "--samples", "2", "--splits", splits, "--store", str(store), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_run_on_fresh_splits_scores_the_regenerator_at_chance_and_shows_model_code_no_seed(tmp_path):
    store = tmp_path / "runs.db"
    reference, fresh = _run(store, "reference"), _run(store, "fresh")
    (it_ref,), (it_fresh,) = reference["iterations"], fresh["iterations"]
    assert it_ref["meta_utility_val"] == 1.0 and it_ref["meta_utility_test"] == 1.0
    assert it_fresh["meta_utility_val"] < 0.65 and it_fresh["meta_utility_test"] < 0.65
    with sqlite3.connect(store) as db:
        secrets = dict(db.execute("SELECT run_id, secret FROM split_secrets").fetchall())
        configs = dict(db.execute("SELECT id, config_json FROM runs").fetchall())
        seen_by_model_code = [row[0] for row in db.execute("SELECT source FROM sources")] + [
            row[0] for row in db.execute("SELECT messages_json || system FROM model_calls")
        ]
    assert list(secrets) == [fresh["run_id"]]
    assert json.loads(configs[fresh["run_id"]])["splits"] == "fresh"
    assert json.loads(configs[reference["run_id"]])["splits"] == "reference"
    secret = secrets[fresh["run_id"]]
    bases = [str(b) for b in fresh_base_seeds(secret, "parity_noise").values()]
    for text in seen_by_model_code:
        assert secret not in text and not any(base in text for base in bases)
    shown = run_cli("show", fresh["run_id"], "--store", str(store), "--json")
    assert shown.returncode == 0 and secret not in shown.stdout and not any(b in shown.stdout for b in bases)


def test_resume_draws_from_the_recorded_secret(pool, tmp_path, monkeypatch):
    import selftaught.tasks.splits as splits

    used: list[str] = []
    real = splits.fresh_tasks

    def spy(tasks, secret):
        used.append(secret)
        return real(tasks, secret)

    monkeypatch.setattr(splits, "fresh_tasks", spy)
    config = RunConfig(
        model=f"script:{EXAMPLE_MODEL}",
        iterations=1,
        n_tests=1,
        calls=2,
        samples=3,
        splits="fresh",
        max_calls=1,
    )
    store = tmp_path / "s.db"
    stopped = selftaught.start_run(config, store=store, pool=pool)
    assert stopped.status == "stopped"
    done = selftaught.resume_run(store, stopped.run_id, overrides={"max_calls": 1000}, pool=pool)
    assert done.status == "finished"
    with selftaught.open_store(store) as db:
        recorded = db.split_secret(stopped.run_id)
    assert used == [recorded, recorded]  # the start drew it, the resume read it back
    with pytest.raises(UserInputError, match="splits"):
        selftaught.resume_run(store, stopped.run_id, overrides={"splits": "reference"}, pool=pool)


def test_an_experiment_keeps_its_secret_and_fresh_splits_make_it_another_experiment(tmp_path):
    store = tmp_path / "e.db"
    seed_improver = Path(selftaught.__file__).parent / "inside" / "improvers" / "seed_improver.py"
    args = (
        "experiment", "transfer", "--improver", str(seed_improver),
        "--model", f"script:{REGENERATING_MODEL}", "--tasks", "parity_noise", "--n-tests", "1",
        "--samples", "2", "--calls", "1", "--store", str(store), "--json",
    )  # fmt: skip

    def experiment(splits: str) -> dict:
        result = run_cli(*args, "--splits", splits)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    first, again, reference = experiment("fresh"), experiment("fresh"), experiment("reference")
    assert first["id"] == again["id"] != reference["id"]
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT run_id FROM split_secrets").fetchall()
    assert rows == [(first["id"],)]
    assert again["rows"] == first["rows"]  # the same instances: the same numbers
