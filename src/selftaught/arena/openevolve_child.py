"""The child process of the OpenEvolve arm: build OpenEvolve's config from the job, run, write the best.

Run as `python -m selftaught.arena.openevolve_child JOB.json` by external.run_external. It
imports nothing of selftaught's beyond this module, talks to the model only through the
gateway named in the job, and writes `{"best_program", "detail"}` to the job's result path.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any


def openevolve_config(spec: dict[str, Any]) -> dict[str, Any]:
    """OpenEvolve's config dict: the recorded settings plus this repeat's address, token and seed."""
    settings = copy.deepcopy(spec["settings"])
    settings.pop("optimizer", None)
    settings.pop("version", None)
    seed = int(spec["seed"])
    llm = settings.pop("llm", {})
    config = {
        **settings,
        "random_seed": seed,
        "llm": {
            **llm,
            "models": [{"name": spec["model"], "weight": 1.0}],
            "api_base": spec["api_base"],
            "api_key": spec["api_key"],
            "random_seed": seed,
        },
        "database": {**settings.get("database", {}), "random_seed": seed},
    }
    return config


def exit_when_orphaned(poll_s: float = 1.0) -> None:
    """Kill this child's process group (OpenEvolve's workers too) once the arena that started it is gone."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    exit_when_orphaned()
    from openevolve.api import run_evolution  # type: ignore[import-untyped, import-not-found, unused-ignore]
    from openevolve.config import Config  # type: ignore[import-untyped, import-not-found, unused-ignore]

    workdir = Path(spec["workdir"])
    program = workdir / "initial_program.py"
    program.write_text(spec["initial_program"], encoding="utf-8")
    config = Config.from_dict(openevolve_config(spec))
    result = run_evolution(
        initial_program=str(program),
        evaluator=spec["evaluator_path"],
        config=config,
        iterations=int(spec["settings"]["max_iterations"]),
        output_dir=str(workdir / "openevolve_output"),
        cleanup=False,
    )
    metrics = {k: v for k, v in (result.metrics or {}).items() if isinstance(v, int | float | str)}
    detail = {"best_score": result.best_score, "metrics": metrics}
    Path(spec["result_path"]).write_text(json.dumps({"best_program": result.best_code, "detail": detail}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
