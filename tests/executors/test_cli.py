"""`selftaught run --executor ray --ray-address ADDR` joins a cluster and records what a local run does.

The command line joins the tests' two-node cluster, as a user joins theirs. (Starting a Ray of
its own, when no address is given, is covered with a stand-in for Ray in test_node_join.py:
a cold Ray start in a subprocess once hung a CI machine for ten minutes, which no test here
could explain or prevent.)
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import selftaught
from tests.conftest import EXAMPLE_MODEL, run_cli

pytest.importorskip("ray", reason="needs selftaught[ray]")
pytestmark = pytest.mark.ray

ARGS = ("--model", f"script:{EXAMPLE_MODEL}", "-T", "1", "--n-tests", "2", "--samples", "3", "--calls", "2")


def _ray_log_tails(chars: int = 1500) -> str:
    """The end of the newest local Ray session's daemon logs: why a Ray start hung, if it did."""
    logs = Path("/tmp/ray/session_latest/logs")
    parts = []
    for name in ("gcs_server.out", "gcs_server.err", "raylet.out", "raylet.err"):
        path = logs / name
        if path.is_file():
            parts.append(f"--- {name}\n{path.read_text(errors='replace')[-chars:]}")
    return "\n".join(parts) or f"(no Ray logs under {logs})"


def test_run_with_the_ray_executor_from_the_command_line(tmp_path, pool, ray_cluster):
    args = ("run", *ARGS, "--executor", "ray", "--ray-address", ray_cluster.address)
    args += ("--store", str(tmp_path / "ray.db"), "--json")
    try:
        result = run_cli(*args, timeout=300)  # seconds normally; the join alone gives up at 180 s
    except subprocess.TimeoutExpired as exc:
        stderr = (exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
        pytest.fail(f"the run did not end: {(stderr or '')[-2000:]}\n{_ray_log_tails()}")
    assert result.returncode == 0, result.stderr[-3000:] + "\n" + _ray_log_tails()
    payload = json.loads(result.stdout)
    config = selftaught.RunConfig(
        model=f"script:{EXAMPLE_MODEL}", iterations=1, n_tests=2, samples=3, calls=2
    )
    local = selftaught.start_run(config, store=tmp_path / "local.db", pool=pool)
    assert payload["status"] == "finished"
    assert payload["iterations"] == [r.to_json() for r in local.iterations]
    recorded = selftaught.open_store(tmp_path / "ray.db").run(payload["run_id"])
    assert recorded.config["executor"] == "ray"
