"""OpenEvolve-format folders: `initial_program.py` and an `evaluator.py` defining `evaluate(program_path)`.

Route: the evaluator imports the candidate from a file, so it runs next to it, in one
sandboxed child per split (under `time_limit_s` for the whole evaluation, default 60 s):
the child writes the candidate to its scratch directory, runs the evaluator's
`evaluate` (or the `evaluate_stage1/2/3` cascade, with OpenEvolve's thresholds) and
sends the metrics back as JSON text. The trusted side parses and checks them: fitness is
`combined_score`, else the mean of the numeric metrics other than `error`; NaN, infinite,
missing or non-number metrics score 0 with the reason. The candidate shares a process
with its evaluator and could tamper with it; it cannot reach the orchestrator, the checks
above or the score's clipping. Edits outside the EVOLVE-BLOCK are allowed, as OpenEvolve
allows them.
"""

from __future__ import annotations

import json
from typing import Any

from selftaught.tasks.base import SPLITS, Instance
from selftaught.tasks.field.common import FieldTask
from selftaught.tasks.field.metrics import MetricRejected, as_score, openevolve_fitness, parse_json

FORMAT = "openevolve"
PROGRAM_FILE, EVALUATOR_FILE = "initial_program.py", "evaluator.py"
ENTRY = "_selftaught_openevolve"


class OpenEvolveTask(FieldTask):
    """A task read from an OpenEvolve-format folder (see the module docstring for the route)."""

    format = FORMAT
    program_file = PROGRAM_FILE
    evaluator_file = EVALUATOR_FILE
    evaluator_function = "evaluate"
    enforce_block = False
    route = "candidate and evaluator together in one sandboxed child (the evaluator imports the candidate)"
    entry = ENTRY
    child_wrapper = "child_openevolve.py"

    def scoring_rule(self) -> str:
        scale = "" if self.settings.score_scale == 1 else f" / {self.settings.score_scale:g}"
        return f"the score is combined_score (else the mean of the numeric metrics){scale}, clipped to [0, 1]"

    def program(self, code: str) -> str:
        wrapper = self.child_source()
        params = {
            "evaluators": {split: self.evaluator_source(split) for split in SPLITS},
            "seeds": self.user_seeds(),
            "evaluator_file": self.evaluator_file,
            "files": self.files,
            "candidate": code,
            "program_file": self.program_file,
            "cascade": self.settings.cascade,
            "cascade_thresholds": list(self.settings.cascade_thresholds),
        }
        return wrapper + f"\n_PARAMS = {json.dumps(params)!r}\n"

    def check(self, instance: Instance, output: Any) -> float:
        if not isinstance(output, dict):
            raise MetricRejected(f"the evaluator's child sent a {type(output).__name__}, not its report")
        metrics = parse_json(output.get("metrics"), "the evaluator's metrics")
        score = as_score(openevolve_fitness(metrics), self.settings.score_scale)
        error = metrics.get("error") if isinstance(metrics, dict) else None
        if score <= 0 and isinstance(error, str) and error.strip():
            # the score is 0 either way; keep the evaluator's reason (e.g. a process it could not start)
            raise MetricRejected(f"the evaluator reported an error: {error.strip()[:500]}")
        return score
