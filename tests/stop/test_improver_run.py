"""Improvers run in children; their budgets are counted on the trusted side."""

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


def _run(ctx, improver, timeout_s=20):
    task = ctx.tasks[0]
    scope = ctx.start_improver_run(Scope(iteration=0), "test", improver, "test", task=task.name, repeat=0)
    return run_improver(
        ctx, improver, task.seed_solution(), TaskUtility(ctx, task), scope, timeout_s=timeout_s
    )


def test_seed_improver_returns_the_best_candidate(make_context, write_script):
    from selftaught.stop.seed import seed_improver_source

    ctx = make_context(write_script(ALWAYS_GOOD))
    outcome = _run(ctx, seed_improver_source())
    assert outcome.ok and "itertools.product" in outcome.solution
    assert outcome.model_calls == 1 and outcome.utility_calls == 3


def test_model_calls_past_the_budget_stop_the_improver_and_fail_its_run(make_context, write_script):
    ctx = make_context(write_script(ALWAYS_GOOD), calls=2)
    greedy = """
def improve_algorithm(initial_solution, utility, language_model):
    answers = []
    while True:  # ignores its budget, and would loop forever after the refusal
        try:
            answers += language_model.prompt("expert", "improve", n_responses=1)
        except Exception:
            pass
"""
    outcome = _run(ctx, greedy)
    assert not outcome.ok and outcome.error_kind == "flood"  # the refusal loop hits the cap
    assert outcome.model_calls == 2
    assert (
        ctx.store.query("SELECT COUNT(*) AS n FROM model_calls WHERE run_id = ?", (ctx.run_id,))[0]["n"] == 2
    )
    kinds = [r["kind"] for r in ctx.store.query("SELECT kind FROM events WHERE run_id = ?", (ctx.run_id,))]
    assert "budget_exceeded" in kinds


def test_escape_attempts_on_the_proxies_change_nothing_and_are_recorded(make_context, write_script):
    ctx = make_context(write_script(ALWAYS_GOOD), calls=1, samples=2)
    cheat = """
def improve_algorithm(initial_solution, utility, language_model):
    language_model.budget = 1000
    language_model.max_responses_per_call = 1000
    utility.budget = 1000
    scores = []
    for _ in range(ctx_calls := 10):
        utility.uses = 0
        scores.append(utility(initial_solution, use_sandbox=False))
    try:
        language_model.prompt("e", "m", n_responses=5)
    except Exception as exc:
        refused = str(exc)
    return initial_solution + f"\\n# {scores} {refused!r}\\n"
"""
    outcome = _run(ctx, cheat)
    assert outcome.ok, outcome.error
    scores_line = outcome.solution.rsplit("# ", 1)[1]
    assert "at most 2 per call" in scores_line
    assert outcome.utility_calls == 10 and outcome.model_calls == 0
    # budget is 2 * 1 + 1 = 3 utility calls: the rest score 0 whatever `uses` says
    scores = json.loads(scores_line.split("] ")[0] + "]")
    assert all(s > 0 for s in scores[:3]) and scores[3:] == [0.0] * 7
    events = ctx.store.query("SELECT kind, detail_json FROM events WHERE run_id = ?", (ctx.run_id,))
    assert any(e["kind"] == "utility_extra_arguments" and "use_sandbox" in e["detail_json"] for e in events)


def test_improver_that_raises_or_returns_nothing_fails(make_context, write_script):
    ctx = make_context(write_script(ALWAYS_GOOD))
    raising = "def improve_algorithm(s, u, m):\n    raise RuntimeError('boom')\n"
    outcome = _run(ctx, raising)
    assert not outcome.ok and outcome.error_kind == "exception" and "boom" in outcome.error
    for body in ("return None", "return ''", "return 42"):
        outcome = _run(ctx, f"def improve_algorithm(s, u, m):\n    {body}\n")
        assert not outcome.ok and outcome.error_kind in {"bad_result", "empty"}


def test_improver_that_loops_forever_is_killed_at_its_timeout(make_context, write_script):
    ctx = make_context(write_script(ALWAYS_GOOD))
    outcome = _run(ctx, "def improve_algorithm(s, u, m):\n    while True:\n        pass\n", timeout_s=1.0)
    assert not outcome.ok and outcome.error_kind == "timeout"
    assert outcome.elapsed_s < 5


PAPER_STYLE = """
from helpers import extract_code

def improve_algorithm(initial_solution, utility, language_model):
    best, best_score = initial_solution, utility(initial_solution)
    for _ in range(100):  # more calls than the budget: the refusal ends the loop, as in the paper
        try:
            answers = language_model.prompt("expert", "improve " + best, n_responses=1)
        except Exception:
            return best
        for code in extract_code(answers):
            if code and utility(code) > best_score:
                best, best_score = code, utility(code)
    return best
"""


