"""A store grows with the work a run was allowed, not with what a child sends (see stop/recorder.py)."""

from __future__ import annotations

import json

from tests.conftest import EXAMPLE_MODEL

from selftaught.stop.context import Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.meta_utility import TaskUtility
from selftaught.stop.recorder import DETAIL_MAX_BYTES, EVENTS_PER_IMPROVER_RUN, PREVIEW_CHARS, bounded_detail

FLOODER = """
def improve_algorithm(initial_solution, utility, language_model):
    huge = {f"k{j}": "x" * 1000 for j in range(5000)}  # the proxy keeps 100 characters of each
    for i in range(40):
        utility(initial_solution, use_sandbox=False, **huge)
    for i in range(10_000):
        utility(initial_solution, i)
    return initial_solution
"""
STORE_GROWTH_BOUND = 1 << 20  # 1 MiB: 101 events of at most ~4.7 KiB, the sources, one evaluation


def _size(store) -> int:
    store.query("PRAGMA wal_checkpoint(TRUNCATE)")
    return store.query("PRAGMA page_count")[0][0] * store.query("PRAGMA page_size")[0][0]


def test_an_event_and_argument_flood_grows_the_store_by_less_than_a_bound(make_context):
    ctx = make_context(f"script:{EXAMPLE_MODEL}", timeout_s=120)
    task = ctx.tasks[0]
    before = _size(ctx.store)
    scope = ctx.start_improver_run(Scope(iteration=0), "test", FLOODER, "flood", task=task.name, repeat=0)
    outcome = run_improver(ctx, FLOODER, task.seed_solution(), TaskUtility(ctx, task), scope)
    ctx.finish_improver_run(scope, outcome, "solution")
    assert outcome.ok, outcome.error
    assert outcome.utility_calls == 10_040
    events = ctx.store.events(ctx.run_id, improver_run_id=scope.improver_run_id)
    assert len(events) == EVENTS_PER_IMPROVER_RUN + 1
    capped = events[-1]
    assert (
        capped.kind == "events_capped"
        and capped.detail["dropped"] >= 10_040 * 2 - EVENTS_PER_IMPROVER_RUN - 40
    )
    assert all(len(e.detail_json.encode()) <= DETAIL_MAX_BYTES + PREVIEW_CHARS * 6 + 200 for e in events)
    truncated = [e.detail for e in events if e.detail.get("truncated")]
    assert truncated and all(t["bytes"] > 5000 * 100 and len(t["sha256"]) == 64 for t in truncated)
    grown = _size(ctx.store) - before
    print(f"store grew by {grown} bytes")
    assert grown < STORE_GROWTH_BOUND


def test_details_are_kept_whole_up_to_the_cap_then_previewed_with_size_and_digest():
    small = {"kwargs": {"a": 1}}
    assert json.loads(bounded_detail(small)) == small
    big = json.loads(bounded_detail({"kwargs": {"a": "é" * 10_000}}))
    assert big["truncated"] and big["bytes"] == len(json.dumps({"kwargs": {"a": "é" * 10_000}}).encode())
    assert len(big["preview"]) == PREVIEW_CHARS
    circular: dict = {}
    circular["self"] = circular
    assert "unencodable" in json.loads(bounded_detail(circular))
