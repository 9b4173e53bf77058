"""A STOP run with the scripted model improves each field-format example and the built-in circle_packing."""

from __future__ import annotations

import json

import pytest
from tests.conftest import ROOT, run_cli

from selftaught.api import start_run
from selftaught.config import RunConfig
from selftaught.tasks import get_task
from selftaught.tasks.scoring import score_solution

EXAMPLES = ROOT / "examples"
MODEL = f"script:{EXAMPLES / 'openevolve' / 'scripted_model.py'}"
TASKS = {
    "circle_packing": "circle_packing",
    "openevolve": str(EXAMPLES / "openevolve" / "circle_packing"),
    "shinka": str(EXAMPLES / "shinka" / "circle_packing"),
    "algotune": str(EXAMPLES / "algotune" / "count_inversions"),
}


@pytest.mark.parametrize("label", list(TASKS))
def test_a_stop_run_with_the_scripted_model_improves_on_the_seed(label, tmp_path, pool):
    spec = TASKS[label]
    task = get_task(spec)
    seed = score_solution(task, task.seed_solution(), "val", pool).score
    config = RunConfig(model=MODEL, tasks=[spec], iterations=1, n_tests=1, calls=1, samples=2, timeout_s=120)
    result = start_run(config, store=tmp_path / "runs.db", pool=pool)
    assert result.status == "finished", result.reason
    first = result.iterations[0]
    # iteration 0: the seed improver, with the scripted model's answers, beats the seed solution
    assert first.meta_utility_val > seed, (label, first, seed)
    shown = run_cli("show", result.run_id, "--store", str(tmp_path / "runs.db"), "--json")
    assert shown.returncode == 0, shown.stderr
    payload = json.loads(shown.stdout)
    recorded = payload["config"]["tasks"][0]
    if label == "circle_packing":
        assert recorded == "circle_packing" and payload["task_formats"] == []
    else:
        assert recorded.startswith(f"{label}:")  # the format is recorded with the run
        [note] = payload["task_formats"]
        assert note["format"] == label and note["held_out"] is (label == "algotune")
    # the report says the same, and plots what the run spent against its meta-utility
    from selftaught.report import collect_report, render_report
    from selftaught.store.store import Store

    page = render_report(collect_report(Store.open_existing(tmp_path / "runs.db"), result.run_id))
    assert ("No held-out split" in page) is (label in ("openevolve", "shinka"))
    assert "Meta-utility against spending" in page and "Metaproductivity" in page
