"""The response cache keeps one answer's samples together: all of them or none."""

from __future__ import annotations

import sqlite3

import pytest

from selftaught.models.cache import ResponseCache
from selftaught.store.store import Store


def test_an_answer_is_stored_whole_or_not_at_all(tmp_path):
    store = Store.open(tmp_path / "runs.db")
    cache = ResponseCache(store, run_id=None)
    cache.put("k1", {0: "first", 1: "second", 2: "third"}, "model")
    assert cache.get("k1") == {0: "first", 1: "second", 2: "third"}
    # a sample that cannot be stored (SQLite cannot bind it) takes the whole answer back with it
    with pytest.raises(sqlite3.Error):
        cache.put("k2", {0: "kept?", 1: object()}, "model")  # type: ignore[dict-item]
    assert cache.get("k2") == {}
    cache.put("k2", {0: "later"}, "model")  # the store is usable afterwards
    assert cache.get("k2") == {0: "later"}
