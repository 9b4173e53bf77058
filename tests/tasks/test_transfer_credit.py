"""Transfer credit is measured once per task and split, reused a while, then measured again."""

from __future__ import annotations

from tests.conftest import GOOD_PARITY_SOLVER

from selftaught.tasks import get_task, scoring


def test_transfer_credit_is_measured_once_then_reused_until_it_ages(pool, monkeypatch):
    task = get_task("parity_noise")
    calls: list[int] = []
    real, real_batch = scoring.measure_transfer, scoring.measure_batch_transfer

    def counted(child, wires, limit):
        calls.append(len(wires))
        return real(child, wires, limit)

    def counted_batch(child, batch, count, limit):
        calls.append(count)
        return real_batch(child, batch, count, limit)

    monkeypatch.setattr(scoring, "measure_transfer", counted)
    monkeypatch.setattr(scoring, "measure_batch_transfer", counted_batch)
    monkeypatch.setattr(scoring, "_CREDIT_CACHE", type(scoring._CREDIT_CACHE)())
    first = scoring.score_solution(task, GOOD_PARITY_SOLVER, "val", pool)
    second = scoring.score_solution(task, GOOD_PARITY_SOLVER, "val", pool)
    assert len(calls) == 1 and calls[0] == len(task.instances("val"))
    assert first.score == second.score > 0.5
    scoring.score_solution(task, GOOD_PARITY_SOLVER, "test", pool)
    assert len(calls) == 2  # another split has instances of its own
    monkeypatch.setattr(scoring, "CREDIT_MAX_AGE_S", 0.0)
    scoring.score_solution(task, GOOD_PARITY_SOLVER, "val", pool)
    assert len(calls) == 3  # an aged credit is measured again
