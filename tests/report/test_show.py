"""`selftaught show RUN` tells in words what the report shows: each candidate's fate, per iteration."""

from __future__ import annotations

import json
import os

from tests.conftest import run_cli

REASONS = (
    "missing module pandas",
    "exception: ValueError",
    "timeout",
    "syntax error",
    "no code block in the answer",
)


def test_show_names_why_each_candidate_failed(scripted_run):
    result = run_cli("show", scripted_run.run_id, "--store", str(scripted_run.store))
    assert result.returncode == 0, result.stderr
    text = result.stdout.replace("\n  ", " ")  # rich may fold long lines
    told = text[text.index("what happened:") :]
    for iteration, recorded in enumerate(scripted_run.iterations):
        assert f"iteration {iteration} ({recorded['status']})" in told
    for reason in (*REASONS, "exception: ZeroDivisionError"):
        assert reason in told, reason
    assert "solutions: 7 candidates written by the model, 1 scored, 6 failed (" in told
    assert "better than the seed" in told
    assert f"selftaught report {scripted_run.run_id}" in told


def test_show_json_counts_failures_per_reason(scripted_run):
    result = run_cli("show", scripted_run.run_id, "--store", str(scripted_run.store), "--json")
    assert result.returncode == 0, result.stderr
    candidates = json.loads(result.stdout)["candidates"]
    assert [entry["iteration"] for entry in candidates] == [0, 1, 2]
    first = candidates[0]["solutions"]
    assert (first["produced"], first["scored"], first["failed"]) == (7, 1, 6)
    assert set(REASONS) <= set(first["failures"]) and sum(first["failures"].values()) == first["failed"]
    assert first["best_task"] == "parity_noise" and 0.3 < first["seed_val"] < 0.7
    assert first["better_than_seed"] is (first["best_val"] > first["seed_val"]) is True
    assert candidates[0]["improvers"]["produced"] == 0  # iteration 0 only scores the seed improver
    proposed = candidates[1]["improvers"]
    assert proposed["produced"] >= 2 and proposed["failures"].get("exception: ZeroDivisionError", 0) >= 1
    for entry in candidates:
        for part in ("solutions", "improvers"):
            counts = entry[part]
            assert counts["produced"] == counts["scored"] + counts["failed"] + counts["never_scored"]


ALWAYS_PANDAS = """
def respond(system, user, temperature, sample):
    code = "import pandas\\n\\n\\ndef algorithm(train_samples, train_parity, test_samples):\\n"
    code += "    return None\\n"
    return "Use pandas.\\n\\n```python\\n" + code + "```\\n"
"""


def test_show_says_when_no_candidate_scored(tmp_path):
    """Every candidate failed: show says none scored and gives u(s) (from a seed-score cache we wrote)."""
    from selftaught.tasks import get_task
    from selftaught.tasks.seed_scores import cache_key

    model = tmp_path / "pandas_model.py"
    model.write_text(ALWAYS_PANDAS)
    cache = tmp_path / "cache"
    cache.mkdir()
    entry = {"val": 0.625, "test": 0.5, "task": "parity_noise", "measured_at": 0.0}
    (cache / "seed_scores.json").write_text(json.dumps({cache_key(get_task("parity_noise")): entry}))
    env = {**os.environ, "SELFTAUGHT_CACHE_DIR": str(cache)}
    store = tmp_path / "runs.db"
    ran = run_cli(
        "run", "--model", f"script:{model}", "--iterations", "0", "--n-tests", "1", "--samples", "2",
        "--calls", "1", "--store", str(store), "--json", env=env,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    run_id = json.loads(ran.stdout)["run_id"]
    shown = run_cli("show", run_id, "--store", str(store), env=env)
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "solutions: 1 candidate written by the model, 0 scored, 1 failed (1 missing module pandas)" in text
    assert "best candidate: none scored; u(s) on val 0.625 (parity_noise)" in text
    counts = json.loads(run_cli("show", run_id, "--store", str(store), "--json", env=env).stdout)[
        "candidates"
    ][0]
    assert counts["solutions"]["failures"] == {"missing module pandas": 1}
    assert counts["solutions"]["best_val"] is None and counts["solutions"]["better_than_seed"] is None
