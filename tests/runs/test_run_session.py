"""A run session records how every kind of run ended: finished, stopped, failed, or interrupted on Ctrl-C."""

from __future__ import annotations

import pytest

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
