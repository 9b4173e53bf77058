"""Baseline and prompt-variant improvers run in-process against deterministic fakes.

These files are ours (not model-written), so running them here to check control flow and
budget use is fine; in experiments they run in the sandbox like every improver.
"""

from __future__ import annotations

import re
import sys
import types

import pytest

import selftaught.inside.helpers
from selftaught.analysis.circumvention import classify
from selftaught.analysis.packaged import (
    BASELINES,
    IMPROVER_FILES,
    PROMPT_VARIANTS,
    improver_source,
    judge_prompt,
)


class Refused(Exception):
    """What the fake model raises past its real budget, like the child's proxy."""


class FakeModel:
    """Answers with programs `SCORE = x`, x from a fixed sequence; refuses calls past `refuse_after`."""

    def __init__(self, budget=4, max_responses_per_call=6, refuse_after=None, with_code=True):
        self.budget = budget
        self.max_responses_per_call = max_responses_per_call
        self.refuse_after = budget if refuse_after is None else refuse_after
        self.with_code = with_code
        self.calls: list[tuple[str, str, int]] = []  # (method, message, samples)
        self.drawn = 0

    def _answers(self, n):
        answers = []
        for _ in range(n):
            self.drawn += 1
            score = (self.drawn * 37 % 100) / 100
            body = f"```python\nSCORE = {score}\n```" if self.with_code else "no code, sorry"
            answers.append(f"Idea: tweak it.\n{body}")
        return answers

    def _charge(self, method, message, n):
        if len(self.calls) >= self.refuse_after:
            raise Refused("language model call budget exceeded")
        assert 1 <= n <= self.max_responses_per_call
        self.calls.append((method, message, n))

    def prompt(self, expertise, message, n_responses=1, temperature=0.7):
        self._charge("prompt", message, n_responses)
        return self._answers(n_responses)

    def batch_prompt(self, expertise, messages, temperature=0.7):
        assert len(set(messages)) == 1
        self._charge("batch_prompt", messages[0], len(messages))
        return self._answers(len(messages))


class FakeUtility:
    """Scores `SCORE = x` programs as x; counts uses and fails the test past its budget."""

    str = "def utility(algorithm_str: str):\n    return score_of(algorithm_str)\n"

    def __init__(self, budget=25):
        self.budget = budget
        self.uses = 0
        self.seen: list[str | None] = []

    def __call__(self, solution):
        self.uses += 1
        assert self.uses <= self.budget, "utility budget exceeded"
        self.seen.append(solution)
        match = re.search(r"SCORE = ([0-9.]+)", solution or "")
        return float(match.group(1)) if match else 0.0


INITIAL = "SCORE = 0.05\n"


def load(name: str):
    sys.modules["helpers"] = selftaught.inside.helpers
    module = types.ModuleType(f"improver_{name}")
    exec(compile(improver_source(name), f"<{name}>", "exec"), module.__dict__)
    return module.improve_algorithm


def score(program: str) -> float:
    return float(re.search(r"SCORE = ([0-9.]+)", program).group(1))


@pytest.mark.parametrize("name", sorted(IMPROVER_FILES))
def test_every_shipped_improver_is_a_clean_improver(name):
    source = improver_source(name)
    assert "from helpers import extract_code" in source
    assert "def improve_algorithm(initial_solution, utility, language_model):" in source
    assert classify(source) == []
    assert callable(load(name))


def test_names_and_unknown_improver():
    assert set(BASELINES) | set(PROMPT_VARIANTS) == set(IMPROVER_FILES)
    with pytest.raises(KeyError, match="chain_of_thought"):
        improver_source("nope")
    assert "{improver}" in judge_prompt()


def test_chain_of_thought_makes_one_call_and_never_scores():
    model, utility = FakeModel(), FakeUtility()
    result = load("chain_of_thought")(INITIAL, utility, model)
    assert [(m, n) for m, _, n in model.calls] == [("prompt", 1)]
    assert utility.uses == 0
    assert result == "SCORE = 0.37"
    assert INITIAL in model.calls[0][1] and FakeUtility.str in model.calls[0][1]
    assert load("chain_of_thought")(INITIAL, FakeUtility(), FakeModel(with_code=False)) == ""


def test_greedy_uses_every_call_keeps_the_best_and_feeds_it_back():
    model, utility = FakeModel(), FakeUtility(budget=25)
    result = load("greedy_iterative")(INITIAL, utility, model)
    assert [n for _, _, n in model.calls] == [6, 6, 6, 6]
    assert utility.uses == 25  # the start program, then 4 x 6 rewrites
    scored = [score(s) for s in utility.seen]
    assert score(result) == max(scored)
    # each round shows the best program of the rounds before it
    for round_index in range(1, 4):
        best_before = max(scored[: 1 + 6 * round_index])
        assert f"SCORE = {best_before}" in model.calls[round_index][1]


def test_greedy_stops_before_the_utility_budget_runs_out():
    model, utility = FakeModel(), FakeUtility(budget=10)
    load("greedy_iterative")(INITIAL, utility, model)
    assert [n for _, _, n in model.calls] == [6, 3]
    assert utility.uses == 10


def test_greedy_keeps_its_best_when_the_model_refuses_a_call():
    model, utility = FakeModel(budget=4, refuse_after=2), FakeUtility()
    result = load("greedy_iterative")(INITIAL, utility, model)
    assert len(model.calls) == 2 and utility.uses == 13
    assert score(result) == max(score(s) for s in utility.seen)


def test_greedy_returns_the_start_program_when_nothing_beats_it():
    model = FakeModel(with_code=False)
    assert load("greedy_iterative")(INITIAL, FakeUtility(), model) == INITIAL
    assert len(model.calls) == 4


def test_best_of_n_draws_all_samples_in_the_fewest_calls():
    model, utility = FakeModel(), FakeUtility(budget=25)
    result = load("best_of_n")(INITIAL, utility, model)
    assert [n for _, _, n in model.calls] == [6, 6, 6, 6]
    assert len({message for _, message, _ in model.calls}) == 1  # no feedback between calls
    assert utility.uses == 24 and INITIAL not in utility.seen
    assert score(result) == max(score(s) for s in utility.seen)
    small = FakeModel()
    load("best_of_n")(INITIAL, FakeUtility(budget=10), small)
    assert [n for _, _, n in small.calls] == [6, 4]
    assert load("best_of_n")(INITIAL, FakeUtility(), FakeModel(with_code=False)) == INITIAL
    refusing = FakeModel(refuse_after=1)
    assert score(load("best_of_n")(INITIAL, FakeUtility(), refusing)) > 0
    assert len(refusing.calls) == 1


@pytest.mark.parametrize("name", PROMPT_VARIANTS)
def test_prompt_variants_make_the_seeds_single_batched_call(name):
    model, utility = FakeModel(), FakeUtility()
    result = load(name)(INITIAL, utility, model)
    assert [(m, n) for m, _, n in model.calls] == [("batch_prompt", 6)]
    assert utility.uses == 6
    assert score(result) == max(score(s) for s in utility.seen)


def test_prompt_variants_differ_only_in_wording():
    messages = {}
    for name in PROMPT_VARIANTS:
        model = FakeModel()
        load(name)(INITIAL, FakeUtility(), model)
        messages[name] = model.calls[0][1]
    assert len(set(messages.values())) == 3
    assert len(messages["seed_terse"]) < len(messages["seed"]) < len(messages["seed_warning"])
    assert "use_sandbox=True" in messages["seed_warning"]
    assert "use_sandbox" not in messages["seed"]
    assert messages["seed_warning"].startswith(messages["seed"].split("Begin by")[0])
