"""Shared fixtures: a warm sandbox pool, run contexts, and scripted models written on the fly."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from selftaught.config import RunConfig
from selftaught.runs.context import RunContext
from selftaught.runs.start import make_context as session_context
from selftaught.runs.start import resolve_backend, resolve_tasks
from selftaught.sandbox.pool import WorkerPool
from selftaught.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_MODEL = ROOT / "examples" / "scripted_model.py"

GOOD_PARITY_SOLVER = """
import itertools
import numpy as np

def algorithm(train_samples, train_parity, test_samples):
    X = np.asarray(train_samples)
    candidates = np.array(list(itertools.product([0, 1], repeat=X.shape[1])))
    errors = ((X @ candidates.T) % 2 != np.asarray(train_parity)[:, None]).sum(axis=0)
    return (np.asarray(test_samples) @ candidates[np.argmin(errors)]) % 2
"""


@pytest.fixture(scope="session")
def pool():
    with WorkerPool(2) as shared:
        yield shared


@pytest.fixture
def write_script(tmp_path):
    """Write a scripted model file from source text; returns its `script:` spec."""

    def write(source: str, name: str = "model.py") -> str:
        path = tmp_path / name
        path.write_text(textwrap.dedent(source))
        return f"script:{path}"

    return write


SMALL = {"iterations": 1, "n_tests": 1, "calls": 2, "samples": 3, "timeout_s": 30}


def small_config(model: str, **config) -> RunConfig:
    """A small run's configuration (one repeat, two calls of three samples)."""
    return RunConfig(model=model, **{**SMALL, **config})


@pytest.fixture
def make_context(pool, tmp_path):
    """A run context with its own store, on the shared pool, built the way every run builds one."""

    def make(model: str, **config) -> RunContext:
        cfg, tasks = resolve_tasks(small_config(model, **config))
        store = Store.open(tmp_path / "store.db")
        backend = resolve_backend(cfg, store.path)
        run_id = store.new_run("test", cfg.model_dump(), model, backend.identity)
        return session_context(cfg, tasks, backend=backend, store=store, run_id=run_id, pool=pool)

    return make


def load_respond(path: Path):
    """The `respond` function of a scripted-model file (to serve it from a fake HTTP endpoint)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"respond_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.respond


def run_cli(
    *args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run the real command line (`python -m selftaught`) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "selftaught", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def children_running(parent: int, marker: bytes) -> list[int]:
    """The live (not zombie) processes whose parent is `parent` and whose command line holds `marker`."""
    import os

    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
            with open(f"/proc/{entry}/stat") as stat:
                state, ppid = stat.read().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if int(ppid) == parent and state != "Z" and marker in command:
            found.append(int(entry))
    return found
