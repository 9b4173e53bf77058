"""External optimizers as arena arms: the adapter contract, the registry, and the child they run in.

An adapter says how to start one optimizer on one repeat: given an `ExternalJob` (the
gateway's address and lease token, the budget, the initial program and an evaluator file
that scores on the validation split through the gateway) it returns the settings it
records and the command of a child process that writes the best program it found to
`job.result_path` as JSON `{"best_program": ..., "detail": {...}}`. The optimizer runs in
that child, never in the orchestrator: a crash or a hang (past `job.timeout_s`, the whole
process group is killed) ends only its own repeat, recorded with the reason.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from selftaught.arena.budget import ArmBudget
from selftaught.arena.gateway import MODEL_NAME
from selftaught.errors import UserInputError

STDERR_TAIL_CHARS = 2000


@dataclass(frozen=True)
class ExternalJob:
    """What an adapter needs to start its optimizer on one repeat."""

    api_base: str  # OpenAI-compatible, e.g. http://127.0.0.1:PORT/v1
    api_key: str  # the lease token
    model: str
    budget: ArmBudget
    initial_program: str
    evaluator_path: Path  # defines evaluate(program_path) -> {"combined_score": float}
    workdir: Path
    result_path: Path
    seed: int
    timeout_s: float
    task: str
    utility_text: str  # what the task shows an improver about its utility


@dataclass(frozen=True)
class ExternalResult:
    """How an external repeat ended: the best program, or why there is none."""

    best_program: str | None
    error_kind: str | None = None
    error: str | None = None
    detail: dict[str, Any] | None = None


class ExternalOptimizer(Protocol):
    """An adapter: its name, whether it is installed, what it records, and the child to start."""

    name: str
    extra: str  # the pip extra that installs it

    def available(self) -> str | None:
        """None if it can run here, else one line saying what to install."""
        ...

    def settings(self, budget: ArmBudget) -> dict[str, Any]:
        """The configuration recorded with the arm (part of the experiment's identity)."""
        ...

    def command(self, job: ExternalJob, spec_path: Path) -> list[str]:
        """The child process's argv; `spec_path` holds the job and the settings as JSON."""
        ...


_ADAPTERS: dict[str, ExternalOptimizer] = {}


def register_external(adapter: ExternalOptimizer) -> None:
    """Register (or replace) an external optimizer under `adapter.name`."""
    _ADAPTERS[adapter.name] = adapter


def external_optimizer(name: str) -> ExternalOptimizer | None:
    _register_builtins()
    return _ADAPTERS.get(name)


def external_names() -> list[str]:
    _register_builtins()
    return sorted(_ADAPTERS)


def _register_builtins() -> None:
    if "openevolve" not in _ADAPTERS:
        from selftaught.arena.openevolve_arm import OpenEvolveArm

        _ADAPTERS["openevolve"] = OpenEvolveArm()


def require_available(adapter: ExternalOptimizer) -> None:
    missing = adapter.available()
    if missing:
        raise UserInputError(f"arm {adapter.name}: {missing}")


EVALUATOR_TEMPLATE = '''"""Written by selftaught: scores a program on the validation split via its gateway."""
import json
import urllib.error
import urllib.request

URL = {url!r}
TOKEN = {token!r}


def evaluate(program_path):
    with open(program_path, encoding="utf-8") as handle:
        code = handle.read()
    request = urllib.request.Request(
        URL,
        data=json.dumps({{"code": code}}).encode("utf-8"),
        headers={{"Content-Type": "application/json", "Authorization": "Bearer " + TOKEN}},
    )
    try:
        with urllib.request.urlopen(request, timeout={timeout}) as answer:
            data = json.loads(answer.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return {{"combined_score": 0.0, "error": "gateway answered HTTP %d" % exc.code}}
    except OSError as exc:  # the arena is gone (stopped, killed): nothing more will be scored
        return {{"combined_score": 0.0, "error": "gateway unreachable: %s" % exc}}
    return {{"combined_score": float(data["score"])}}
'''


def write_evaluator(path: Path, evaluate_url: str, token: str, timeout_s: float) -> Path:
    """The evaluator file an external optimizer loads: it only posts the program's text back."""
    path.write_text(EVALUATOR_TEMPLATE.format(url=evaluate_url, token=token, timeout=float(timeout_s)))
    return path


def job_spec(job: ExternalJob, settings: dict[str, Any]) -> dict[str, Any]:
    """The JSON a child reads: the job (paths as text) and the adapter's settings."""
    return {
        "api_base": job.api_base,
        "api_key": job.api_key,
        "model": job.model or MODEL_NAME,
        "budget": job.budget.to_json(),
        "initial_program": job.initial_program,
        "evaluator_path": str(job.evaluator_path),
        "workdir": str(job.workdir),
        "result_path": str(job.result_path),
        "seed": job.seed,
        "task": job.task,
        "utility_text": job.utility_text,
        "settings": settings,
    }


def run_external(adapter: ExternalOptimizer, job: ExternalJob, settings: dict[str, Any]) -> ExternalResult:
    """Start the adapter's child, wait at most `job.timeout_s`, and read what it wrote."""
    spec_path = job.workdir / "job.json"
    spec_path.write_text(json.dumps(job_spec(job, settings)))
    log_path = job.workdir / "child.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("OPENAI_API_KEY", None)  # the child gets the lease token, never the run's key
    with open(log_path, "wb") as log:
        child = subprocess.Popen(
            adapter.command(job, spec_path),
            cwd=job.workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            code = child.wait(timeout=job.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(child)
            return ExternalResult(
                None, "timeout", f"{adapter.name} ran past {job.timeout_s:g} s and was killed"
            )
        except BaseException:
            _kill_group(child)
            raise
    _kill_group(child)  # anything it left behind
    if code != 0:
        return ExternalResult(None, "crash", f"{adapter.name} exited with status {code}: {_tail(log_path)}")
    try:
        data = json.loads(job.result_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return ExternalResult(
            None, "crash", f"{adapter.name} wrote no readable result: {exc.__class__.__name__}"
        )
    best = data.get("best_program") if isinstance(data, dict) else None
    detail = data.get("detail") if isinstance(data, dict) and isinstance(data.get("detail"), dict) else None
    if not isinstance(best, str) or not best.strip():
        return ExternalResult(None, "empty", f"{adapter.name} returned no program", detail)
    return ExternalResult(best, None, None, detail)


def _kill_group(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-3:])[-STDERR_TAIL_CHARS:] or "(no output)"


def python_child(module: str, spec_path: Path) -> list[str]:
    """argv running `python -m module SPEC` with this interpreter."""
    return [sys.executable, "-m", module, str(spec_path)]
