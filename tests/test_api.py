"""The public API: runs, resumes and evaluations return named results; the adoption and scoring rules."""

from __future__ import annotations

import textwrap

import pytest

import selftaught
from selftaught.config import RESUMABLE_SETTINGS
from selftaught.errors import UserInputError
from selftaught.stop.seed import seed_improver_source
from tests.conftest import EXAMPLE_MODEL, GOOD_PARITY_SOLVER, small_config

SAME_IMPROVER_MODEL = """
from selftaught.stop.seed import seed_improver_source
from tests.conftest import GOOD_PARITY_SOLVER

def respond(system, user, temperature, sample):
    if "def improve_algorithm" in user:
        return "```python\\n" + seed_improver_source() + "\\n# the same improver, reworded\\n```"
    return "```python\\n" + GOOD_PARITY_SOLVER + "```"
"""


@pytest.mark.parametrize(("accept", "status"), [("nonzero", "improved"), ("better", "failed")])
def test_accept_better_adopts_only_an_improver_that_scores_higher(
    pool, tmp_path, write_script, accept, status
):
    config = small_config(write_script(SAME_IMPROVER_MODEL), accept=accept)
    result = selftaught.start_run(config, store=tmp_path / "s.db", pool=pool)
    assert result.status == "finished"
    assert [r.status for r in result.iterations] == ["seed", status]
    store = selftaught.open_store(tmp_path / "s.db")
    rows = store.iterations(result.run_id)
    assert store.source(rows[1].candidate_hash).rstrip().endswith("# the same improver, reworded")
    if accept == "better":  # same streams, same answers: equal, so not adopted
        assert (
            rows[1].error_kind == "not_better"
            and store.source(rows[1].improver_hash) == seed_improver_source()
        )
        assert {
            r.stream.split("/")[0]
            for r in store.improver_runs(result.run_id)
            if r.purpose == "iteration_eval"
        } == {"same"}
    assert store.run(result.run_id).config["accept"] == accept


def test_a_flaky_improver_scores_zero_under_reference_scoring(make_context, write_script, monkeypatch):
    from selftaught.executors import local
    from selftaught.runs.scope import Scope
    from selftaught.stop.meta_utility import MetaUtility, measure_improver

    real = local.score_solution
    monkeypatch.setattr(local, "score_solution", lambda *args, scoring="strict": real(*args))
    flaky = textwrap.dedent(f"""
        import random
        def improve_algorithm(initial_solution, utility, language_model):
            if random.random() < 0.5:
                raise RuntimeError("unlucky")
            return {GOOD_PARITY_SOLVER!r}
    """)
    model = f"script:{EXAMPLE_MODEL}"
    values = {}
    for scoring in ("strict", "reference"):
        ctx = make_context(model, n_tests=6, scoring=scoring)
        evaluation = measure_improver(ctx, flaky, ("val",), Scope(stream="check"), "test", "eval")
        kinds = [r.outcome.error_kind for r in evaluation.repeats]
        assert "exception" in kinds and None in kinds  # some repeats raise, some return
        values[scoring] = MetaUtility(ctx).score(flaky, Scope(stream="meta"))
    assert values["strict"] > 0 and values["reference"] == 0.0


def test_evaluate_improver_and_the_read_api(pool, tmp_path):
    improver = seed_improver_source()
    config = small_config(f"script:{EXAMPLE_MODEL}", n_tests=2, calls=1, samples=2)
    result = selftaught.evaluate_improver(improver, config, split="test", store=tmp_path / "s.db", pool=pool)
    assert result.status == "finished" and result.improver_runs == 2 and result.failed_runs == 0
    assert 0.5 < result.meta_utility <= 1.0 and result.per_task == {"parity_noise": result.meta_utility}
    store = selftaught.open_store(tmp_path / "s.db")
    run = store.run(result.run_id)
    assert (run.kind, run.status, run.config["split"]) == ("evaluate-improver", "finished", "test")
    improver_runs = store.improver_runs(result.run_id)
    assert [r.status for r in improver_runs] == ["ok", "ok"]
    assert sum(r.score_test for r in improver_runs) / 2 == pytest.approx(result.meta_utility)
    first = improver_runs[0].id
    assert {c.improver_run_id for c in store.model_calls(result.run_id, improver_run_id=first)} == {first}
    evaluations = store.evaluations(result.run_id)
    assert {e.split for e in evaluations} == {"val", "test"}  # the improver's utility is val; its result test
    assert {e.improver_run_id for e in evaluations} <= {r.id for r in improver_runs}
    assert all(e.improver_run_id == first for e in store.evaluations(result.run_id, improver_run_id=first))
    with pytest.raises(UserInputError, match="improve_algorithm"):
        selftaught.evaluate_improver("def algorithm(): pass", config, store=tmp_path / "s.db", pool=pool)


def test_resume_refuses_to_change_what_a_run_computes_and_reports_a_finished_run(pool, tmp_path):
    config = small_config(f"script:{EXAMPLE_MODEL}", iterations=0)
    done = selftaught.start_run(config, store=tmp_path / "s.db", pool=pool)
    with pytest.raises(UserInputError, match="keeps its n_tests"):
        selftaught.resume_run(tmp_path / "s.db", done.run_id, overrides={"n_tests": 3})
    again = selftaught.resume_run(tmp_path / "s.db", done.run_id, overrides={"max_calls": 5}, pool=pool)
    assert again.already_finished and again.iterations == done.iterations
    assert "max_calls" in RESUMABLE_SETTINGS and "model" not in RESUMABLE_SETTINGS
    moved = selftaught.resume_run(tmp_path / "s.db", done.run_id, overrides={"executor": "local"}, pool=pool)
    assert moved.already_finished  # where work runs may change on resume; `resume --executor` offers it
    with pytest.raises(UserInputError, match="no run store"):
        selftaught.open_store(tmp_path / "missing.db")
