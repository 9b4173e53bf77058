"""Eager scoring: the code blocks of the answers an improver receives start scoring at once.

A run records the same results with it as without it (the same iterations, improver runs,
evaluations and answers), and a prefetched score is recorded only when an improver asks.
"""

from __future__ import annotations

import threading

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
