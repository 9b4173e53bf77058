"""`openai:MODEL` answered through the OpenAI SDK's host process (selftaught.models.sdk_host).

`HostedOpenAIModel` is the backend the `openai:` kind builds: the same requests, answers,
retries, scrubbed errors and identity as `OpenAIModel` in this process, with the SDK loaded
and run in a process of its own (why: see sdk_host). It takes the host the launcher started
early when there is one, else starts one. If no host can be started at all, the kind falls
back to `OpenAIModel` here (`open_openai_model`).

Every wait on the host is bounded: it opens its client within OPEN_S, a request goes out within
SEND_S, and its reply comes within the longest the SDK's retries can take (`reply_bound_s`), or
the call fails with a ModelError. Replies are decoded within the wire protocol's limits and
checked field by field; a reply that is not what was asked for fails its call, never the
caller's process. A host that exits fails the calls in flight and every later one, each with a
one-line ModelError.
"""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from selftaught.inside.protocol import ProtocolError, recv_message, send_message
from selftaught.models.base import ModelBackend, ModelError, ModelRequest, ModelResponse
from selftaught.models.defaults import MAX_CONCURRENCY
from selftaught.models.host_process import HostProcess, spawn_host, take_early
from selftaught.models.openai_model import ModelHTTPError, OpenAIModel, RetryPolicy, openai_identity
from selftaught.models.sdk_host import MAX_FRAME, SEND_S

EXTRA_S = 60.0  # on top of the SDK's own timeouts, before a reply counts as lost
EXIT_WAIT_S = 1.0  # for a host whose end closed to be seen exiting
OPEN_S = 60.0  # for a host to import the SDK and open its client (about 0.5 s on an idle core)


def reply_bound_s(retry: RetryPolicy) -> float:
    """The longest one request can take in the host: every attempt timing out, with backoffs between."""
    per_attempt = (retry.max_retries + 1) * (retry.request_timeout_s + EXTRA_S)
    backoffs = sum(retry.malformed_delay_s * 2**attempt for attempt in range(retry.malformed_attempts))
    return retry.malformed_attempts * per_attempt + backoffs


