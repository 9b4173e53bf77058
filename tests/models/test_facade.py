import pytest

from selftaught.models.base import ModelRequest, ModelResponse
from selftaught.models.facade import BudgetExceeded, LanguageModel


class CountingBackend:
    identity = "counting"

    def __init__(self):
        self.requests: list[ModelRequest] = []

    def complete(self, request):
        self.requests.append(request)
        return ModelResponse([f"{request.user}#{i}" for i in range(request.n)], self.identity, 3, 5)

    def close(self):
        pass


def test_batch_prompt_sends_identical_messages_as_one_request_with_n_samples():
    backend = CountingBackend()
    model = LanguageModel(backend, budget=4, max_responses_per_call=6)
    answers = model.batch_prompt("expert", ["a", "a", "b", "a"])
    assert answers == ["a#0", "a#1", "b#0", "a#2"]
    assert [(r.user, r.n) for r in backend.requests] == [("a", 3), ("b", 1)]
    assert model.uses == 1


def test_calls_past_the_budget_raise_a_clear_error():
    model = LanguageModel(CountingBackend(), budget=2, max_responses_per_call=2)
    model.prompt("e", "m")
    model.batch_prompt("e", ["m", "m"])
    with pytest.raises(BudgetExceeded, match="budget of 2"):
        model.prompt("e", "m")
    model.budget = 99  # only the trusted side can do this; proxies hold a copy
    assert model.prompt("e", "m") == ["m#0"]


def test_more_responses_than_allowed_per_call_is_refused_without_spending():
    model = LanguageModel(CountingBackend(), budget=1, max_responses_per_call=2)
    with pytest.raises(ValueError):
        model.prompt("e", "m", n_responses=3)
    with pytest.raises(ValueError):
        model.batch_prompt("e", ["m"] * 3)
    assert model.uses == 0


def test_every_call_is_recorded():
    records = []
    model = LanguageModel(CountingBackend(), budget=3, recorder=records.append)
    model.prompt("sys", "hello", n_responses=2, temperature=0.3)
    (record,) = records
    assert record.system == "sys" and record.n == 2 and record.temperature == 0.3
    assert record.responses == ["hello#0", "hello#1"] and record.prompt_tokens == 3


def test_distinct_messages_of_one_batch_are_sent_at_the_same_time():
    import threading

    barrier = threading.Barrier(3, timeout=10)  # breaks unless three requests are in flight together

    class Waiting(CountingBackend):
        def complete(self, request):
            barrier.wait()
            return super().complete(request)

    model = LanguageModel(Waiting(), budget=1, max_responses_per_call=6)
    assert model.batch_prompt("e", ["a", "b", "a", "c"]) == ["a#0", "b#0", "a#1", "c#0"]
    assert model.uses == 1


# -- argument checks: what a hostile improver may pass through the proxy ----------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from selftaught.models.facade import InvalidModelArguments  # noqa: E402


@pytest.mark.parametrize(
    "temperature", [10**400, -1, 2.5, float("nan"), float("inf"), "nan", None, True, [1]]
)
def test_odd_temperatures_are_refused_without_spending_the_budget(temperature):
    model = LanguageModel(CountingBackend(), budget=2, max_responses_per_call=3)
    with pytest.raises(InvalidModelArguments):
        model.prompt("expert", "m", 1, temperature)
    with pytest.raises(InvalidModelArguments):
        model.batch_prompt("expert", ["m"], temperature)
    assert model.uses == 0


@pytest.mark.parametrize("n", [0, 4, -1, 1.5, "2", True, None, 10**400])
def test_odd_response_counts_are_refused(n):
    model = LanguageModel(CountingBackend(), budget=2, max_responses_per_call=3)
    with pytest.raises(InvalidModelArguments):
        model.prompt("expert", "m", n, 0.5)
    assert model.uses == 0


def test_edge_temperatures_and_int_counts_are_accepted():
    model = LanguageModel(CountingBackend(), budget=3, max_responses_per_call=3)
    assert model.prompt("e", "m", 3, 0) == ["m#0", "m#1", "m#2"]
    assert model.prompt("e", "m", 1, 2.0) == ["m#0"]


anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(anything, anything, anything, anything)
def test_fuzz_prompt_arguments_give_answers_or_typed_errors(expertise, message, n, temperature):
    model = LanguageModel(CountingBackend(), budget=1, max_responses_per_call=3)
    for call in (
        lambda: model.prompt(expertise, message, n, temperature),
        lambda: model.batch_prompt(expertise, message, temperature),
    ):
        try:
            call()
        except (InvalidModelArguments, BudgetExceeded):
            pass
