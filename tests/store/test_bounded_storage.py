"""A store grows with the work a run was allowed, not with what a child sends (see runs/recorder.py)."""

from __future__ import annotations

import json

from tests.conftest import EXAMPLE_MODEL

from selftaught.runs.recorder import DETAIL_MAX_BYTES, EVENTS_PER_IMPROVER_RUN, PREVIEW_CHARS, bounded_detail
from selftaught.runs.scope import Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.meta_utility import TaskUtility

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
    # past its budget the utility answers 0; 1000 refused calls later the run is cut (a flood)
    assert outcome.error_kind == "flood", outcome.error
    assert outcome.utility_calls == ctx.config.utility_budget + 1000
    events = ctx.store.events(ctx.run_id, improver_run_id=scope.improver_run_id)
    assert len(events) == EVENTS_PER_IMPROVER_RUN + 1
    capped = events[-1]
    assert (
        capped.kind == "events_capped"
        and capped.detail["dropped"] >= outcome.utility_calls - EVENTS_PER_IMPROVER_RUN
    )
    assert all(len(e.detail_json.encode()) <= DETAIL_MAX_BYTES + PREVIEW_CHARS * 6 + 200 for e in events)
    # the trusted side refuses kwargs beyond a few short strings (inside/messages.py), so what reaches
    # the recorder is already small; bounded_detail's cut is checked on its own below
    flagged = [e for e in events if e.kind == "utility_extra_arguments"]
    assert flagged and all(len(e.detail_json) < 64 * 1024 for e in flagged)
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
