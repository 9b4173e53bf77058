"""An improver that tries every budget escape gets no more than its budget, and each try is
recorded as a safety event naming the line of code that made it."""

from __future__ import annotations

import json

from selftaught.runs.scope import Scope
from selftaught.stop.improver_run import run_improver
from selftaught.stop.meta_utility import TaskUtility

ALWAYS_GOOD = """
from tests.conftest import GOOD_PARITY_SOLVER
def respond(system, user, temperature, sample):
    return "Idea: brute force.\\n```python\\n" + GOOD_PARITY_SOLVER + "\\n```"
"""

ESCAPING = """
def improve_algorithm(initial_solution, utility, language_model):
    language_model.budget = 10**6
    language_model.max_responses_per_call = 100
    utility.budget = 10**6
    for _ in range(6):
        utility.uses = 0
        utility(initial_solution, use_sandbox=False)
    import urllib.request
    try:
        urllib.request.urlopen("http://127.0.0.1:9/", timeout=2)
        raise AssertionError("the network was reached")
    except OSError:
        pass
    try:
        from selftaught.models.facade import LanguageModel
        raise AssertionError("the trusted model facade was imported")
    except (ImportError, OSError):  # unreadable: the package source is not on the allowlist
        pass
    bigger = type(language_model)(budget=10**6)
    for model in (language_model, bigger, language_model):
        try:
            model.prompt("expert", "improve", n_responses=1)
        except Exception:
            pass
    return initial_solution
"""


def _run(ctx, improver):
    task = ctx.tasks[0]
    scope = ctx.start_improver_run(Scope(iteration=0), "test", improver, "test", task=task.name, repeat=0)
    return run_improver(ctx, improver, task.seed_solution(), TaskUtility(ctx, task), scope, timeout_s=60)


def test_every_budget_escape_fails_and_is_recorded(make_context, write_script, strict_pool):
    ctx = make_context(write_script(ALWAYS_GOOD), calls=2, samples=1)
    ctx.executor = strict_pool
    outcome = _run(ctx, ESCAPING)

    # the third model call (the second through the new object) is past the budget of 2: refused
    # inside the improver, which catches the error and returns (the reference's semantics)
    assert outcome.ok and outcome.model_calls == 2
    # budget is samples x calls + 1 = 3 utility calls: 6 were made, all counted
    assert outcome.utility_calls == 6

    events = ctx.store.query(
        "SELECT kind, detail_json, code_hash FROM events WHERE run_id = ? ORDER BY id", (ctx.run_id,)
    )
    improver_hash = ctx.store.put_source(ESCAPING, "improver")
    details = [(e["kind"], json.loads(e["detail_json"])) for e in events]
    assert all(e["code_hash"] == improver_hash for e in events)

    def lines(kind: str, **match: str) -> set[str]:
        return {
            d.get("code", "")
            for k, d in details
            if k == kind and all(d.get(key) == value for key, value in match.items())
        }

    assert lines("budget_tamper", attribute="budget", object="language_model") == {
        "language_model.budget = 10**6"
    }
    assert lines("budget_tamper", attribute="max_responses_per_call") == {
        "language_model.max_responses_per_call = 100"
    }
    assert lines("budget_tamper", attribute="budget", object="utility") == {"utility.budget = 10**6"}
    assert lines("budget_tamper", attribute="uses") == {"utility.uses = 0"}
    assert lines("new_model_object") == {"bigger = type(language_model)(budget=10**6)"}
    assert lines("network_import", module="urllib.request") == {"import urllib.request"}
    assert "from selftaught.models.facade import LanguageModel" in lines("model_import")
    assert any(k == "utility_extra_arguments" and "use_sandbox" in json.dumps(d) for k, d in details)
    refusals = {d["resource"]: d["refused_calls"] for k, d in details if k == "budget_exceeded"}
    assert refusals == {"utility": 3, "language_model": 1}  # one event per resource, with its count


def test_scores_past_the_utility_budget_are_zero_whatever_uses_says(make_context, write_script, strict_pool):
    ctx = make_context(write_script(ALWAYS_GOOD), calls=1, samples=1)
    ctx.executor = strict_pool
    improver = """
def improve_algorithm(initial_solution, utility, language_model):
    scores = []
    for _ in range(5):
        utility.uses = 0
        utility.budget = 100
        scores.append(utility(initial_solution))
    import json
    return initial_solution + "\\n# " + json.dumps(scores) + "\\n"
"""
    outcome = _run(ctx, improver)
    assert outcome.ok, outcome.error
    scores = json.loads(outcome.solution.rsplit("# ", 1)[1])
    assert all(s > 0 for s in scores[:2]) and scores[2:] == [0.0, 0.0, 0.0]  # budget 1 x 1 + 1 = 2


def test_a_child_cannot_flood_the_store_with_events(make_context, write_script, strict_pool):
    ctx = make_context(write_script(ALWAYS_GOOD))
    ctx.executor = strict_pool
    improver = """
def improve_algorithm(initial_solution, utility, language_model):
    for i in range(100_000):
        utility.uses = i
    return initial_solution
"""
    outcome = _run(ctx, improver)
    # every event counts toward the cap on requests no budget pays for: the loop ends as a flood
    assert not outcome.ok and outcome.error_kind == "flood", outcome.error
    kinds = [r["kind"] for r in ctx.store.query("SELECT kind FROM events WHERE run_id = ?", (ctx.run_id,))]
    assert 0 < kinds.count("budget_tamper") <= 50 and kinds.count("flood") == 1
