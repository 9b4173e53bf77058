"""A redone improver run (its worker was lost) numbers its meta-utility calls from 1 again and
gets the evaluations the lost try made, so nothing is evaluated, recorded or paid for twice."""

from __future__ import annotations

from types import SimpleNamespace

from selftaught.config import RunConfig
from selftaught.stop.meta_utility import MetaUtility


def _counting_meta_utility(monkeypatch):
    ctx = SimpleNamespace(config=RunConfig(model="script:x"))
    meta = MetaUtility(ctx)  # type: ignore[arg-type]
    evaluated: list[tuple[str, int]] = []

    def evaluate(code, scope, call):
        evaluated.append((code, call))
        return len(code) / 10

    monkeypatch.setattr(meta, "_evaluate", evaluate)
    return meta, evaluated


def test_a_redo_reuses_the_lost_tries_evaluations_by_number_and_code(monkeypatch):
    meta, evaluated = _counting_meta_utility(monkeypatch)
    assert meta.score("a", None) == 0.1
    assert meta.score("bb", None) == 0.2
    meta.restart()  # the worker was lost: the improver run starts again and asks the same
    assert meta.score("a", None) == 0.1
    assert meta.score("bb", None) == 0.2
    assert meta.score("ccc", None) == 0.3  # and one more the lost try never reached
    assert evaluated == [("a", 1), ("bb", 2), ("ccc", 3)]


def test_a_redo_that_asks_otherwise_gets_numbers_no_try_used(monkeypatch):
    meta, evaluated = _counting_meta_utility(monkeypatch)
    meta.score("a", None)
    meta.score("bb", None)
    meta.restart()
    meta.score("a", None)
    meta.score("zz", None)  # differs at call 2: a fresh stream, not a second meta2
    meta.score("y", None)
    assert evaluated == [("a", 1), ("bb", 2), ("zz", 3), ("y", 4)]


def test_without_a_redo_every_call_is_evaluated_even_for_the_same_code(monkeypatch):
    meta, evaluated = _counting_meta_utility(monkeypatch)
    meta.score("a", None)
    meta.score("a", None)
    assert evaluated == [("a", 1), ("a", 2)]
