"""The scorer: hidden utilities of candidate sources, memoized per run, at most one per core.

The memo is keyed by the sha256 digest of the source (with task and split), so it holds
64 bytes per distinct candidate, not the candidate: a run that scores many large
sources keeps only their digests and scores in memory.

Eager scoring: the trusted side knows what an improver is about to ask to score (the
code blocks of the model answers it just received), so `prefetch` starts scoring them in
the background at once. Nothing about a prefetched score is recorded or counted until an
improver asks for it through `score`, which then finds it done (or waits for it, or, if
it has not started, scores it itself): the same scores, recorded once, under the asker's
scope. A prefetch never holds a slot an asked-for scoring is waiting for, and one nobody
asks for costs only CPU.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass

from selftaught.executors.base import Executor
from selftaught.store.store import source_hash
from selftaught.tasks.base import Task
from selftaught.tasks.scoring import SolutionScore

MAX_PREFETCHED = 256  # prefetched scores nobody asked for yet, kept at most (the oldest are dropped)


@dataclass(frozen=True)
class KnownScore:
    """A score recorded earlier (resume), keyed like the memo."""

    code_hash: str
    task: str
    split: str
    score: SolutionScore


OnScored = Callable[[str, str, str, SolutionScore], None]  # code, task name, split, result
_Key = tuple[str, str, str]


class _Slots:
    """At most `n` scorings at once; a scoring someone asked for goes before any prefetch."""

    def __init__(self, n: int) -> None:
        self._free = n
        self._asked_waiting = 0
        self._cond = threading.Condition()

    def acquire(self, asked: bool) -> None:
        with self._cond:
            if asked:
                self._asked_waiting += 1
                try:
                    self._cond.wait_for(lambda: self._free > 0)
                finally:
                    self._asked_waiting -= 1
            else:
                self._cond.wait_for(lambda: self._free > 0 and self._asked_waiting == 0)
            self._free -= 1

    def release(self) -> None:
        with self._cond:
            self._free += 1
            self._cond.notify_all()


class Scorer:
    """Scores `code` on a task's split once per run; concurrent askers of the same key wait for one result."""

    eager = True  # prefetch what improvers are about to ask for (tests compare runs without it)

    def __init__(self, executor: Executor, *, scoring: str = "strict", cpu_slots: int | None = None) -> None:
        self.executor = executor
        self.scoring = scoring
        self._memo: dict[_Key, Future[SolutionScore]] = {}
        self._lock = threading.Lock()
        self._n_slots = max(1, cpu_slots or executor.cpu_slots)
        self._slots = _Slots(self._n_slots)
        self._prefetched: dict[_Key, Future[SolutionScore]] = {}
        self._queue: queue.SimpleQueue[tuple[Future[SolutionScore], Task, str, str] | None] = (
            queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []
        self._closed = False
        self.prefetches_used = 0  # asked-for scores that a prefetch had started (for tests, diagnostics)

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
            prefetched = self._prefetched.pop(key, None) if owner else None
        if not owner:
            return future.result()
        try:
            result = self._prefetched_result(prefetched)
            if result is None:
                result = self._score_now(task, code, split, asked=True)
        except BaseException as exc:
            future.set_exception(exc)
            with self._lock:
                self._memo.pop(key, None)
            raise
        future.set_result(result)
        if on_scored is not None:
            on_scored(code, task.name, split, result)
        return result

    def prefetch(self, task: Task, code: object, split: str) -> None:
        """Start scoring `code` in the background, if no one has asked for it yet (see the module)."""
        if not self.eager or not isinstance(code, str) or not code.strip():
            return
        key = (source_hash(code), task.name, split)
        with self._lock:
            if self._closed or key in self._memo or key in self._prefetched:
                return
            if len(self._prefetched) >= MAX_PREFETCHED:
                oldest = next(iter(self._prefetched))
                self._prefetched.pop(oldest).cancel()
            future: Future[SolutionScore] = Future()
            self._prefetched[key] = future
            if len(self._threads) < self._n_slots:
                thread = threading.Thread(target=self._prefetcher, name="prefetch", daemon=True)
                self._threads.append(thread)
                thread.start()
        self._queue.put((future, task, code, split))

    def close(self) -> None:
        """Drop the prefetches not started; the running ones end with the executor."""
        with self._lock:
            self._closed = True
            pending, self._prefetched = self._prefetched, {}
            threads = len(self._threads)
        for future in pending.values():
            future.cancel()
        for _ in range(threads):
            self._queue.put(None)

    def _prefetched_result(self, prefetched: Future[SolutionScore] | None) -> SolutionScore | None:
        """A prefetch's score (waiting for it if it runs); None if it had not started or failed."""
        if prefetched is None or prefetched.cancel():  # not started: the asker scores it now
            return None
        try:
            result = prefetched.result()
        except BaseException:  # noqa: BLE001 - the asker scores it again, and sees its own error
            return None
        with self._lock:
            self.prefetches_used += 1
        return result

    def _prefetcher(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, task, code, split = item
            if not future.set_running_or_notify_cancel():  # an asker took it, or it was dropped
                continue
            try:
                future.set_result(self._score_now(task, code, split, asked=False))
            except BaseException as exc:  # noqa: BLE001 - kept for the asker, who scores it again
                future.set_exception(exc)

    def _score_now(self, task: Task, code: str, split: str, *, asked: bool) -> SolutionScore:
        self._slots.acquire(asked)
        try:
            return self._score(task, code, split)
        finally:
            self._slots.release()

    def _score(self, task: Task, code: str, split: str) -> SolutionScore:
        return self.executor.score(task, code, split, self.scoring)
