"""ShinkaEvolve-format folders: `initial.py`, and `evaluate.py --program_path P --results_dir R`.

Route (the evaluator's contract is a process of its own, so it gets a child of its own):

1. The candidate's text outside its EVOLVE-BLOCKs must equal the initial program's, else
   it scores 0 with the reason (ShinkaEvolve rejects such edits); checked here, as text.
2. Plan: a sandboxed child runs `evaluate.py` with our stand-in for
   `shinka.core.run_shinka_eval`, which records the experiment function and the keyword
   arguments of each run and stops the evaluator before it imports the candidate.
3. Runs: another sandboxed child holds the candidate alone and is called once per run,
   each under `time_limit_s` (default 60 s), timed here.
4. Finish: a fresh child runs `evaluate.py` again; the stand-in validates and aggregates
   those results with the evaluator's own `validate_fn` / `aggregate_metrics_fn` and writes
   R/metrics.json and R/correct.json, whose text comes back.
5. Here the JSON is parsed and checked: correct.json must say correct, and
   metrics.json's `combined_score` must be a finite number, else 0 with the reason.

So the candidate never shares a process with its evaluator. An evaluator that does not
call `run_shinka_eval` (it imports the program itself) runs in step 2 together with the
candidate ("joint" route): its JSON is still checked here, but the candidate could have
tampered with it. The plan of a split is kept after its first scoring.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from selftaught.inside.messages import CallCommand, LoadCommand
from selftaught.inside.protocol import to_wire
from selftaught.sandbox.limits import Limits
from selftaught.sandbox.pool import WorkerPool
from selftaught.tasks.base import SPLITS, Instance
from selftaught.tasks.field.common import FieldTask
from selftaught.tasks.field.evolve_block import outside_edit
from selftaught.tasks.field.metrics import MetricRejected, as_score, parse_json, shinka_fitness
from selftaught.tasks.scoring import LOAD_TIMEOUT_S, SolutionScore

FORMAT = "shinka"
PROGRAM_FILE, EVALUATOR_FILE = "initial.py", "evaluate.py"
EVALUATOR_ENTRY = "_selftaught_shinka"
RUN_ENTRY = "_selftaught_shinka_run"
RUNNER = f"""

def {RUN_ENTRY}(_selftaught_name, _selftaught_kwargs):
    return globals()[_selftaught_name](**_selftaught_kwargs)
"""


class EvaluatorError(MetricRejected):
    """evaluate.py raised or exited with an error before writing its results."""


def judge_report(report: Any, scale: float) -> float:
    """The score in [0, 1] of what an evaluator's child sent back; MetricRejected says why there is none."""
    if not isinstance(report, dict):
        raise MetricRejected(f"the evaluator's child sent a {type(report).__name__}, not its report")
    if report.get("failure") and report.get("metrics") is None:
        raise EvaluatorError(str(report["failure"])[:1000])
    metrics = parse_json(report.get("metrics"), "R/metrics.json")
    correct = parse_json(report.get("correct"), "R/correct.json")
    return as_score(shinka_fitness(metrics, correct), scale)