def test_a_paper_style_improver_catches_the_budget_error_and_scores_above_zero(make_context, write_script):
    from selftaught.tasks.scoring import score_solution

    ctx = make_context(write_script(ALWAYS_GOOD), calls=2, samples=1)
    outcome = _run(ctx, PAPER_STYLE)
    assert outcome.ok, outcome.error
    assert outcome.model_calls == 2 and "itertools.product" in outcome.solution
    task = ctx.tasks[0]
    assert score_solution(task, outcome.solution, "val", ctx.executor.pool).score > 0
    events = ctx.store.query("SELECT kind, detail_json FROM events WHERE run_id = ?", (ctx.run_id,))
    refusals = [json.loads(e["detail_json"]) for e in events if e["kind"] == "budget_exceeded"]
    by_resource = {r["resource"]: r["refused_calls"] for r in refusals}
    assert len(refusals) == len(by_resource) and by_resource["language_model"] == 1  # one event each


def test_a_tight_loop_of_refused_calls_is_cut_short_and_recorded_once(make_context, write_script):
    ctx = make_context(write_script(ALWAYS_GOOD), calls=1)
    looping = """
def improve_algorithm(initial_solution, utility, language_model):
    while True:
        try:
            language_model.prompt("e", "m")
        except Exception:
            pass
"""
    outcome = _run(ctx, looping)
    assert not outcome.ok and outcome.error_kind == "flood"
    events = ctx.store.query("SELECT kind, detail_json FROM events WHERE run_id = ?", (ctx.run_id,))
    refusals = [json.loads(e["detail_json"]) for e in events if e["kind"] == "budget_exceeded"]
    assert len(refusals) == 1 and refusals[0]["refused_calls"] == 1000 and refusals[0]["aborted"]


def test_odd_model_arguments_raise_inside_the_improver(make_context, write_script):
    ctx = make_context(write_script(ALWAYS_GOOD), calls=2)
    odd = """
def improve_algorithm(initial_solution, utility, language_model):
    errors = []
    for temperature in (10**400, "nan", float("nan"), -1, 3):
        try:
            language_model.prompt("e", "m", 1, temperature)
        except ValueError as exc:
            errors.append(type(exc).__name__)
    for n in (0, 1.5, "2", 10**400):
        try:
            language_model.prompt("e", "m", n)
        except ValueError as exc:
            errors.append(type(exc).__name__)
    return initial_solution + "\\n# " + ",".join(errors) + "\\n"
"""
    outcome = _run(ctx, odd)
    assert outcome.ok, outcome.error
    assert outcome.solution.rsplit("# ", 1)[1].strip().split(",") == ["SandboxRequestError"] * 9
    assert outcome.model_calls == 0


# -- the request handler, fuzzed with whatever a child might send -------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from selftaught.inside.messages import parse_child_message  # noqa: E402
from selftaught.models.base import ModelResponse  # noqa: E402
from selftaught.models.facade import LanguageModel  # noqa: E402
from selftaught.sandbox.child_handle import RequestAnswer  # noqa: E402
from selftaught.sandbox.errors import ProtocolError  # noqa: E402
from selftaught.stop.improver_run import _RequestServer  # noqa: E402


class _Echo:
    identity = "echo"

    def complete(self, request):
        return ModelResponse([request.user] * request.n, self.identity, 1, 1)


class _FakeContext:
    def model_handle(self, scope):
        return LanguageModel(_Echo(), budget=2, max_responses_per_call=3)

    def event(self, *args):
        pass


class _FakeUtility:
    str = "shown"
    budget = 2

    def score(self, code, scope):
        return 0.5

    def restart(self):
        pass

    def prefetch(self, answers, scope=None):
        pass

    def finish(self, scope=None, wait=True):
        pass


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
fields = st.sampled_from(
    ["expertise", "message", "messages", "n_responses", "temperature", "code", "extra_args", "kwargs", "kind"]
)
requests = st.builds(
    lambda op, body: {"type": "request", "op": op, **body},
    st.sampled_from(["lm.prompt", "lm.batch_prompt", "utility", "event", "nope"]),
    st.dictionaries(fields, values, max_size=5),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(requests, min_size=1, max_size=6))
def test_fuzz_requests_get_an_answer_or_a_protocol_error(batch):
    server = _RequestServer(_FakeContext(), _FakeUtility(), scope=None, source="src")
    for message in batch:
        try:
            request = parse_child_message(message)
        except ProtocolError:
            continue
        assert isinstance(server(request), RequestAnswer)
    assert server.model.uses <= 2
