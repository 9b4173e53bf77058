"""A run session records how every kind of run ended: finished, stopped, failed, or interrupted on Ctrl-C."""

from __future__ import annotations

import pytest
from tests.conftest import children_running

from selftaught.audits import strategies_audit
from selftaught.audits.session import AuditSession
from selftaught.config import RunConfig
from selftaught.models.limits import RunStopped
from selftaught.store.store import Store

CONFIG = RunConfig(model="ast", tasks=["parity_noise"])


class _Backend:
    identity = "none"
    closed = False

    def complete(self, request: object) -> object:  # pragma: no cover - never asked
        raise AssertionError

    def close(self) -> None:
        self.closed = True


def _ended(store: Store, run_id: str) -> tuple[str, str | None]:
    run = store.run(run_id)
    assert run is not None
    return run.status, run.reason


@pytest.mark.parametrize(
    ("raised", "status", "reason", "propagates"),
    [
        (None, "finished", None, False),
        (RunStopped("max_calls reached", clean=True), "stopped", "max_calls reached", False),
        (RunStopped("the model refused", clean=False), "failed", "the model refused", False),
        (KeyboardInterrupt(), "interrupted", "interrupted by the user", False),
        (ValueError("broken"), "failed", "ValueError: broken", True),
    ],
)
def test_each_ending_is_recorded_with_its_status_and_the_backend_is_closed(
    tmp_path, raised, status, reason, propagates
):
    store = Store.open(tmp_path / "runs.db")
    backend = _Backend()
    session = AuditSession(CONFIG, store, {"audit": "test"}, backend=backend)  # type: ignore[arg-type]
    try:
        with session:
            if raised is not None:
                raise raised
    except ValueError:
        assert propagates
    else:
        assert not propagates
    assert (session.status, session.reason) == (status, reason)
    assert _ended(store, session.audit_id) == (status, reason)
    assert backend.closed


