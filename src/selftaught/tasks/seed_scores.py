"""Seed scores per task and split, measured in the sandbox and cached on disk.

Scoring a seed runs it on every instance under the time limits, which takes seconds for
the slow seeds (Max-Cut's O(n^3) greedy, the 3-SAT random walk), so `tasks list` keeps
the results in `$SELFTAUGHT_CACHE_DIR/seed_scores.json` (default
`$XDG_CACHE_HOME/selftaught`, else `~/.cache/selftaught`). An entry is keyed by the task's
name, its seed, its limits, the source of the code that generates and checks its
instances and, on fresh splits, its split seeds, so any change re-measures it.
Timing-limited scores vary from run to run on a loaded machine; a cached figure is one
measurement, taken with one worker.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
import time
from pathlib import Path

from selftaught.sandbox.pool import WorkerPool
from selftaught.tasks import scoring
from selftaught.tasks.base import SPLITS, Task
from selftaught.tasks.scoring import score_solution
from selftaught.tasks.seeded import SPLIT_BASE_SEEDS

CACHE_VERSION = 2  # 2: the reference's instances and limits


def cache_path() -> Path:
    """Where seed scores are cached."""
    root = os.environ.get("SELFTAUGHT_CACHE_DIR")
    if root:
        return Path(root) / "seed_scores.json"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "selftaught" / "seed_scores.json"


def _source_hash(obj: object) -> str:
    try:
        return hashlib.sha256(Path(inspect.getfile(obj)).read_bytes()).hexdigest()  # type: ignore[arg-type]
    except (TypeError, OSError):
        return ""


def cache_key(task: Task) -> str:
    """Changes whenever the seed, the limits, or the code behind the instances or the checker do."""
    parts = [
        str(CACHE_VERSION),
        task.name,
        task.entry,
        repr(task.time_limit_s),
        task.seed_solution(),
        *(_source_hash(cls) for cls in type(task).__mro__ if cls.__module__ not in ("builtins", "abc")),
        _source_hash(scoring),
        str(getattr(task, "cache_token", "")),
    ]
    bases = getattr(task, "split_base_seeds", SPLIT_BASE_SEEDS)
    if bases != SPLIT_BASE_SEEDS:  # a task on fresh splits (tasks/splits.py) has other instances
        parts.append(repr(sorted(bases.items())))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _load(path: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(path: Path, data: dict[str, dict]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.replace(handle.name, path)
    except OSError:
        pass  # a cache that cannot be written only costs time


def seed_scores(
    tasks: list[Task], pool: WorkerPool | None = None, refresh: bool = False
) -> dict[str, dict[str, float]]:
    """{task name: {split: seed score}} for every task, measuring only what the cache lacks."""
    path = cache_path()
    cache = _load(path)
    results: dict[str, dict[str, float]] = {}
    missing = []
    for task in tasks:
        entry = cache.get(cache_key(task))
        if not refresh and isinstance(entry, dict) and all(isinstance(entry.get(s), float) for s in SPLITS):
            results[task.name] = {split: entry[split] for split in SPLITS}
        else:
            missing.append(task)
    if missing:
        own_pool = pool is None
        pool = pool or WorkerPool(1)
        try:
            for task in missing:
                scores = {s: score_solution(task, task.seed_solution(), s, pool).score for s in SPLITS}
                results[task.name] = scores
                cache[cache_key(task)] = {**scores, "task": task.name, "measured_at": time.time()}
        finally:
            if own_pool:
                pool.close()
        _save(path, cache)
    return results
