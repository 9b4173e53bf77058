"""An experiment on the two-node Ray cluster records the numbers the local executor records."""

from __future__ import annotations

import pytest

import selftaught
from selftaught.experiments import experiment_transfer
from tests.conftest import EXAMPLE_MODEL

pytestmark = pytest.mark.ray


def _config(executor: str, **settings) -> selftaught.RunConfig:
    small = {"n_tests": 2, "samples": 3, "calls": 2, **settings}
    return selftaught.RunConfig(
        model=f"script:{EXAMPLE_MODEL}", tasks=["parity_noiseless"], executor=executor, **small
    )


def _transfer(tmp_path, name: str, executor: str, improver: str):
    config = _config(executor)
    store = selftaught.open_store(tmp_path / f"{name}.db", create=True)
    return experiment_transfer(config, improver, store=store), store


def test_a_transfer_experiment_on_ray_equals_the_local_one(ray_cluster, tmp_path):
    from pathlib import Path

    from tests.experiments.test_experiments import SEED_IMPROVER

    improver = tmp_path / "improver.py"
    improver.write_text(Path(SEED_IMPROVER).read_text())
    on_ray, ray_store = _transfer(tmp_path, "ray", "ray", str(improver))
    local, _ = _transfer(tmp_path, "local", "local", str(improver))
    assert [r.to_json() for r in on_ray.rows] == [r.to_json() for r in local.rows]
    assert ray_store.run(on_ray.id).config["executor"] == "ray"
    assert len(ray_store.improver_runs(on_ray.id)) == 4  # two arms x two repeats, all recorded


def test_the_runs_of_an_experiment_share_one_executor_and_its_node_actors(ray_cluster, tmp_path, monkeypatch):
    """Node actors start once per experiment, not once per run: the runs are handed its executor."""
    from selftaught.executors import ray as ray_executor
    from selftaught.experiments.api import experiment_runs

    joins: list[int] = []
    join = ray_executor._join

    def counted(*args, **kwargs):
        nodes = join(*args, **kwargs)
        joins.append(len(nodes))
        return nodes

    monkeypatch.setattr(ray_executor, "_join", counted)
    config = _config("ray", n_tests=1, samples=2, calls=1, iterations=1)
    store = selftaught.open_store(tmp_path / "runs.db", create=True)
    result = experiment_runs(config, 2, store=store)
    assert len(result.run_ids) == 2 and all(store.run(r).status == "finished" for r in result.run_ids)
    assert joins == [2]  # the two nodes joined once, for both runs
