"""The OpenAI SDK's host process: the `openai:` backend answers through it as the SDK does in
process, keeps the key off command lines, and a host that dies or misbehaves fails calls with a
ModelError, never the caller."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import children_running

from selftaught.models import host_process
from selftaught.models.base import ModelError, ModelRequest
from selftaught.models.host_process import names_openai_model, spawn_host, start_early, take_early
from selftaught.models.hosted import HostedOpenAIModel, _response, open_openai_model
from selftaught.models.openai_model import OpenAIModel, RetryPolicy
from selftaught.models.registry import ModelOptions, resolve_model
from selftaught.testing.fake_openai import FakeOpenAIServer

FAST = RetryPolicy(max_retries=0, malformed_attempts=1, malformed_delay_s=0.01, request_timeout_s=30.0)


def _numbered(system: str, user: str, temperature: float, sample: int) -> str:
    return f"{user} / sample {sample} at {temperature}"


def _both(base_url: str, key: str = "sk-test") -> tuple[HostedOpenAIModel, OpenAIModel]:
    return HostedOpenAIModel("m", key, base_url, retry=FAST), OpenAIModel("m", key, base_url, retry=FAST)


@pytest.mark.parametrize("supports_n", [True, False])
def test_a_hosted_model_answers_as_the_sdk_in_process_does(supports_n):
    request = ModelRequest("system", "improve this", n=3, temperature=0.5, max_tokens=100, key="k1")
    with FakeOpenAIServer(_numbered, supports_n=supports_n) as server:
        hosted, local = _both(server.base_url)
        try:
            got, expected = hosted.complete(request), local.complete(request)
        finally:
            hosted.close()
            local.close()
    samples = range(3) if supports_n else [0, 0, 0]  # without `n`, one single-sample request each
    assert got.completions == expected.completions == [f"improve this / sample {i} at 0.5" for i in samples]
    assert hosted.identity == local.identity == f"openai:m@{server.base_url}"
    assert (got.model_identity, got.prompt_tokens, got.completion_tokens) == (
        expected.model_identity,
        expected.prompt_tokens,
        expected.completion_tokens,
    )
    assert got.extra == expected.extra
    assert [r.key for r in server.log] == ["k1"] * len(server.log)


def test_requests_in_flight_at_once_each_get_their_own_answer():
    with FakeOpenAIServer(_numbered, delay_s=0.2) as server:
        model = HostedOpenAIModel("m", "sk-test", server.base_url, retry=FAST)
        answers: dict[int, list[str]] = {}

        def ask(i: int) -> None:
            answers[i] = model.complete(ModelRequest("s", f"request {i}")).completions

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
        finally:
            model.close()
    assert answers == {i: [f"request {i} / sample 0 at 0.7"] for i in range(12)}


def test_the_key_is_on_no_command_line():
    key = "sk-proj-" + secrets.token_urlsafe(36)
    with FakeOpenAIServer(_numbered) as server:
        model = HostedOpenAIModel("m", key, server.base_url, retry=FAST)
        try:
            model.complete(ModelRequest("s", "u"))
            with open(f"/proc/{model._host.process.pid}/cmdline", "rb") as cmdline:
                assert key.encode() not in cmdline.read()
        finally:
            model.close()


def test_a_host_that_dies_fails_the_calls_in_flight_and_later_ones_with_a_model_error():
    with FakeOpenAIServer(_numbered, delay_s=30) as server:
        model = HostedOpenAIModel("m", "sk-test", server.base_url, retry=FAST)
        outcome: list[BaseException] = []

        def ask() -> None:
            try:
                model.complete(ModelRequest("s", "u"))
            except BaseException as exc:  # noqa: BLE001 - the test looks at what it was
                outcome.append(exc)

        thread = threading.Thread(target=ask)
        thread.start()
        while not server.log:  # the request reached the server: it is in flight in the host
            time.sleep(0.01)
        os.kill(model._host.process.pid, signal.SIGKILL)
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], ModelError)
        assert "model client process exited" in str(outcome[0])
        started = time.monotonic()
        with pytest.raises(ModelError, match="exited"):
            model.complete(ModelRequest("s", "u"))
        assert time.monotonic() - started < 1
        model.close()
        model.close()  # twice is fine


def test_a_closed_model_refuses_calls():
    with FakeOpenAIServer(_numbered) as server:
        model = HostedOpenAIModel("m", "sk-test", server.base_url, retry=FAST)
        model.close()
        with pytest.raises(ModelError):
            model.complete(ModelRequest("s", "u"))
    assert model._host.process.poll() is not None


def test_the_openai_kind_is_hosted_and_falls_back_to_the_sdk_in_process(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with FakeOpenAIServer(_numbered) as server:
        backend = resolve_model("openai:m", ModelOptions(base_url=server.base_url))
        try:
            assert isinstance(backend, HostedOpenAIModel)
            assert backend.complete(ModelRequest("s", "u")).completions == ["u / sample 0 at 0.7"]
        finally:
            backend.close()

        def unavailable() -> None:
            raise OSError("no processes left")

        monkeypatch.setattr("selftaught.models.hosted.spawn_host", unavailable)
        fallback = open_openai_model("m", "sk-test", server.base_url, 4, retry=FAST, seed=None)
        try:
            assert isinstance(fallback, OpenAIModel)
            assert fallback.complete(ModelRequest("s", "u")).completions == ["u / sample 0 at 0.7"]
        finally:
            fallback.close()


def test_a_host_started_early_is_taken_once_by_the_first_backend():
    assert take_early() is None
    start_early()
    host = host_process._early
    assert host is not None
    with FakeOpenAIServer(_numbered) as server:
        model = HostedOpenAIModel("m", "sk-test", server.base_url, retry=FAST)
        try:
            assert model._host is host and take_early() is None
            assert model.complete(ModelRequest("s", "u")).completions == ["u / sample 0 at 0.7"]
        finally:
            model.close()


def test_a_host_nobody_takes_exits_when_its_sockets_close():
    host = spawn_host()
    host.close()
    assert host.process.returncode is not None


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["run", "--model", "openai:gpt-4o"], {}, True),
        (["run", "--model=openai:gpt-4o", "-T", "2"], {}, True),
        (["run", "-m", "openai:x"], {}, True),
        (["run", "-mopenai:x"], {}, True),
        (["run"], {"SELFTAUGHT_MODEL": "openai:x"}, True),
        (["run", "--model", "local"], {"SELFTAUGHT_MODEL": "openai:x"}, False),
        (["run", "--model", "script:m.py"], {}, False),
        (["run"], {}, False),
        (["run", "--model", "openai:x", "--help"], {}, False),
        (["run", "--model", "openai:x", "--plan"], {}, False),
        (["run", "--model"], {}, False),
    ],
)
def test_the_launcher_starts_a_host_only_for_a_command_line_that_names_an_openai_model(argv, env, expected):
    assert names_openai_model(argv, env) is expected


_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_replies = st.dictionaries(
    st.sampled_from(
        [
            "id",
            "error",
            "status_code",
            "error_type",
            "completions",
            "model_identity",
            "prompt_tokens",
            "extra",
        ]
    ),
    _values | st.lists(st.text(max_size=5), max_size=3),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(reply=_replies, n=st.integers(1, 3))
def test_a_reply_of_any_shape_is_an_answer_of_n_texts_or_a_model_error(reply, n):
    try:
        response = _response(reply, n, "openai:m", 0.1)
    except ModelError as exc:
        assert "\n" not in str(exc) and len(str(exc)) <= 300
        return
    assert len(response.completions) == n and all(isinstance(t, str) for t in response.completions)
    assert isinstance(response.model_identity, str) and isinstance(response.extra, dict)
    for count in (response.prompt_tokens, response.completion_tokens):
        assert count is None or (isinstance(count, int) and count >= 0)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie has exited
    except OSError:
        return True


@pytest.mark.slow
def test_a_run_started_from_the_command_line_hosts_the_sdk_and_its_host_ends_with_it(tmp_path):
    """The launcher starts the host first thing; killing the run (no close, no goodbye) ends it too."""
    env = {**os.environ, "OPENAI_API_KEY": "sk-test"}
    with FakeOpenAIServer(_numbered, delay_s=30) as server:
        run = subprocess.Popen(
            [sys.executable, "-m", "selftaught", "run", "--model", "openai:m", "--base-url", server.base_url,
             "--tasks", "parity_noise", "-T", "1", "--n-tests", "1", "--samples", "1", "--calls", "1",
             "--store", str(tmp_path / "runs.db")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not server.log and time.monotonic() < deadline:  # a request is in flight in the host
                time.sleep(0.05)
            assert server.log, "the run sent no request"
            hosts = children_running(run.pid, b"selftaught.models.sdk_host")
            assert len(hosts) == 1
        finally:
            run.kill()
            run.wait()
        deadline = time.monotonic() + 15
        while not _gone(hosts[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(hosts[0])


def test_a_host_that_never_opens_fails_calls_after_a_bounded_wait(monkeypatch):
    """A host stuck before it reads anything (here a process that only sleeps) holds no call for long."""
    import socket as socket_module

    from selftaught.models import hosted
    from selftaught.models.host_process import HostProcess

    monkeypatch.setattr(hosted, "OPEN_S", 0.5)
    monkeypatch.setattr(host_process, "CLOSE_S", 0.5)
    requests, their_requests = socket_module.socketpair()
    their_replies, replies = socket_module.socketpair()
    stuck = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    model = HostedOpenAIModel(
        "m", "sk-test", "http://127.0.0.1:9/v1", host=HostProcess(stuck, requests, replies)
    )
    started = time.monotonic()
    with pytest.raises(ModelError, match="did not start"):
        model.complete(ModelRequest("s", "u"))
    with pytest.raises(ModelError, match="did not start"):
        model.complete(ModelRequest("s", "u"))
    assert time.monotonic() - started < 5
    their_requests.close()  # what a host that dies would close
    their_replies.close()
    model.close()
    assert stuck.poll() is not None  # killed once it did not exit
