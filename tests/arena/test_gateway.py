"""The budgeted gateway over real HTTP, spoken to with the openai SDK."""

from __future__ import annotations

import json
import urllib.request

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selftaught.arena.budget import ArmBudget
from selftaught.arena.chat import ChatRequestError, parse_chat_request
from selftaught.arena.gateway import Gateway
from selftaught.arena.server import GatewayServer
from selftaught.runs.scope import Scope
from tests.arena.conftest import ARENA_MODEL

openai = pytest.importorskip("openai")


def _ask(client, text: str, n: int = 1):
    return client.chat.completions.create(
        model="any",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": text}],
        n=n,
    )


def test_gateway_counts_samples_refuses_past_budget_records_and_caches(make_context):
    ctx = make_context(ARENA_MODEL, tasks=["parity_noise"])
    task = ctx.tasks[0]
    budget = ArmBudget(calls=2, samples_per_call=2)  # 4 samples
    scope = ctx.start_improver_run(Scope(stream="arena"), "arena:test", "settings", "gw/r0")
    with GatewayServer(Gateway()) as server:
        lease = server.gateway.open_lease(ctx, task, scope, budget)
        client = openai.OpenAI(base_url=server.api_base, api_key=lease.token, max_retries=0)
        assert [m.id for m in client.models.list().data] == ["selftaught-gateway"]
        first = _ask(client, "improve this parity solver", n=2)
        assert len(first.choices) == 2 and "MAX_WEIGHT = 1" in first.choices[0].message.content
        _ask(client, "improve this parity solver")
        _ask(client, "something else")
        with pytest.raises(openai.RateLimitError) as refused:
            _ask(client, "one too many")
        assert refused.value.status_code == 429
        assert "arm budget exhausted: 4 of 4 samples used in 3 requests" in str(refused.value)
        assert lease.usage.requests == 3 and lease.usage.samples == 4 and lease.usage.refused == 1
        with pytest.raises(openai.BadRequestError):  # more samples per request than the arm's calls carry
            _ask(client, "x", n=3)
        with pytest.raises(openai.AuthenticationError):
            _ask(openai.OpenAI(base_url=server.api_base, api_key="st-wrong", max_retries=0), "x")
        # validation scoring through the same lease
        request = urllib.request.Request(
            server.evaluate_url,
            data=json.dumps({"code": task.seed_solution()}).encode(),
            headers={"Authorization": f"Bearer {lease.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request) as answer:
            scored = json.loads(answer.read())
        assert 0.0 < scored["score"] < 1.0 and scored["uses"] == 1
        server.gateway.close_lease(lease.token)

        # the same positions again (a rerun of the repeat): every sample from the response cache
        again = server.gateway.open_lease(ctx, task, scope, budget)
        client = openai.OpenAI(base_url=server.api_base, api_key=again.token, max_retries=0)
        assert _ask(client, "improve this parity solver", n=2).choices[1].message.content == (
            first.choices[1].message.content
        )
    calls = ctx.store.model_calls(ctx.run_id, scope.improver_run_id)
    assert [c.n for c in calls] == [2, 1, 1, 2]
    assert [c.cached_samples for c in calls] == [0, 0, 0, 2]
    assert all(c.stream == "arena/gw/r0" for c in calls)


@given(st.binary(max_size=300))
def test_any_body_parses_or_is_refused_with_one_reason(body):
    try:
        request = parse_chat_request(body)
    except ChatRequestError as exc:
        assert str(exc)
    else:
        assert request.n >= 1 and isinstance(request.user, str)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "role": st.sampled_from(["system", "user", "assistant", "tool", 3]),
                "content": st.text() | st.none(),
            }
        ),
        max_size=4,
    ),
    st.one_of(st.integers(-2, 9), st.none(), st.booleans(), st.text(max_size=3)),
)
def test_any_message_list_parses_or_is_refused(messages, n):
    body = json.dumps({"messages": messages, "n": n}).encode()
    try:
        request = parse_chat_request(body)
    except ChatRequestError:
        return
    assert request.n >= 1
    assert any(m["role"] in ("user", "assistant") for m in messages)
