"""`selftaught run --executor ray` starts Ray itself (no cluster given) and records what a local run does.

Named to run before the shared cluster starts: this run's Ray is its own. (Ray's daemons
die with the thread that started them, so the executor must not start in a helper thread.)
"""

from __future__ import annotations

import json

import pytest

import selftaught
from tests.conftest import EXAMPLE_MODEL, run_cli

pytest.importorskip("ray", reason="needs selftaught[ray]")
pytestmark = pytest.mark.ray

ARGS = ("--model", f"script:{EXAMPLE_MODEL}", "-T", "1", "--n-tests", "2", "--samples", "3", "--calls", "2")


def test_run_with_the_ray_executor_from_the_command_line(tmp_path, pool):
    result = run_cli("run", *ARGS, "--executor", "ray", "--store", str(tmp_path / "ray.db"), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    payload = json.loads(result.stdout)
    config = selftaught.RunConfig(
        model=f"script:{EXAMPLE_MODEL}", iterations=1, n_tests=2, samples=3, calls=2
    )
    local = selftaught.start_run(config, store=tmp_path / "local.db", pool=pool)
    assert payload["status"] == "finished"
    assert payload["iterations"] == [r.as_json() for r in local.iterations]
    recorded = selftaught.open_store(tmp_path / "ray.db").run(payload["run_id"])
    assert recorded.config["executor"] == "ray"
