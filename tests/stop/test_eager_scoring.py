"""Eager scoring: the code blocks of the answers an improver receives start scoring at once.

A run records the same results with it as without it (the same iterations, improver runs,
evaluations and answers), and a prefetched score is recorded only when an improver asks.
"""

from __future__ import annotations

import threading
import time

from tests.conftest import EXAMPLE_MODEL, small_config
from tests.stop.test_lost_worker import _recorded

from selftaught.api import start_run
from selftaught.runs.scorer import Scorer
from selftaught.tasks import get_task
from selftaught.tasks.scoring import SolutionScore


def test_a_run_records_the_same_results_with_and_without_eager_scoring(pool, tmp_path, monkeypatch):
    config = small_config(f"script:{EXAMPLE_MODEL}", iterations=2)
    used: list[int] = []
    close = Scorer.close

    def counting_close(self: Scorer) -> None:
        used.append(self.prefetches_used)
        close(self)

    monkeypatch.setattr(Scorer, "close", counting_close)
    eager = start_run(config, store=tmp_path / "eager.db", pool=pool)
    monkeypatch.setattr(Scorer, "eager", False)
    lazy = start_run(config, store=tmp_path / "lazy.db", pool=pool)
    assert eager.status == lazy.status == "finished"
    assert eager.iterations[1].status == "improved"  # the comparison is of a run that did something
    assert used[0] > 0, "no asked-for score had been prefetched: nothing was tested"
    assert used[1] == 0
    expected = _recorded(tmp_path / "lazy.db", lazy.run_id)
    got = _recorded(tmp_path / "eager.db", eager.run_id)
    assert got == expected


class _CountingExecutor:
    cpu_slots = 2

    def __init__(self) -> None:
        self.scored: list[str] = []
        self.lock = threading.Lock()

    def score(self, task, code, split, scoring):
        with self.lock:
            self.scored.append(code)
        return SolutionScore(float(len(code)), 1)


def test_a_prefetched_score_is_scored_once_and_reported_only_to_its_asker():
    executor = _CountingExecutor()
    scorer = Scorer(executor)  # type: ignore[arg-type]
    task = get_task("parity_noise")
    recorded: list[str] = []
    scorer.prefetch(task, "a = 1\n", "val")
    scorer.prefetch(task, "a = 1\n", "val")  # once per key
    scorer.prefetch(task, "never asked\n", "val")
    result = scorer.score(task, "a = 1\n", "val", lambda code, *_: recorded.append(code))
    assert result.score == len("a = 1\n")
    assert scorer.score(task, "a = 1\n", "val", lambda code, *_: recorded.append(code)) == result
    scorer.close()
    assert recorded == ["a = 1\n"]  # the asker records it; nothing is recorded for "never asked"
    assert executor.scored.count("a = 1\n") == 1
    scorer.prefetch(task, "after close\n", "val")  # a closed scorer prefetches nothing
    assert "after close\n" not in executor.scored