class HostedOpenAIModel:
    """A backend for one model on one OpenAI-compatible endpoint, run by a host process."""

    def __init__(
        self,
        model: str,
        api_key: str,
        base_url: str | None = None,
        max_concurrency: int = MAX_CONCURRENCY,
        *,
        retry: RetryPolicy | None = None,
        seed: int | None = None,
        host: HostProcess | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.identity = openai_identity(model, base_url)
        self.retry = retry or RetryPolicy()
        self._reply_wait_s = reply_bound_s(self.retry)
        self._host = host or take_early() or spawn_host()
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()  # the pending calls, and the failure that ends them
        self._send_lock = threading.Lock()
        self._failure: str | None = None
        self._opened = threading.Event()  # the host has imported the SDK and built its client
        self._closed = False
        opening = {
            "op": "open",
            "model": model,
            "api_key": api_key,
            "base_url": base_url,
            "max_concurrency": max_concurrency,
            "retry": {
                "max_retries": self.retry.max_retries,
                "malformed_attempts": self.retry.malformed_attempts,
                "malformed_delay_s": self.retry.malformed_delay_s,
                "request_timeout_s": self.retry.request_timeout_s,
            },
            "seed": seed,
        }
        self._reader = threading.Thread(target=self._read, name="openai-host-replies", daemon=True)
        self._reader.start()
        try:
            self._send(opening)
        except ModelError as exc:
            # the host died at once: no backend here (the caller may run the SDK in process)
            self.close()
            raise OSError(str(exc)) from None

    def wait_open(self, timeout_s: float) -> bool:
        """Whether the host opened its client (or failed to: nothing more to wait for) in `timeout_s`."""
        return self._opened.wait(timeout_s)

    # --- requests --------------------------------------------------------------------------------
    def complete(self, request: ModelRequest) -> ModelResponse:
        started = time.monotonic()
        if not self._opened.wait(OPEN_S):
            self._fail(f"the model client process did not start in {OPEN_S:.0f} s")
        future: Future[dict[str, Any]] = Future()
        with self._lock:
            if self._failure is not None:
                raise ModelError(self._failure)
            ident = next(self._ids)
            self._pending[ident] = future
        try:
            self._send(
                {
                    "op": "complete",
                    "id": ident,
                    "system": request.system,
                    "user": request.user,
                    "n": request.n,
                    "temperature": request.temperature,
                    "max_tokens": request.max_tokens,
                    "key": request.key,
                }
            )
            reply = future.result(timeout=self._reply_wait_s)
        except FutureTimeout:
            raise ModelError(
                f"the model client process gave no answer in {self._reply_wait_s:.0f} s"
            ) from None
        finally:
            with self._lock:
                self._pending.pop(ident, None)
        return _response(reply, request.n, self.identity, time.monotonic() - started)

    def _send(self, message: dict[str, Any]) -> None:
        deadline = time.monotonic() + SEND_S
        if not self._send_lock.acquire(timeout=SEND_S):
            raise ModelError("the model client process is not reading its requests")
        try:
            send_message(self._host.requests, message, MAX_FRAME, deadline)
        except ProtocolError as exc:
            self._fail(f"the model client process is not reachable: {exc}")
            raise ModelError(self._failure or str(exc)) from None
        finally:
            self._send_lock.release()

    # --- replies ---------------------------------------------------------------------------------
    def _read(self) -> None:
        """Hand each reply to the call waiting for it, until the host's end closes."""
        while True:
            try:
                message = recv_message(self._host.replies, max_frame=MAX_FRAME)
            except ProtocolError as exc:
                code = self._exit_status()
                ended = f"exited (status {code})" if code is not None else f"stopped answering ({exc})"
                self._fail("the model client process " + ("was closed" if self._closed else ended))
                return
            if message.get("op") == "opened":
                self._opened.set()
                continue
            if message.get("op") == "failed":
                self._fail(f"the model client could not start: {_line(message.get('error'))}")
                continue
            with self._lock:
                future = self._pending.get(message["id"]) if isinstance(message.get("id"), int) else None
            if future is not None and not future.done():
                future.set_result(message)

    def _exit_status(self) -> int | None:
        """The host's exit status once its end has closed (it exits as it closes), or None if it lives on."""
        try:
            return self._host.process.wait(timeout=EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            return None

    def _fail(self, reason: str) -> None:
        """End every call in flight, and every later one, with `reason` (the first reason given)."""
        self._opened.set()  # nothing more to wait for
        with self._lock:
            if self._failure is None:
                self._failure = reason
            waiting = list(self._pending.values())
        for future in waiting:
            if not future.done():
                future.set_exception(ModelError(self._failure))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._host.close()  # the host sees its requests end, closes its client and exits
        self._reader.join(timeout=5)
        self._fail("the model backend was closed")


def _response(reply: dict[str, Any], n: int, identity: str, latency_s: float) -> ModelResponse:
    """The ModelResponse a reply holds; a ModelError for anything else (a reply is checked, not trusted)."""
    error = reply.get("error")
    if error is not None:
        status, kind = reply.get("status_code"), reply.get("error_type")
        if isinstance(status, int) and not isinstance(status, bool) and isinstance(kind, str):
            raise ModelHTTPError(_line(error), status, _line(kind)) from None
        raise ModelError(_line(error))
    completions = reply.get("completions")
    if (
        not isinstance(completions, list)
        or len(completions) != n
        or not all(isinstance(text, str) for text in completions)
    ):
        raise ModelError("the model client process sent a malformed answer")
    extra = reply.get("extra")
    model_identity = reply.get("model_identity")
    return ModelResponse(
        completions=completions,
        model_identity=model_identity if isinstance(model_identity, str) else identity,
        prompt_tokens=_count(reply.get("prompt_tokens")),
        completion_tokens=_count(reply.get("completion_tokens")),
        latency_s=latency_s,
        extra=extra if isinstance(extra, dict) else {},
    )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _line(value: object) -> str:
    """A reported error's text as one line of at most 300 characters."""
    text = value if isinstance(value, str) else repr(value)
    return " ".join(text.split())[:300] or "unknown error"


def open_openai_model(
    model: str,
    api_key: str,
    base_url: str | None,
    max_concurrency: int,
    *,
    retry: RetryPolicy,
    seed: int | None,
) -> ModelBackend:
    """The `openai:` backend: hosted, or in this process where no host process can be started."""
    try:
        return HostedOpenAIModel(model, api_key, base_url, max_concurrency, retry=retry, seed=seed)
    except OSError:
        return OpenAIModel(model, api_key, base_url, max_concurrency, retry=retry, seed=seed)
