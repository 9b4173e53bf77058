"""Runs an OpenEvolve evaluator on one candidate: sent as text to a sandboxed child, never imported here.

UNTRUSTED SIDE. The orchestrator appends `_PARAMS` (the evaluator's text, the folder's
files, the candidate's text, the cascade settings) and calls `_selftaught_openevolve(split)`.
The evaluator imports the candidate from a file, so both share this child. What comes back
is text (the metrics as JSON, NaN kept as a token) that the trusted side parses and checks.
"""

import contextlib
import io
import json
import os
import sys
import tempfile
import types


def _install_openevolve_shim():
    """`openevolve.evaluation_result.EvaluationResult`, which evaluators may import."""
    if "openevolve.evaluation_result" in sys.modules:
        return
    package = types.ModuleType("openevolve")
    package.__path__ = []
    result_module = types.ModuleType("openevolve.evaluation_result")

    class EvaluationResult:
        def __init__(self, metrics, artifacts=None):
            self.metrics = metrics
            self.artifacts = artifacts if artifacts is not None else {}

        @classmethod
        def from_dict(cls, metrics):
            return cls(metrics=metrics)

        def to_dict(self):
            return self.metrics

    result_module.EvaluationResult = EvaluationResult
    package.evaluation_result = result_module
    sys.modules["openevolve"] = package
    sys.modules["openevolve.evaluation_result"] = result_module


def _prepare(params, split):
    root = tempfile.mkdtemp(prefix="task-")
    folder = os.path.join(root, "task")
    for relative, text in params["files"].items():
        path = os.path.join(folder, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    os.makedirs(folder, exist_ok=True)
    program_dir = os.path.join(root, "candidate")
    os.makedirs(program_dir)
    program_path = os.path.join(program_dir, params["program_file"])
    with open(program_path, "w", encoding="utf-8") as handle:
        handle.write(params["candidate"])
    os.chdir(folder)
    sys.path.insert(0, folder)
    os.environ["SELFTAUGHT_SPLIT"] = split
    return folder, program_path


def _plain(value):
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return repr(value)[:200]


def _unpack(result):
    """(metrics, artifacts) of what an evaluate function returned."""
    if hasattr(result, "metrics"):
        return result.metrics, getattr(result, "artifacts", {}) or {}
    return result, {}


def _average(metrics):
    if not isinstance(metrics, dict):
        return None
    score = metrics.get("combined_score")
    if isinstance(score, (int, float)):
        return float(score)
    values = [float(v) for k, v in metrics.items() if k != "error" and isinstance(v, (int, float))]
    return sum(values) / len(values) if values else None


def _passes(metrics, threshold):
    score = _average(metrics)
    return score is not None and score >= threshold


def _cascade(module, program_path, thresholds):
    metrics, artifacts = _unpack(module.evaluate_stage1(program_path))
    stages = 1
    for stage, threshold in ((2, thresholds[0]), (3, thresholds[1] if len(thresholds) > 1 else 0.0)):
        function = getattr(module, f"evaluate_stage{stage}", None)
        if function is None or not _passes(metrics, threshold):
            break
        try:
            more, more_artifacts = _unpack(function(program_path))
        except Exception as exc:  # noqa: BLE001 - as OpenEvolve: a later stage's failure keeps the earlier metrics
            artifacts = dict(artifacts, **{f"stage{stage}_error": repr(exc)[:500]})
            break
        if isinstance(metrics, dict) and isinstance(more, dict):
            metrics = dict(metrics, **more)
            artifacts = dict(artifacts, **(more_artifacts if isinstance(more_artifacts, dict) else {}))
        stages = stage
    return metrics, artifacts, stages


def _artifacts_text(artifacts):
    try:
        return json.dumps(artifacts, default=_plain)[:4000]
    except (TypeError, ValueError) as exc:
        return json.dumps({"unreadable_artifacts": repr(exc)[:200]})


def _seed(seed):
    """Seed random and numpy.random with the user's split seed, if one is given."""
    if seed is None:
        return
    import random

    random.seed(seed)
    try:
        import numpy
    except ImportError:
        return
    numpy.random.seed(seed % 2**32)


def _selftaught_openevolve(split):
    params = json.loads(_PARAMS)
    _install_openevolve_shim()
    _seed(params["seeds"].get(split))
    folder, program_path = _prepare(params, split)
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        module = types.ModuleType("evaluator")
        module.__file__ = os.path.join(folder, params["evaluator_file"])
        sys.modules["evaluator"] = module
        exec(compile(params["evaluators"][split], module.__file__, "exec"), module.__dict__)
        stages = 0
        if params["cascade"] and callable(getattr(module, "evaluate_stage1", None)):
            metrics, artifacts, stages = _cascade(module, program_path, params["cascade_thresholds"])
        else:
            metrics, artifacts = _unpack(module.evaluate(program_path))
    return {
        "metrics": json.dumps(metrics, default=_plain),
        "artifacts": _artifacts_text(artifacts),
        "stages": stages,
        "output": captured.getvalue()[-2000:],
    }


_PARAMS = "{}"
