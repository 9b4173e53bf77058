"""`--speculate`: the meta-utility of every candidate improver an improver receives starts at once.

A run records the same results with it as without it (iterations, improver runs by stream,
evaluations, answers); an evaluation the improver never asks for is recorded as speculative,
and its model calls are counted.
"""

from __future__ import annotations

from tests.conftest import EXAMPLE_MODEL, run_cli, small_config
from tests.stop.test_lost_worker import _recorded

from selftaught.api import start_run
from selftaught.config import COMPUTING_SETTINGS, RESUMABLE_SETTINGS
from selftaught.runs.scope import Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.meta_utility import MetaUtility
from selftaught.stop.seed import seed_improver_source


def test_a_run_records_the_same_results_with_and_without_speculation(pool, tmp_path, monkeypatch):
    settled: list[tuple[bool, int, int]] = []
    finish = MetaUtility.finish

    def counting_finish(self: MetaUtility, scope: Scope | None = None, wait: bool = True) -> None:
        finish(self, scope, wait)
        settled.append((self.speculate, self.claimed, self.unclaimed))

    monkeypatch.setattr(MetaUtility, "finish", counting_finish)
    plain = start_run(
        small_config(f"script:{EXAMPLE_MODEL}", iterations=2), store=tmp_path / "plain.db", pool=pool
    )
    config = small_config(f"script:{EXAMPLE_MODEL}", iterations=2, speculate=True)
    fast = start_run(config, store=tmp_path / "fast.db", pool=pool)
    assert plain.status == fast.status == "finished"
    assert fast.iterations[1].status == "improved"  # the comparison is of a run that did something
    assert [s for s in settled if not s[0]] == [(False, 0, 0), (False, 0, 0)]
    speculated = [s for s in settled if s[0]]
    assert len(speculated) == 2 and all(
        claimed > 0 and unclaimed == 0 for _, claimed, unclaimed in speculated
    )
    assert _recorded(tmp_path / "fast.db", fast.run_id) == _recorded(tmp_path / "plain.db", plain.run_id)


# Asked to improve an improver: a copy of the seed improver per sample; asked for a program: one.
MODEL = """
from selftaught.stop.seed import seed_improver_source

def respond(system, user, temperature, sample):
    if "def improve_algorithm" in user:
        code = f"# candidate {sample}\\n" + seed_improver_source()
    else:
        code = "def algorithm(train_samples, train_parity, test_samples):\\n"
        code += f"    return [0] * len(test_samples)  # {sample}\\n"
    return "An idea.\\n\\n```python\\n" + code + "```\\n"
"""

# Evaluates only the first of the candidates it receives.
FIRST_ONLY = """from helpers import extract_code


def improve_algorithm(initial_solution, utility, language_model):
    answers = language_model.batch_prompt("expert", ["improve:\\n" + initial_solution] * 3)
    candidates = [c for c in extract_code(answers) if c]
    utility(candidates[0])
    return candidates[0]
"""


def _self_improve(ctx, improver: str, speculate: bool):
    scope = ctx.start_improver_run(Scope(iteration=1, stream="it1"), "self_improve", improver, "self")
    meta = MetaUtility(ctx, speculate=speculate)
    outcome = run_improver(ctx, improver, seed_improver_source(), meta, scope)
    return outcome, meta


def test_a_candidate_the_improver_never_evaluates_is_recorded_as_speculative_and_counted(
    make_context, write_script
):
    ctx = make_context(write_script(MODEL), samples=3, calls=1)
    outcome, meta = _self_improve(ctx, FIRST_ONLY, speculate=True)
    assert outcome.ok and outcome.utility_calls == 1
    assert (meta.claimed, meta.unclaimed) == (1, 2)
    runs = ctx.store.query(
        "SELECT purpose, meta_call, stream FROM improver_runs WHERE run_id = ? AND meta_call IS NOT NULL"
        " ORDER BY meta_call",
        (ctx.run_id,),
    )
    assert [(r["purpose"], r["meta_call"]) for r in runs] == [
        ("meta_call", 1),
        ("speculative", 2),
        ("speculative", 3),
    ]
    assert runs[1]["stream"].endswith("/meta2/parity_noise/r0")
    # each candidate (a seed improver) made one model call: counted in show, --max-calls, --max-cost
    assert ctx.store.speculative_usage(ctx.run_id) == {"improver_runs": 2, "model_calls": 2, "requests": 2}
    total = ctx.store.query("SELECT COUNT(*) AS n FROM model_calls WHERE run_id = ?", (ctx.run_id,))[0]["n"]
    assert total == 1 + 3  # the improver's own call, then one per evaluated candidate
    assert ctx.control.limiter.calls == total


def test_without_speculation_only_what_is_asked_for_is_evaluated(make_context, write_script):
    ctx = make_context(write_script(MODEL), samples=3, calls=1)
    outcome, meta = _self_improve(ctx, FIRST_ONLY, speculate=False)
    assert outcome.ok and (meta.claimed, meta.unclaimed) == (0, 0)
    assert ctx.store.speculative_usage(ctx.run_id)["improver_runs"] == 0
    assert ctx.control.limiter.calls == 2


def test_speculate_is_an_execution_setting_that_may_change_on_resume(tmp_path):
    assert "speculate" in RESUMABLE_SETTINGS and "speculate" not in COMPUTING_SETTINGS
    shown = run_cli("run", "--model", f"script:{EXAMPLE_MODEL}", "--speculate", "--plan", "--json", "-T", "1")
    assert shown.returncode == 0, shown.stderr


# Asks for candidates, then spends its whole utility budget on other code than it received.
OTHER_CODE = """from helpers import extract_code

def improve_algorithm(initial_solution, utility, language_model):
    answers = language_model.batch_prompt("expert", ["improve:\\n" + initial_solution] * 3)
    candidates = [c for c in extract_code(answers) if c]
    for i in range(utility.budget):
        utility(candidates[i % len(candidates)] + f"\\n# variant {i}\\n")
    return candidates[0]
"""


def test_the_plan_bounds_speculations_that_no_call_claims(make_context, write_script):
    from selftaught.plan import Planner

    ctx = make_context(write_script(MODEL), samples=3, calls=1, speculate=True)
    outcome, meta = _self_improve(ctx, OTHER_CODE, speculate=True)
    budget = ctx.config.meta_utility_budget
    assert outcome.ok and outcome.utility_calls == budget
    assert (meta.claimed, meta.unclaimed) == (0, 3)
    recorded = ctx.store.query(
        "SELECT COUNT(*) AS n FROM improver_runs WHERE run_id = ? AND meta_call IS NOT NULL", (ctx.run_id,)
    )[0]["n"]
    assert recorded == budget + 3  # more evaluations than the budget: each one counted
    planner = Planner(ctx.config, ctx.tasks)
    assert planner.meta_evaluations() == 2 * budget >= recorded
    bound = planner.self_improvement(seed_improver_source())
    improver_runs = ctx.store.query("SELECT COUNT(*) AS n FROM improver_runs WHERE run_id = ?", (ctx.run_id,))
    requests = ctx.store.query("SELECT COUNT(*) AS n FROM model_calls WHERE run_id = ?", (ctx.run_id,))
    assert improver_runs[0]["n"] <= bound.improver_runs and requests[0]["n"] <= bound.requests