def test_ctrl_c_during_the_strategies_audit_is_recorded_interrupted(tmp_path, monkeypatch):
    store = Store.open(tmp_path / "runs.db")
    subject = store.new_run("stop", CONFIG.model_dump(), "ast", None)
    source = strategies_audit.ImproverSource(
        0, "improver", store.put_source("def improve_algorithm(): pass\n", "improver")
    )
    monkeypatch.setattr(strategies_audit, "improver_sources", lambda store, run_id: [source])

    def interrupted(source: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(strategies_audit, "classify_strategies", interrupted)
    with pytest.raises(KeyboardInterrupt):
        strategies_audit.audit_strategies(store, subject, CONFIG)
    (audit,) = [r for r in store.runs() if r.kind == "audit"]
    assert (audit.status, audit.reason) == ("interrupted", "interrupted by the user")


def test_every_public_result_has_one_json_method():
    from selftaught.api import EvaluationResult, RunResult
    from selftaught.arena.table import ArenaResult
    from selftaught.audits.circumvention_audit import CircumventionResult
    from selftaught.audits.strategies_audit import StrategiesResult
    from selftaught.experiments.api import CompareResult, MultiRunResult, RecursionResult, TransferResult
    from selftaught.runs.calls import JsonResult

    results = [RunResult, EvaluationResult, TransferResult, CompareResult, RecursionResult, MultiRunResult]
    for result in [*results, ArenaResult, CircumventionResult, StrategiesResult]:
        assert callable(getattr(result, "to_json", None)), result
        assert not hasattr(result, "as_json"), result
        assert issubclass(result, JsonResult)


class _HeldExecutor:
    """Scores after the test lets it: a scoring still in flight when its run ends."""

    name = "held"
    cpu_slots = 1
    protections: list = []

    def __init__(self) -> None:
        import threading

        self.started = threading.Event()
        self.release = threading.Event()

    def score(self, task, code, split, scoring):
        from selftaught.tasks.scoring import SolutionScore

        self.started.set()
        self.release.wait(10)
        return SolutionScore(0.0, 0, "crashed", "killed as the executor closed")

    def close(self) -> None:
        self.release.set()


def test_a_scoring_that_comes_back_after_its_run_ended_is_not_recorded(tmp_path):
    """A scoring cut off by the run's end (its child killed as the executor closes) would be a crash
    with a score of 0 that a resumed run reuses; after the end, none is recorded."""
    import threading

    from selftaught.api import open_store
    from selftaught.runs.scope import Scope
    from selftaught.runs.session import RunSession
    from selftaught.tasks import get_task

    executor = _HeldExecutor()
    task = get_task("parity_noise")
    config = RunConfig(model="ast", tasks=["parity_noise"])
    scored: list[float] = []
    with RunSession(config, store=tmp_path / "runs.db", pool=executor, backend=_Backend()) as session:  # type: ignore[arg-type]
        run_id = session.record("stop", config.model_dump())
        ctx = session.context([task])
        late = threading.Thread(
            target=lambda: scored.append(ctx.score(task, "x = 1\n", "val", Scope(iteration=0)).score)
        )
        late.start()
        assert executor.started.wait(10)
        raise KeyboardInterrupt  # the run ends with the scoring in flight
    executor.release.set()
    late.join(10)
    assert scored == [0.0]  # it came back, after the end
    assert session.status == "interrupted"
    assert list(open_store(tmp_path / "runs.db").evaluations(run_id)) == []


def _sandbox_workers() -> set[int]:
    """This process's sandbox worker processes."""
    import os

    return set(children_running(os.getpid(), b"selftaught.sandbox.worker"))


def test_the_executor_starts_while_the_tasks_load_and_is_closed_when_they_fail(tmp_path, monkeypatch):
    from selftaught.errors import UserInputError
    from selftaught.runs import start

    before = _sandbox_workers()
    started: list[object] = []
    original = start.ExecutorStart

    class Watched(original):  # type: ignore[misc, valid-type]
        def __init__(self, config: RunConfig) -> None:
            super().__init__(config)
            started.append(self)

    monkeypatch.setattr(start, "ExecutorStart", Watched)
    with pytest.raises(UserInputError, match="no_such_task"):
        start.resolve_tasks_while_starting(RunConfig(model="ast", tasks=["no_such_task"]), None)
    assert len(started) == 1  # it did start before the tasks were read
    assert _sandbox_workers() == before  # and its workers are gone
    config, tasks, starting = start.resolve_tasks_while_starting(CONFIG, None)
    assert [t.name for t in tasks] == ["parity_noise"] and starting is not None
    starting.result()
    assert _sandbox_workers() - before  # the pool is up for the session to take
    starting.discard()
    assert _sandbox_workers() == before
    assert start.resolve_tasks_while_starting(CONFIG, object())[2] is None  # type: ignore[arg-type]  # a given pool
    ray = CONFIG.model_copy(update={"executor": "ray"})
    assert (
        start.resolve_tasks_while_starting(ray, None)[2] is None
    )  # Ray starts in the session, after the tasks
    assert len(started) == 2


def test_a_speculating_run_keeps_more_children_ready():
    from selftaught.runs.start import ExecutorStart
    from selftaught.sandbox.pool import POOL_SPARES, SPECULATIVE_SPARES

    for speculate, spares in ((False, POOL_SPARES), (True, SPECULATIVE_SPARES)):
        starting = ExecutorStart(CONFIG.model_copy(update={"speculate": speculate}))
        try:
            assert starting.result().pool.spares == spares  # type: ignore[attr-defined]
        finally:
            starting.discard()


def test_a_runs_spares_wait_until_its_model_client_is_open(tmp_path):
    import threading
    import time

    from selftaught.runs.start import ExecutorStart, release_spares_once_model_opens

    released: list[str] = []

    class Executor:
        def release_spares(self) -> None:
            released.append(threading.current_thread().name)

    class Opening:  # a hosted backend whose host is still importing the SDK
        def __init__(self) -> None:
            self.opened = threading.Event()

        def wait_open(self, timeout_s: float) -> bool:
            return self.opened.wait(timeout_s)

    release_spares_once_model_opens(object(), Executor())  # type: ignore[arg-type]  # no client to wait for
    assert released == [threading.current_thread().name]
    backend = Opening()
    release_spares_once_model_opens(backend, Executor())  # type: ignore[arg-type]
    time.sleep(0.2)
    assert len(released) == 1  # held while the client opens
    backend.opened.set()
    deadline = time.monotonic() + 5
    while len(released) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert released[1:] == ["spares-once-model-opens"]
    release_spares_once_model_opens(backend, object())  # type: ignore[arg-type]  # an executor that holds none

    starting = ExecutorStart(CONFIG)  # a run's own pool holds its spares for the session to release
    try:
        assert starting.result().pool._holding_spares  # type: ignore[attr-defined]
    finally:
        starting.discard()
    from selftaught.runs.session import RunSession

    with RunSession(CONFIG, store=tmp_path / "runs.db", backend=_Backend()) as session:  # type: ignore[arg-type]
        assert not session.pool.pool._holding_spares  # type: ignore[union-attr]  # no client to wait for
