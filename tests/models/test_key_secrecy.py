"""A server that echoes the API key in its 401 gives it to no one: not the improver, the store,
the report, stdout or stderr.

The fake OpenAI-compatible server answers every request with a 401 whose body holds the
`Authorization` header (whole, or masked the OpenAI way); a real `evaluate-improver` run
uses a scripted improver that writes the error it caught into the program it returns.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from pathlib import Path

import pytest
from tests.conftest import run_cli

from selftaught.models.base import ModelRequest
from selftaught.models.hosted import HostedOpenAIModel
from selftaught.models.openai_model import ModelHTTPError, OpenAIModel, RetryPolicy
from selftaught.models.redact import REDACTED
from selftaught.testing.fake_openai import FakeOpenAIServer

FAST = RetryPolicy(max_retries=0, malformed_attempts=1, malformed_delay_s=0.01, request_timeout_s=5.0)

RECORDING_IMPROVER = '''import os


def improve_algorithm(initial_solution, utility, language_model):
    """Ask the model once and keep what the failure said (and what the environment holds)."""
    try:
        language_model.prompt("You are an expert.", "Improve this program.")
        seen = "no error"
    except Exception as exc:
        seen = f"{type(exc).__name__}: {exc}"
    env = os.environ.get("OPENAI_API_KEY")
    return initial_solution + f"\\n# seen: {seen!r}\\n# env: {env!r}\\n"
'''


def a_key() -> str:
    return "sk-proj-" + secrets.token_urlsafe(36)


def parts(key: str, width: int) -> list[str]:
    return [key[i : i + width] for i in range(len(key) - width + 1)]


def _never(*args: object) -> str:
    raise AssertionError("a 401 was expected")


@pytest.mark.parametrize("backend", [OpenAIModel, HostedOpenAIModel])  # the SDK here, and in its host
@pytest.mark.parametrize("fault", ["401_echo", "401_masked"])
def test_the_adapter_raises_status_and_type_with_a_scrubbed_message(fault, backend):
    key = a_key()
    with FakeOpenAIServer(_never, faults={1: fault}) as server:
        model = backend("m", key, server.base_url, retry=FAST)
        try:
            with pytest.raises(ModelHTTPError) as caught:
                model.complete(ModelRequest("s", "u"))
        finally:
            model.close()
    error = caught.value
    assert error.status_code == 401 and error.error_type.startswith("AuthenticationError")
    text = str(error)
    assert text.startswith("HTTP 401 AuthenticationError (invalid_request_error): ") and REDACTED in text
    assert not [p for p in parts(key.lower(), 4) if p in text.lower().replace(REDACTED.lower(), "\x00")]
    assert "*" not in text  # the mask, and with it the key's length, is gone too
    assert error.__cause__ is None and error.__suppress_context__  # the SDK's error does not travel on


def test_a_key_in_the_endpoint_address_is_scrubbed_from_connection_errors():
    key = a_key()
    model = OpenAIModel("m", "sk-other", f"http://127.0.0.1:9/v1?api-key={key}", retry=FAST)
    try:
        response = model.complete(ModelRequest("s", "u"))
    finally:
        model.close()
    assert response.completions == [""]
    assert not [p for p in parts(key, 4) if p in response.extra["error"]]


@pytest.mark.parametrize("fault", ["401_echo", "401_masked"])
def test_the_key_is_found_nowhere_after_a_run_against_an_echoing_server(tmp_path: Path, fault):
    key = a_key()
    improver = tmp_path / "recording_improver.py"
    improver.write_text(RECORDING_IMPROVER)
    store = tmp_path / "runs.db"
    env = {**os.environ, "OPENAI_API_KEY": key}
    with FakeOpenAIServer(_never, on_request=lambda request: fault) as server:
        run = run_cli(
            "evaluate-improver",
            str(improver),
            "--model",
            "openai:fake",
            "--base-url",
            server.base_url,
            "--n-tests",
            "1",
            "--max-retries",
            "0",
            "--store",
            str(store),
            "--json",
            env=env,
        )
        assert server.log, "the model was never asked"
    assert run.returncode == 0, run.stderr
    run_id = json.loads(run.stdout)["run_id"]
    report = tmp_path / "report.html"
    shown = run_cli("report", run_id, "--store", str(store), "-o", str(report), env=env)
    assert shown.returncode == 0, shown.stderr
    listed = run_cli("show", run_id, "--store", str(store), env=env)

    # what the improver saw: the status and type came through, the key did not
    with sqlite3.connect(store) as db:
        sources = [row[0] for row in db.execute("SELECT source FROM sources")]
    returned = next(source for source in sources if "# seen: '" in source)  # not the improver itself
    seen = returned.split("# seen: '", 1)[1]
    assert "HTTP 401 AuthenticationError" in seen and REDACTED in seen
    assert "# env: None" in returned
    assert not [p for p in parts(key.lower(), 4) if p in seen.lower().replace(REDACTED.lower(), "\x00")]

    # the store (with its WAL and shared-memory files), the report and everything printed
    places = {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith("runs.db")}
    places["report"] = report.read_bytes()
    for name, result in (("evaluate-improver", run), ("report", shown), ("show", listed)):
        places[f"{name} stdout"] = result.stdout.encode()
        places[f"{name} stderr"] = result.stderr.encode()
    for name, data in places.items():
        found = [p for p in parts(key, 6) if p.encode() in data]
        assert not found, f"{name} holds parts of the key: {found}"
