"""The scorer: hidden utilities of candidate sources, memoized per run, at most one per core.

The memo is keyed by the sha256 digest of the source (with task and split), so it holds
64 bytes per distinct candidate, not the candidate: a run that scores many large
sources keeps only their digests and scores in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass

from selftaught.executors.base import Executor
from selftaught.store.store import source_hash
from selftaught.tasks.base import Task
from selftaught.tasks.scoring import SolutionScore


@dataclass(frozen=True)
class KnownScore:
    """A score recorded earlier (resume), keyed like the memo."""

    code_hash: str
    task: str
    split: str
    score: SolutionScore


OnScored = Callable[[str, str, str, SolutionScore], None]  # code, task name, split, result


class Scorer:
    """Scores `code` on a task's split once per run; concurrent askers of the same key wait for one result."""

    def __init__(self, executor: Executor, *, scoring: str = "strict", cpu_slots: int | None = None) -> None:
        self.executor = executor
        self.scoring = scoring
        self._memo: dict[tuple[str, str, str], Future[SolutionScore]] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, cpu_slots or executor.cpu_slots))

    def prefill(self, known: Iterable[KnownScore]) -> None:
        """Seed the memo with evaluations recorded earlier (resume: never score twice)."""
        for item in known:
            future: Future[SolutionScore] = Future()
            future.set_result(item.score)
            self._memo[(item.code_hash, item.task, item.split)] = future

    def score(self, task: Task, code: object, split: str, on_scored: OnScored | None = None) -> SolutionScore:
        """The score of `code`; `on_scored` runs once, for the caller that actually scored it."""
        if not isinstance(code, str):
            return SolutionScore(0.0, 0, "empty", "no solution source")
        key = (source_hash(code), task.name, split)
        with self._lock:
            future = self._memo.get(key)
            owner = future is None
            if future is None:
                future = self._memo[key] = Future()
        if not owner:
            return future.result()
        try:
            with self._slots:
                result = self._score(task, code, split)
        except BaseException as exc:
            future.set_exception(exc)
            with self._lock:
                self._memo.pop(key, None)
            raise
        future.set_result(result)
        if on_scored is not None:
            on_scored(code, task.name, split, result)
        return result

    def _score(self, task: Task, code: str, split: str) -> SolutionScore:
        return self.executor.score(task, code, split, self.scoring)
