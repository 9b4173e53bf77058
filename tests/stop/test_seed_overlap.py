"""Iteration 0's evaluation of the seed improver runs alongside iteration 1's self-improvement step.

The step does not depend on the evaluation, so a run no longer waits for one before the other;
what it records for iteration 0 is what a run of iteration 0 alone records.
"""

from __future__ import annotations

from tests.conftest import EXAMPLE_MODEL, small_config
from tests.stop.test_lost_worker import _recorded

from selftaught.api import open_store, start_run

# Wraps the example model: a request for a solution (the seed's evaluation) waits up to 5 s for
# a request to improve an improver (iteration 1's step), and notes whether one had come.
WAITING_MODEL = """
import importlib.util, threading
from pathlib import Path

_spec = importlib.util.spec_from_file_location("example_model", {example!r})
_example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_example)
_step_asked = threading.Event()
_notes = Path({notes!r})


def respond(system, user, temperature, sample):
    if "def improve_algorithm" in user:
        _step_asked.set()
    elif sample == 0:
        with _notes.open("a") as notes:
            notes.write("overlapped\\n" if _step_asked.wait(5.0) else "alone\\n")
    return _example.respond(system, user, temperature, sample)
"""


def test_the_seed_evaluation_and_the_first_step_overlap_and_record_what_they_record_alone(pool, tmp_path):
    notes = tmp_path / "notes.txt"
    model = tmp_path / "waiting_model.py"
    model.write_text(WAITING_MODEL.format(example=str(EXAMPLE_MODEL), notes=str(notes)))
    both = start_run(small_config(f"script:{model}", iterations=1), store=tmp_path / "both.db", pool=pool)
    assert both.status == "finished"
    assert notes.read_text().splitlines()[0] == "overlapped"  # the seed's first request met the step's
    store = open_store(tmp_path / "both.db")
    assert [it.iteration for it in store.iterations(both.run_id)] == [0, 1]  # still recorded in order
    alone = start_run(
        small_config(f"script:{EXAMPLE_MODEL}", iterations=0), store=tmp_path / "alone.db", pool=pool
    )
    iterations, runs, *_ = _recorded(tmp_path / "both.db", both.run_id)
    seed_iterations, seed_runs, *_ = _recorded(tmp_path / "alone.db", alone.run_id)
    assert iterations[0] == seed_iterations[0] and len(iterations) == 2
    assert seed_runs and set(seed_runs) <= set(runs)  # iteration 0's improver runs, as recorded alone


def test_a_failed_first_step_stops_the_run_and_waits_for_the_seed_evaluation(monkeypatch):
    """When the step fails (here a --max-calls stop), the seed's evaluation must end before the
    failure leaves the loop: the run's executor closes after that, and would otherwise kill the
    seed's scorings under it (recorded as crashes, and reused by a resumed run)."""
    import threading
    import time
    from types import SimpleNamespace

    import pytest

    from selftaught.models.limits import RunStopped, UsageLimiter
    from selftaught.runs.control import RunControl
    from selftaught.stop import loop

    control = RunControl(UsageLimiter())
    ended = threading.Event()

    def seed_evaluation(ctx, improver):
        while control.limiter.stopped is None:  # works until the run is stopped
            time.sleep(0.01)
        time.sleep(0.2)  # then takes a while to wind down
        ended.set()
        raise control.limiter.stopped

    def failing_step(ctx, t, improver):
        time.sleep(0.05)
        raise RunStopped("--max-calls 5 reached", clean=True)

    monkeypatch.setattr(loop, "_seed_iteration", seed_evaluation)
    monkeypatch.setattr(loop, "_self_improve", failing_step)
    ctx = SimpleNamespace(config=SimpleNamespace(iterations=1), control=control)
    with pytest.raises(RunStopped, match="max-calls"):
        loop.run_stop(ctx, state=loop.LoopState("improver source"))
    assert ended.is_set()  # the seed's evaluation had ended when the step's failure left the loop
    assert control.limiter.stopped is not None and control.limiter.stopped.clean


def test_after_an_interrupt_the_wait_for_the_seed_evaluation_is_bounded(monkeypatch):
    """A seed evaluation held up (a model request in flight) does not keep Ctrl-C from stopping."""
    import threading
    from types import SimpleNamespace

    import pytest

    from selftaught.models.limits import UsageLimiter
    from selftaught.runs.control import RunControl
    from selftaught.stop import loop

    control = RunControl(UsageLimiter())
    release, ended = threading.Event(), threading.Event()

    def stuck_seed_evaluation(ctx, improver):
        release.wait(30)  # a request the interrupt does not cut short
        ended.set()

    def interrupted_step(ctx, t, improver):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "INTERRUPT_WAIT_S", 0.2)
    monkeypatch.setattr(loop, "_seed_iteration", stuck_seed_evaluation)
    monkeypatch.setattr(loop, "_self_improve", interrupted_step)
    ctx = SimpleNamespace(config=SimpleNamespace(iterations=1), control=control)
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_stop(ctx, state=loop.LoopState("improver source"))
        assert not ended.is_set()  # the interrupt left without waiting for it to end
        assert control.limiter.stopped is not None  # stopped first: its calls are refused from now
    finally:
        release.set()
