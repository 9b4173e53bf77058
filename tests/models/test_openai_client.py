"""The OpenAI-compatible client against a real HTTP server on 127.0.0.1 that injects faults."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from tests.conftest import EXAMPLE_MODEL, load_respond, run_cli

from selftaught.models.base import ModelRequest
from selftaught.models.openai_model import OpenAIModel, RetryPolicy
from selftaught.testing.fake_openai import MODEL_NAME, FakeOpenAIServer

FAST_RETRY = RetryPolicy(max_retries=2, malformed_attempts=3, malformed_delay_s=0.01, request_timeout_s=1.0)


def _echo(system, user, temperature, sample):
    return f"answer {sample} to {user}"


def test_n_samples_use_the_endpoint_n_or_fan_out():
    with FakeOpenAIServer(_echo) as server:
        model = OpenAIModel("m", "sk-test", server.base_url, retry=FAST_RETRY)
        try:
            response = model.complete(ModelRequest("s", "u", n=3))
        finally:
            model.close()
        assert response.completions == ["answer 0 to u", "answer 1 to u", "answer 2 to u"]
        assert len(server.log) == 1 and response.model_identity == f"openai:{MODEL_NAME}"
    with FakeOpenAIServer(_echo, supports_n=False) as server:
        model = OpenAIModel("m", "sk-test", server.base_url, retry=FAST_RETRY)
        try:
            first = model.complete(ModelRequest("s", "u", n=3))
            second = model.complete(ModelRequest("s", "v", n=2))
        finally:
            model.close()
        assert len(first.completions) == 3 and all(first.completions)
        assert model.supports_n is False
        assert [entry.n for entry in server.log] == [3, 1, 1, 1, 1]  # learnt: later calls fan out at once
        assert second.completions == ["answer 0 to v", "answer 0 to v"]


@pytest.mark.parametrize("fault", ["429", "500", "503", "hang", "reset", "malformed", "empty_choices"])
def test_each_fault_is_retried(fault):
    with FakeOpenAIServer(_echo, faults={1: fault}, hang_s=3) as server:
        model = OpenAIModel("m", "sk-test", server.base_url, retry=FAST_RETRY)
        try:
            response = model.complete(ModelRequest("s", "u", n=2))
        finally:
            model.close()
    assert response.completions == ["answer 0 to u", "answer 1 to u"]
    assert (
        response.extra["retries"] == 1
        and response.completion_tokens == server.answered()[0].completion_tokens
    )


def test_persistent_faults_give_failed_samples_not_exceptions():
    # ours: malformed, retried; the SDK's: a 500, retried, then malformed again: our attempts are spent
    policy = RetryPolicy(max_retries=2, malformed_attempts=2, malformed_delay_s=0.01, request_timeout_s=1.0)
    with FakeOpenAIServer(_echo, faults={1: "malformed", 2: "500", 3: "malformed"}) as server:
        model = OpenAIModel("m", "sk-test", server.base_url, retry=policy)
        try:
            response = model.complete(ModelRequest("s", "u", n=2))
        finally:
            model.close()
    assert response.completions == ["", ""] and len(server.log) == 3
    assert response.extra["retries"] == 2 and "malformed" in response.extra["error"]
    with FakeOpenAIServer(_echo, faults={1: "429", 2: "429", 3: "429"}) as server:
        model = OpenAIModel("m", "sk-test", server.base_url, retry=policy)
        try:
            response = model.complete(ModelRequest("s", "u", n=1))
        finally:
            model.close()
    assert response.completions == [""] and len(server.log) == 3  # 1 + the SDK's 2 retries, none of ours
    assert response.extra["retries"] == 2 and "HTTP 429" in response.extra["error"]


def test_a_stop_run_survives_a_fault_schedule_and_records_retries_failures_and_tokens(tmp_path):
    faults = {
        2: "429",
        3: "500",
        5: "503",
        7: "hang",
        9: "reset",
        11: "malformed",
        13: "empty_choices",
        15: "empty_content",
    }
    store = tmp_path / "runs.db"
    with FakeOpenAIServer(load_respond(EXAMPLE_MODEL), faults=faults, hang_s=3) as server:
        result = run_cli(
            "run",
            "--model",
            "openai:fake",
            "--base-url",
            server.base_url,
            "-T",
            "1",
            "--n-tests",
            "2",
            "--samples",
            "3",
            "--calls",
            "2",
            "--store",
            str(store),
            "--json",
            "--request-timeout",
            "1",
            "--max-retries",
            "3",
            "--price-prompt",
            "1.5",
            "--price-completion",
            "6",
            env={**os.environ, "OPENAI_API_KEY": "sk-test"},
        )
        answered = server.answered()
        log = list(server.log)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["status"] == "finished" and [it["status"] for it in payload["iterations"]] == [
        "seed",
        "improved",
    ]
    db = sqlite3.connect(store)
    rows = db.execute(
        "SELECT n, responses_json, retries, failed_samples, completion_tokens, model_identity, "
        "cached_samples FROM model_calls"
    ).fetchall()
    assert sum(r[2] for r in rows) >= 6  # 429, 500, 503, hang, reset, malformed, empty choices were retried
    assert sum(r[3] for r in rows) >= 1  # the empty-content answer counts as failed samples
    assert {r[5] for r in rows if r[6] < r[0]} == {f"openai:{MODEL_NAME}"}
    for n, responses, *_ in rows:
        assert len(json.loads(responses)) == n
    # no sample counted twice: the tokens recorded are exactly those the server answered with
    answered_tokens = sum(r.completion_tokens for r in log if r.fault == "empty_content") + sum(
        r.completion_tokens for r in answered
    )
    assert sum(r[4] or 0 for r in rows) == answered_tokens
    shown = json.loads(run_cli("show", payload["run_id"], "--store", str(store), "--json").stdout)
    total = shown["usage"]["total"]
    assert total["retries"] == sum(r[2] for r in rows) and total["completion_tokens"] == answered_tokens
    assert total["cost_usd"] == pytest.approx((total["prompt_tokens"] * 1.5 + answered_tokens * 6) / 1e6)
    assert shown["served_models"] == [f"openai:{MODEL_NAME}"]
