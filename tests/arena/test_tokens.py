"""Tokens and cost per arm, from a model that reports usage (the fake OpenAI-compatible server)."""

from __future__ import annotations

import json
import os

from selftaught.testing.fake_openai import FakeOpenAIServer
from tests.arena.conftest import HAVE_OPENEVOLVE, HERE
from tests.conftest import load_respond, run_cli


def test_each_arm_reports_the_tokens_and_cost_it_used_also_when_reprinted(tmp_path):
    arms = "seed,openevolve" if HAVE_OPENEVOLVE else "seed,greedy"
    store = tmp_path / "t.db"
    with FakeOpenAIServer(load_respond(HERE / "arena_model.py")) as fake:
        args = (
            "experiment", "arena", "--arms", arms, "--model", "openai:fake", "--base-url", fake.base_url,
            "--tasks", "parity_noise", "--calls", "2", "--samples", "1", "--n-tests", "1",
            "--price-prompt", "1", "--price-completion", "2", "--store", str(store), "--json",
        )  # fmt: skip
        env = {**os.environ, "OPENAI_API_KEY": "sk-test"}
        first = run_cli(*args, env=env)
        assert first.returncode == 0, first.stderr
        data = json.loads(first.stdout.strip().splitlines()[-1])
        asked = len(fake.log)
        again = run_cli(*args, env=env)
        assert again.returncode == 0 and len(fake.log) == asked  # reprinted from the store
    assert json.loads(again.stdout.strip().splitlines()[-1]) == data
    assert asked == sum(row["calls"] for row in data["rows"]) == 4
    for row in data["rows"]:
        assert row["prompt_tokens"] > 0 and row["completion_tokens"] > 0
        expected = (row["prompt_tokens"] * 1 + row["completion_tokens"] * 2) / 1e6
        assert abs(row["cost"] - expected) < 1e-12
