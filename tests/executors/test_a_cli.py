"""`selftaught run --executor ray` starts Ray itself (no cluster given) and records what a local run does.

Named to run before the shared cluster starts: this run's Ray is its own. (Ray's daemons
die with the thread that started them, so the executor must not start in a helper thread.)
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


def test_run_with_the_ray_executor_from_the_command_line(tmp_path, pool):
    args = ("run", *ARGS, "--executor", "ray", "--store", str(tmp_path / "ray.db"), "--json")
    try:
        result = run_cli(*args, timeout=300)  # a few seconds normally; the join alone gives up at 180 s
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
    assert payload["iterations"] == [r.as_json() for r in local.iterations]
    recorded = selftaught.open_store(tmp_path / "ray.db").run(payload["run_id"])
    assert recorded.config["executor"] == "ray"
