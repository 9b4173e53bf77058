"""Every request counts: a loop of requests the budgets do not pay for ends the improver run as a
`flood` (issue 18).

Refused calls (past a budget, bad arguments, requests that do not fit their declaration)
and safety events share one cap per improver run (`improver_run.MAX_REFUSED_UNITS`); a
large refused frame costs more of it. How fast a flood ends and what it costs the
orchestrator is measured by benchmarks/flood.py, not here (no timed assertions).
"""

from __future__ import annotations

import pytest
from tests.sandbox.boundary_support import ALWAYS_SEED, RAW_SENDER, context_maker, run_on_seed

from selftaught.stop.improver_run import MAX_REFUSED_UNITS, REFUSAL_UNIT_BYTES


@pytest.fixture(params=["default", "strict"])
def context_in_mode(request, pool, tmp_path):
    """A run context on a default-mode or (where the kernel allows) a strict-mode pool."""
    chosen = pool if request.param == "default" else request.getfixturevalue("strict_pool")
    return context_maker(chosen, tmp_path)


BAD_ARGUMENTS = """
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        try:
            language_model.prompt("e", "m", 1, "hot")  # refused for its temperature, free before
        except Exception:
            pass
"""

UNKNOWN_OPS = (
    RAW_SENDER
    + """
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        raw(b'{"type":"request","op":"store.delete","run":1}')
"""
)

EVENTS = """
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        language_model.budget = 10**6  # each assignment is reported as a budget_tamper event
"""

LARGE_FRAMES = (
    RAW_SENDER
    + """
JUNK = "x" * (1024 * 1024)
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        raw(('{"type":"request","op":"utility","code":null,"junk":"' + JUNK + '"}').encode())
"""
)

MIXED = """
def improve_algorithm(initial_solution, utility, language_model):
    for _ in range(400):
        utility(initial_solution)  # past its budget: scores 0, counted
    while True:
        try:
            language_model.prompt("e", "m", 0)  # no responses asked for: refused, counted
        except Exception:
            pass
"""


def _flood_detail(ctx, scope) -> dict:
    events = ctx.store.events(ctx.run_id, improver_run_id=scope.improver_run_id)
    floods = [e.detail for e in events if e.kind == "flood"]
    assert len(floods) == 1, [e.kind for e in events]
    return floods[0]


def test_a_loop_of_bad_arguments_is_a_flood(context_in_mode, write_script):
    ctx = context_in_mode(write_script(ALWAYS_SEED))
    outcome, scope = run_on_seed(ctx, BAD_ARGUMENTS)
    assert not outcome.ok and outcome.error_kind == "flood", outcome.error
    assert outcome.model_calls == 0
    detail = _flood_detail(ctx, scope)
    assert detail["invalid"] == MAX_REFUSED_UNITS and detail["units"] == MAX_REFUSED_UNITS


def test_a_loop_of_undeclared_requests_is_a_flood(context_in_mode, write_script):
    ctx = context_in_mode(write_script(ALWAYS_SEED))
    outcome, scope = run_on_seed(ctx, UNKNOWN_OPS)
    assert not outcome.ok and outcome.error_kind == "flood", outcome.error
    detail = _flood_detail(ctx, scope)
    assert detail["invalid"] + detail["events"] == MAX_REFUSED_UNITS  # events: its socket import


def test_a_loop_of_events_is_a_flood_and_the_store_keeps_a_bounded_few(context_in_mode, write_script):
    ctx = context_in_mode(write_script(ALWAYS_SEED))
    outcome, scope = run_on_seed(ctx, EVENTS)
    assert not outcome.ok and outcome.error_kind == "flood", outcome.error
    assert _flood_detail(ctx, scope)["events"] == MAX_REFUSED_UNITS
    kept = ctx.store.events(ctx.run_id, improver_run_id=scope.improver_run_id)
    assert len(kept) <= 110  # the recorder's per-run cap, its summary and the flood event


def test_large_refused_frames_use_up_the_cap_faster(context_in_mode, write_script):
    ctx = context_in_mode(write_script(ALWAYS_SEED))
    outcome, scope = run_on_seed(ctx, LARGE_FRAMES)
    assert not outcome.ok and outcome.error_kind == "flood", outcome.error
    detail = _flood_detail(ctx, scope)
    per_request = 1 + (1024 * 1024) // REFUSAL_UNIT_BYTES
    assert detail["invalid"] == -(-MAX_REFUSED_UNITS // per_request)  # 16 one-MiB frames, not 1000
    assert detail["units"] >= MAX_REFUSED_UNITS


def test_refusals_of_every_kind_share_one_cap(context_in_mode, write_script):
    ctx = context_in_mode(write_script(ALWAYS_SEED))
    outcome, scope = run_on_seed(ctx, MIXED)
    assert not outcome.ok and outcome.error_kind == "flood", outcome.error
    detail = _flood_detail(ctx, scope)
    budget = ctx.config.utility_budget
    assert detail["utility"] == 400 - budget
    assert detail["utility"] + detail["invalid"] == MAX_REFUSED_UNITS
