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

An executor that scores several candidates in one call (`score_many`, see
executors/base.py: each call to a Ray node costs a few milliseconds of round trip
whatever it carries) gets an answer's code blocks in batches: each batch holds one slot
and is scored in order where it runs. Whoever claims a batch first scores all of it: a
prefetch thread, or an asker whose block's batch has not started (who scores it as
asked-for, ahead of prefetches, rather than its one block alone: a wave's improvers ask
at once, and one call per block would undo the batching). Scores are the same either
way; only the number of calls changes.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass

from selftaught.executors.base import Executor, batch_scoring
from selftaught.store.store import source_hash
from selftaught.tasks.base import Task
from selftaught.tasks.scoring import SolutionScore

MAX_PREFETCHED = 256  # prefetched scores nobody asked for yet, kept at most (the oldest are dropped)
MAX_BATCH = 8  # candidates in one batched call, at most (an answer's blocks, in order)


@dataclass(frozen=True)
class KnownScore:
    """A score recorded earlier (resume), keyed like the memo."""

    code_hash: str
    task: str
    split: str
    score: SolutionScore


OnScored = Callable[[str, str, str, SolutionScore], None]  # code, task name, split, result
_Key = tuple[str, str, str]
_Item = tuple[Future[SolutionScore], str]  # a prefetched score to be, and its source


class _Batch:
    """Prefetched blocks of one answer, scored together by whoever claims them (in order)."""

    def __init__(self, task: Task, split: str, items: list[_Item]) -> None:
        self.task = task
        self.split = split
        self.items = items
        self.shared = False  # split once over idle slots already (see Scorer._prefetcher)
        self._next = 0  # the items before it are claimed
        self._lock = threading.Lock()

    def claim(self, limit: int | None = None) -> list[_Item]:
        """Up to `limit` (all) of the items not yet claimed, now running; those dropped are left out."""
        with self._lock:
            end = len(self.items) if limit is None else min(len(self.items), self._next + limit)
            taken, self._next = self.items[self._next : end], end
        return [(future, code) for future, code in taken if future.set_running_or_notify_cancel()]

    def unclaimed(self) -> int:
        with self._lock:
            return len(self.items) - self._next


@dataclass(frozen=True)
class _Prefetch:
    future: Future[SolutionScore]
    batch: _Batch


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
        self._prefetched: dict[_Key, _Prefetch] = {}
        self._score_many = batch_scoring(executor)
        self._queue: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self.prefetches_used = 0  # asked-for scores another had scored or started (tests, diagnostics)

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
        self.prefetch_many(task, [code], split)

    def prefetch_many(self, task: Task, codes: Iterable[object], split: str) -> None:
        """Start scoring the code blocks of one answer in the background (batched where the executor
        scores batches); blocks someone has asked for, or already prefetched, are left out."""
        if not self.eager:
            return
        fresh: list[tuple[_Key, _Item]] = []
        with self._lock:
            if self._closed:
                return
            for code in codes:
                if not isinstance(code, str) or not code.strip():
                    continue
                key = (source_hash(code), task.name, split)
                if key in self._memo or key in self._prefetched or any(key == k for k, _ in fresh):
                    continue
                fresh.append((key, (Future(), code)))
            size = 1 if self._score_many is None else MAX_BATCH
            for i in range(0, len(fresh), size):
                batch = _Batch(task, split, [item for _, item in fresh[i : i + size]])
                for key, (future, _) in fresh[i : i + size]:
                    if len(self._prefetched) >= MAX_PREFETCHED:
                        oldest = next(iter(self._prefetched))
                        self._prefetched.pop(oldest).future.cancel()
                    self._prefetched[key] = _Prefetch(future, batch)
                self._queue.put(batch)
            while fresh and len(self._threads) < self._n_slots:
                thread = threading.Thread(target=self._prefetcher, name="prefetch", daemon=True)
                self._threads.append(thread)
                thread.start()

    def close(self) -> None:
        """Drop the prefetches not started; the running ones end with the executor."""
        with self._lock:
            self._closed = True
            pending, self._prefetched = self._prefetched, {}
            threads = len(self._threads)
        for prefetch in pending.values():
            prefetch.future.cancel()
        for _ in range(threads):
            self._queue.put(None)

    def _prefetched_result(self, prefetched: _Prefetch | None) -> SolutionScore | None:
        """A prefetch's score, waiting for it if it runs; None if there was none or it failed.

        If its batch had not started, the asker scores the batch now (asked-for) and sees its
        own block's error, as if it had scored that block alone."""
        if prefetched is None:
            return None
        claimed = prefetched.batch.claim()
        if claimed:
            self._run(prefetched.batch, claimed, asked=True)
            if any(future is prefetched.future for future, _ in claimed):
                return prefetched.future.result()
        try:
            result = prefetched.future.result()
        except BaseException:  # noqa: BLE001 - the asker scores it again, and sees its own error
            return None
        with self._lock:
            self.prefetches_used += 1
        return result

    def _prefetcher(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            limit = None
            if (
                self._score_many is not None
                and not batch.shared
                and self._n_slots > 1
                and self._queue.empty()
            ):
                # nothing else waits: share this batch with the other slots (a wave's batches would
                # otherwise end on one slot while the others idle); once, so calls stay few
                batch.shared = True
                limit = math.ceil(batch.unclaimed() / self._n_slots)
            claimed = batch.claim(limit)  # nothing if an asker took it first
            if limit is not None and batch.unclaimed():
                self._queue.put(batch)
            if claimed:
                self._run(batch, claimed, asked=False)

    def _run(self, batch: _Batch, items: list[_Item], *, asked: bool) -> None:
        """Score claimed items in one slot (one call where the executor batches); each future gets
        its score, or the failure (kept for the askers, who score again)."""
        codes = [code for _, code in items]
        try:
            if self._score_many is None or len(codes) == 1:
                results = [self._score_now(batch.task, code, batch.split, asked=asked) for code in codes]
            else:
                self._slots.acquire(asked)
                try:
                    results = self._score_many(batch.task, codes, batch.split, self.scoring)
                finally:
                    self._slots.release()
                if len(results) != len(codes):
                    raise RuntimeError(f"{len(codes)} scorings in a batch, {len(results)} scores back")
        except BaseException as exc:  # noqa: BLE001 - set on the futures; askers score again
            for future, _ in items:
                future.set_exception(exc)
            return
        for (future, _), result in zip(items, results, strict=True):
            future.set_result(result)

    def _score_now(self, task: Task, code: str, split: str, *, asked: bool) -> SolutionScore:
        self._slots.acquire(asked)
        try:
            return self._score(task, code, split)
        finally:
            self._slots.release()

    def _score(self, task: Task, code: str, split: str) -> SolutionScore:
        return self.executor.score(task, code, split, self.scoring)