class _BatchingExecutor(_CountingExecutor):
    """Scores batches in one call, as a Ray node does; `gate` holds a batch until the test lets it go."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.fail = fail

    def score_many(self, task, codes, split, scoring):
        with self.lock:
            self.batches.append(list(codes))
        self.started.set()
        self.gate.wait(10)
        if self.fail:
            raise RuntimeError("the node went away")
        return [self.score(task, code, split, scoring) for code in codes]


def _blocks(n: int, tag: str = "") -> list[str]:
    return [f"x = {i}  # {tag}\n" for i in range(n)]


def test_an_answers_blocks_are_scored_in_one_call_where_the_executor_batches():
    executor = _BatchingExecutor()
    scorer = Scorer(executor, cpu_slots=1)  # type: ignore[arg-type]
    task = get_task("parity_noise")
    blocks = _blocks(10)
    executor.gate.clear()
    scorer.prefetch_many(task, blocks, "val")
    assert executor.started.wait(10)
    executor.gate.set()
    recorded: list[str] = []
    results = [scorer.score(task, code, "val", lambda code, *_: recorded.append(code)) for code in blocks]
    scorer.close()
    assert [r.score for r in results] == [float(len(code)) for code in blocks]
    assert recorded == blocks  # each recorded once, by its asker
    assert sorted(map(len, executor.batches)) == [2, 8]  # in batches of at most MAX_BATCH
    assert sorted(executor.scored) == sorted(blocks)  # every block scored once, none again
    assert scorer.prefetches_used == 10


def test_a_batch_with_nothing_queued_behind_it_is_shared_with_the_other_slot():
    executor = _BatchingExecutor()
    scorer = Scorer(executor, cpu_slots=2)  # type: ignore[arg-type]
    task = get_task("parity_noise")
    blocks = _blocks(6)
    executor.gate.clear()
    scorer.prefetch_many(task, blocks, "val")
    deadline = time.monotonic() + 10
    while len(executor.batches) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    executor.gate.set()
    results = [scorer.score(task, code, "val").score for code in blocks]
    scorer.close()
    assert sorted(executor.batches) == sorted([blocks[:3], blocks[3:]])  # half each, both slots busy
    assert results == [float(len(code)) for code in blocks]
    assert scorer.prefetches_used == 6


def test_an_asker_whose_batch_has_not_started_scores_that_batch_ahead_of_the_prefetches():
    executor = _BatchingExecutor()
    scorer = Scorer(executor, cpu_slots=1)  # type: ignore[arg-type]
    task = get_task("parity_noise")
    first, second, third = _blocks(3, "first"), _blocks(3, "second"), _blocks(3, "third")
    executor.gate.clear()
    scorer.prefetch_many(task, first, "val")
    assert executor.started.wait(10)  # the first answer's batch holds the one slot
    scorer.prefetch_many(task, second, "val")
    scorer.prefetch_many(task, third, "val")
    recorded: list[str] = []
    asked: list[float] = []

    def ask() -> None:
        asked.append(scorer.score(task, third[1], "val", lambda code, *_: recorded.append(code)).score)

    asker = threading.Thread(target=ask)
    asker.start()  # claims the third batch, queued behind the second, and waits for the slot
    deadline = time.monotonic() + 10
    while scorer._slots._asked_waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    executor.gate.set()
    asker.join(10)
    results = [scorer.score(task, code, "val").score for code in first + second + third]
    scorer.close()
    assert asked == [float(len(third[1]))]
    assert recorded == [third[1]]  # the asker records its own block; the rest wait for their askers
    assert results == [float(len(code)) for code in first + second + third]
    assert executor.batches == [first, third, second]  # the asked-for batch went first, whole
    assert sorted(executor.scored) == sorted(first + second + third)  # nothing scored twice


def test_a_batch_that_fails_leaves_its_blocks_to_their_askers():
    executor = _BatchingExecutor(fail=True)
    scorer = Scorer(executor, cpu_slots=1)  # type: ignore[arg-type]
    task = get_task("parity_noise")
    blocks = _blocks(4)
    scorer.prefetch_many(task, blocks, "val")
    assert executor.started.wait(10)
    results = [scorer.score(task, code, "val").score for code in blocks]
    scorer.close()
    assert results == [float(len(code)) for code in blocks]  # each asker scored its own, one at a time
    assert executor.batches == [blocks]
    assert scorer.prefetches_used == 0


def test_without_batches_each_block_is_its_own_scoring():
    executor = _CountingExecutor()
    scorer = Scorer(executor)  # type: ignore[arg-type]
    task = get_task("parity_noise")
    blocks = _blocks(5)
    scorer.prefetch_many(task, [*blocks, blocks[0], "   ", None], "val")  # repeats and blanks are skipped
    results = [scorer.score(task, code, "val").score for code in blocks]
    scorer.close()
    assert results == [float(len(code)) for code in blocks]
    assert sorted(executor.scored) == sorted(blocks)