class _Failed(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class ShinkaTask(FieldTask):
    """A task read from a ShinkaEvolve-format folder (see the module docstring for the route)."""

    format = FORMAT
    program_file = PROGRAM_FILE
    evaluator_file = EVALUATOR_FILE
    enforce_block = True
    route = "evaluator in sandboxed children of its own; the candidate alone in another, called once per run"
    entry = EVALUATOR_ENTRY
    child_wrapper = "child_shinka.py"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[str, dict[str, Any]] = {}
        self.last_route: str | None = None

    def scoring_rule(self) -> str:
        scale = "" if self.settings.score_scale == 1 else f" / {self.settings.score_scale:g}"
        return (
            f"the score is metrics.json's combined_score{scale}, clipped to [0, 1], "
            "and 0 unless correct.json says correct"
        )

    def check(self, instance: Instance, output: Any) -> float:  # scoring goes through score_in_sandbox
        raise MetricRejected("a ShinkaEvolve task is scored by score_in_sandbox")

    # --- scoring -----------------------------------------------------------------------
    def evaluator_program(self, code: str) -> str:
        wrapper = self.child_source()
        params = {
            "evaluators": {split: self.evaluator_source(split) for split in SPLITS},
            "evaluator_file": self.evaluator_file,
            "seeds": self.user_seeds(),
            "files": self.files,
            "candidate": code,
            "program_file": self.program_file,
        }
        return wrapper + f"\n_PARAMS = {json.dumps(params)!r}\n"

    def _call(
        self,
        pool: WorkerPool,
        source: str,
        entry: str,
        calls: list[list[Any]],
        limit: float,
        seed: int,
        what: str,
    ) -> list[Any]:
        """Load `source` in a fresh child and call `entry` with each argument list; values, or _Failed."""
        cpu = LOAD_TIMEOUT_S + len(calls) * (limit * 1.5 + 1)
        child = pool.spawn(Limits(wall_s=LOAD_TIMEOUT_S, cpu_s=int(math.ceil(cpu)) + 5))
        try:
            loaded = child.run(LoadCommand(source, entry, seed), wall_s=LOAD_TIMEOUT_S)
            if not loaded.ok:
                raise _Failed(loaded.error_kind or "load_error", f"{what}: {loaded.error}")
            values = []
            for args in calls:
                reply = child.run(CallCommand(to_wire(args)), wall_s=limit)
                if not reply.ok:
                    raise _Failed(reply.error_kind or "error", f"{what}: {reply.error_kind}: {reply.error}")
                values.append((reply.decoded, reply.elapsed_s))  # decoded within the limits already
            return values
        finally:
            child.close()

    def _evaluate(
        self, pool: WorkerPool, code: str, split: str, mode: str, runs: list[dict[str, Any]]
    ) -> dict:
        limit = self.settings.evaluator_time_limit_s
        [(report, _)] = self._call(
            pool,
            self.evaluator_program(code),
            EVALUATOR_ENTRY,
            [[mode, split, runs]],
            limit,
            self.split_seed(split, code),
            f"evaluate.py ({mode})",
        )
        if not isinstance(report, dict):
            raise _Failed("protocol", f"evaluate.py ({mode}): the child sent a {type(report).__name__}")
        return report

    def _runs(self, pool: WorkerPool, code: str, split: str, plan: dict[str, Any]) -> list[dict[str, Any]]:
        name, kwargs = plan.get("experiment_fn_name"), plan.get("kwargs")
        if (
            not isinstance(name, str)
            or not isinstance(kwargs, list)
            or not all(isinstance(k, dict) for k in kwargs)
        ):
            raise _Failed("protocol", "evaluate.py's plan of runs is malformed")
        runs: list[dict[str, Any]] = []
        try:
            values = self._call(
                pool,
                code + RUNNER,
                RUN_ENTRY,
                [[name, k] for k in kwargs],
                self.time_limit_s,
                self.split_seed(split, code),
                f"the program's {name}",
            )
        except _Failed as exc:  # as in ShinkaEvolve: a run that raises makes the program incorrect
            if exc.kind == "load_error":
                raise
            return [{"ok": False, "value": None, "error": str(exc), "elapsed_s": 0.0}]
        for value, elapsed in values:
            runs.append({"ok": True, "value": value, "error": None, "elapsed_s": elapsed})
        return runs

    def score_in_sandbox(
        self, code: object, split: str, pool: WorkerPool, *, scoring: str = "strict"
    ) -> SolutionScore:
        """The candidate's score on `split` by the route in the module docstring; never raises for it."""
        started = time.monotonic()

        def result(score: float, kind: str | None = None, message: str | None = None) -> SolutionScore:
            return SolutionScore(score, 1, kind, message, time.monotonic() - started, scoring)

        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r} (use val or test)")
        if not isinstance(code, str) or not code.strip():
            return result(0.0, "empty", "no solution source")
        edit = outside_edit(self._program, code)
        if edit is not None:
            return result(0.0, "outside_evolve_block", edit)
        try:
            plan = self._plans.get(split)
            report: dict[str, Any] | None = None
            if plan is None:
                report = self._evaluate(pool, code, split, "plan", [])
                if report.get("route") == "split":
                    captured = report.get("plan")
                    plan = captured if isinstance(captured, dict) else {}
                    self._plans[split] = plan
            if plan is not None:
                self.last_route = "split"
                runs = self._runs(pool, code, split, plan)
                report = self._evaluate(pool, code, split, "finish", runs)
            else:
                self.last_route = "joint"
            return result(judge_report(report, self.settings.score_scale))
        except _Failed as exc:
            return result(0.0, exc.kind, str(exc))
        except EvaluatorError as exc:
            return result(0.0, "evaluator_error", str(exc))
        except MetricRejected as exc:
            return result(0.0, "check_error", str(exc))
