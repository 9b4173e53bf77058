"""Runs a ShinkaEvolve `evaluate.py` in a sandboxed child: sent as text, never imported here.

UNTRUSTED SIDE. The orchestrator appends `_PARAMS` (the evaluator's text, the folder's
files, the candidate's text) and calls `_selftaught_shinka(mode, split, runs)`:

- "plan": run `evaluate.py --program_path P --results_dir R` as `__main__`. If it calls
  `shinka.core.run_shinka_eval` (our stand-in, written from its documented contract), the
  stand-in records the experiment's function name and each run's keyword arguments and
  stops the evaluator before the candidate is imported: the candidate's runs then happen
  in another child. If the evaluator never calls it, it has run the program itself here,
  and what it wrote to R comes back ("joint").
- "finish": run the evaluator again; the stand-in now validates and aggregates the run
  results the orchestrator passes in (`runs`), as `run_shinka_eval` does, and writes
  R/metrics.json and R/correct.json, whose text comes back.
"""

import contextlib
import io
import json
import os
import sys
import tempfile
import types

_STATE = {}


class _PlanCaptured(BaseException):
    """Stops the evaluator once the plan of runs is known (BaseException: `except Exception` lets it by)."""


_DEFAULT_METRICS_ON_ERROR = {
    "combined_score": 0.0,
    "execution_time_mean": 0.0,
    "execution_time_std": 0.0,
    "num_successful_runs": 0,
    "num_valid_runs": 0,
    "num_invalid_runs": 0,
    "all_validation_errors": [],
}


def _plain(value):
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return repr(value)[:200]


def _save(results_dir, metrics, correct, error):
    os.makedirs(results_dir, exist_ok=True)
    with open(os.path.join(results_dir, "correct.json"), "w") as handle:
        json.dump({"correct": bool(correct), "error": error}, handle, default=_plain)
    with open(os.path.join(results_dir, "metrics.json"), "w") as handle:
        json.dump(metrics, handle, default=_plain)


def _mean_std(values):
    if not values:
        return 0.0, 0.0
    mean = sum(values) / len(values)
    return mean, (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5


def run_shinka_eval(  # noqa: PLR0913 - ShinkaEvolve's signature, which evaluators call
    program_path,
    results_dir,
    experiment_fn_name,
    num_runs,
    get_experiment_kwargs=None,
    aggregate_metrics_fn=None,
    validate_fn=None,
    plotting_fn=None,
    default_metrics_on_error=None,
    **_ignored,
):
    """The stand-in: plan the runs, or judge the runs the orchestrator made (see the module docstring)."""
    if _STATE["mode"] == "plan":
        kwargs = [
            get_experiment_kwargs(i) if get_experiment_kwargs else {"seed": i + 1} for i in range(num_runs)
        ]
        _STATE["plan"] = {"experiment_fn_name": str(experiment_fn_name), "kwargs": kwargs}
        raise _PlanCaptured()
    runs = _STATE["runs"]
    defaults = dict(default_metrics_on_error or _DEFAULT_METRICS_ON_ERROR)
    correct, first_error, errors = True, None, []
    valid = invalid = 0
    try:
        for index, run in enumerate(runs):
            if not run["ok"]:
                raise RuntimeError(f"run {index + 1} of {experiment_fn_name} failed: {run['error']}")
        results = [run["value"] for run in runs]
        for result in results:
            if validate_fn is None:
                continue
            is_valid, message = validate_fn(result)
            if is_valid:
                valid += 1
                continue
            invalid += 1
            correct = False
            if message:
                first_error = first_error or f"Validation failed: {message}"
                if message not in errors:
                    errors.append(message)
        if aggregate_metrics_fn is not None:
            metrics = aggregate_metrics_fn(results)
        else:
            metrics = {"num_successful_runs": len(results)}
        mean, std = _mean_std([run["elapsed_s"] for run in runs])
        metrics["execution_time_mean"], metrics["execution_time_std"] = mean, std
        if validate_fn is not None:
            metrics["num_valid_runs"], metrics["num_invalid_runs"] = valid, invalid
            metrics["all_validation_errors"] = errors
        metrics.pop("extra_data", None)
    except Exception as exc:  # noqa: BLE001 - as ShinkaEvolve: any failure of a run gives the default metrics
        metrics = {k: defaults.get(k, v) for k, v in _DEFAULT_METRICS_ON_ERROR.items()}
        correct, first_error = False, str(exc)[:1000]
    _save(results_dir, metrics, correct, first_error)
    return metrics, correct, first_error


def _install_shinka_shim():
    package = types.ModuleType("shinka")
    package.__path__ = []
    core = types.ModuleType("shinka.core")
    core.run_shinka_eval = run_shinka_eval
    core.save_json_results = lambda results_dir, metrics, correct, error=None, verbose=True: _save(
        results_dir, metrics, correct, error
    )
    package.core = core
    sys.modules["shinka"] = package
    sys.modules["shinka.core"] = core


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
    results_dir = os.path.join(root, "results")
    os.chdir(folder)
    sys.path.insert(0, folder)
    os.environ["SELFTAUGHT_SPLIT"] = split
    return folder, program_path, results_dir


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(2_000_001)
    except OSError:
        return None


def _seed(seed):
    if seed is None:
        return
    import random

    random.seed(seed)
    try:
        import numpy
    except ImportError:
        return
    numpy.random.seed(seed % 2**32)


def _selftaught_shinka(mode, split, runs):
    params = json.loads(_PARAMS)
    _STATE.clear()
    _STATE.update(mode=mode, runs=runs or [])
    _install_shinka_shim()
    _seed(params["seeds"].get(split))
    folder, program_path, results_dir = _prepare(params, split)
    evaluator_path = os.path.join(folder, params["evaluator_file"])
    sys.argv = [evaluator_path, "--program_path", program_path, "--results_dir", results_dir]
    captured = io.StringIO()
    failure = None
    module = types.ModuleType("__main__")
    module.__file__ = evaluator_path
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        try:
            exec(compile(params["evaluators"][split], evaluator_path, "exec"), module.__dict__)
            main = module.__dict__.get("main")
            wrote = os.path.exists(os.path.join(results_dir, "metrics.json"))
            if not wrote and "plan" not in _STATE and callable(main):
                main(program_path, results_dir)  # an evaluator without a __main__ block
        except _PlanCaptured:
            pass
        except SystemExit as exc:
            if exc.code not in (None, 0):
                failure = f"evaluate.py exited with status {exc.code!r}"
        except Exception as exc:  # noqa: BLE001 - the user's evaluator may raise anything: its failure
            failure = f"evaluate.py raised {type(exc).__name__}: {str(exc)[:1000]}"
    output = captured.getvalue()[-2000:]
    if mode == "plan" and "plan" in _STATE:
        return {"route": "split", "plan": _STATE["plan"], "output": output}
    return {
        "route": "joint" if mode == "plan" else "split",
        "metrics": _read(os.path.join(results_dir, "metrics.json")),
        "correct": _read(os.path.join(results_dir, "correct.json")),
        "failure": failure,
        "output": output,
    }


_PARAMS = "{}"
