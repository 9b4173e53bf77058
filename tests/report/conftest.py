"""One scripted run through the real command line, shared by the report tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import run_cli

FAILING_MODEL = Path(__file__).with_name("failing_model.py")


@dataclass(frozen=True)
class ScriptedRun:
    store: Path
    run_id: str
    iterations: list[dict]


@pytest.fixture(scope="module")
def scripted_run(tmp_path_factory) -> ScriptedRun:
    store = tmp_path_factory.mktemp("run") / "runs.db"
    result = run_cli(
        "run", "--model", f"script:{FAILING_MODEL}", "--iterations", "2", "--n-tests", "2",
        "--samples", "6", "--calls", "2", "--timeout", "60", "--store", str(store), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    return ScriptedRun(store, payload["run_id"], payload["iterations"])
