"""Our own checks of what a field evaluator reports, whatever the evaluator says.

An evaluator is the user's code, run in a sandboxed child; what comes back is data. Here,
on the trusted side, a metric that is NaN, infinite, missing or not a number makes the
candidate score 0, and the reason is kept (raised as `MetricRejected`, which the scorer
records as the candidate's `check_error`). Fitness follows each format's rule:
`combined_score` when present, else (OpenEvolve only) the mean of the numeric metrics
other than `error`.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_JSON_CHARS = 2_000_000
FITNESS_KEY = "combined_score"


class MetricRejected(ValueError):
    """What the evaluator reported cannot be a score; the message says why."""


def number(value: Any, name: str) -> float:
    """`value` as a finite float, or MetricRejected naming the metric and what was wrong."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MetricRejected(f"metric {name!r} is not a number ({type(value).__name__}: {str(value)[:60]})")
    result = float(value)
    if math.isnan(result):
        raise MetricRejected(f"metric {name!r} is NaN")
    if math.isinf(result):
        raise MetricRejected(f"metric {name!r} is infinite ({result})")
    return result


def parse_json(text: Any, what: str) -> Any:
    """The value of a JSON text the evaluator wrote (NaN and Infinity tokens kept, to be refused later)."""
    if text is None:
        raise MetricRejected(f"the evaluator wrote no {what}")
    if not isinstance(text, str):
        raise MetricRejected(f"{what} came back as {type(text).__name__}, not text")
    if len(text) > MAX_JSON_CHARS:
        raise MetricRejected(f"{what} is over {MAX_JSON_CHARS} characters")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise MetricRejected(f"{what} is not valid JSON: {exc}") from None


def metrics_dict(value: Any, what: str = "the evaluator's metrics") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MetricRejected(f"{what} are a {type(value).__name__}, not a dict of metrics")
    return value


def openevolve_fitness(metrics: dict[str, Any]) -> float:
    """OpenEvolve's fitness: `combined_score`, else the mean of the numeric metrics other than `error`."""
    metrics = metrics_dict(metrics)
    if FITNESS_KEY in metrics:
        return number(metrics[FITNESS_KEY], FITNESS_KEY)
    numeric = {
        name: value
        for name, value in metrics.items()
        if name != "error" and isinstance(value, int | float) and not isinstance(value, bool)
    }
    if not numeric:
        raise MetricRejected(f"no {FITNESS_KEY!r} and no numeric metric to average ({sorted(metrics)[:8]})")
    values = [number(value, name) for name, value in numeric.items()]
    return sum(values) / len(values)


def shinka_fitness(metrics: dict[str, Any], correct: Any) -> float:
    """ShinkaEvolve's fitness: `combined_score` of metrics.json, 0 unless correct.json says correct."""
    metrics = metrics_dict(metrics, "metrics.json's contents")
    if not isinstance(correct, dict) or not isinstance(correct.get("correct"), bool):
        raise MetricRejected('correct.json is not {"correct": true|false, "error": ...}')
    if not correct["correct"]:
        error = correct.get("error")
        raise MetricRejected(f"the evaluator found the program incorrect: {str(error)[:300]}")
    if FITNESS_KEY not in metrics:
        raise MetricRejected(f"metrics.json has no {FITNESS_KEY!r}")
    return number(metrics[FITNESS_KEY], FITNESS_KEY)


def as_score(fitness: float, scale: float) -> float:
    """The candidate's score in [0, 1]: fitness / scale, clipped."""
    return min(1.0, max(0.0, fitness / scale))
