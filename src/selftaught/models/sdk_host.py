"""The OpenAI SDK in a process of its own, answering the orchestrator's model requests.

Importing the SDK costs about half a second of one core (it builds hundreds of typed request
and response classes), and in the orchestrator that half second was on every run's path to
its first request: the orchestrator's interpreter runs one thread at a time, so nothing else
it does at start-up can overlap it. In a process of its own the SDK loads on another core
while the orchestrator reads its settings and tasks and starts its sandbox (the launcher
starts this process first thing when the command line names an `openai:` model:
selftaught.launcher), and each request's building and parsing stops taking the
orchestrator's interpreter in the busy moments after answers arrive.

This process is trusted code: it runs `OpenAIModel` exactly as the orchestrator would, for
the orchestrator alone, over two socket pairs of framed JSON (selftaught.inside.protocol),
one for requests and one for replies, so that a blocked send one way never holds the other.
The API key comes in the first message, never on a command line. Ctrl-C is the
orchestrator's to handle; this process ends when the orchestrator closes its end (or dies).

To the host:   {"op": "open", "model", "api_key", "base_url", "max_concurrency", "retry", "seed"}
               {"op": "complete", "id", "system", "user", "n", "temperature", "max_tokens", "key"}
From the host: {"op": "opened"}, or {"op": "failed", "error"}
               {"id", "completions", "model_identity", "prompt_tokens", "completion_tokens", "extra"}
               {"id", "error", "status_code", "error_type"} (status and type for an HTTP refusal)
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from selftaught.inside.protocol import ProtocolError, encode_frame, recv_message, send_frame
from selftaught.models.base import ModelRequest, ModelResponse

if TYPE_CHECKING:
    from selftaught.models.redact import Redactor

MAX_FRAME = 64 * 1024 * 1024  # one message either way: a prompt, or the n completions of a reply
SEND_S = 60.0  # for one message to go out once its peer reads at all


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = socket.socket(fileno=int(sys.argv[1]))
    replies = socket.socket(fileno=int(sys.argv[2]))
    import openai.resources.chat  # noqa: F401 - the reason for this process; the chat resource is lazy

    serve(requests, replies)
    sys.stderr.flush()
    os._exit(0)  # all answered and the client closed: skip tearing down the SDK's modules (about 0.1 s)


def serve(requests: socket.socket, replies: socket.socket) -> None:
    """Open the model the first message describes, then answer requests until the peer closes."""
    from selftaught.models.openai_model import OpenAIModel, RetryPolicy
    from selftaught.models.redact import Redactor

    sender = _Sender(replies)
    try:
        opening = recv_message(requests, max_frame=MAX_FRAME)
    except ProtocolError:
        return
    redactor = Redactor([_text(opening.get("api_key"))])
    try:
        retry = opening.get("retry") or {}
        model = OpenAIModel(
            str(opening["model"]),
            str(opening["api_key"]),
            opening.get("base_url"),
            int(opening["max_concurrency"]),
            retry=RetryPolicy(**retry),
            seed=opening.get("seed"),
        )
    except Exception as exc:  # noqa: BLE001 - said to the orchestrator, which fails its requests with it
        sender.send({"op": "failed", "error": redactor.scrub(f"{exc.__class__.__name__}: {exc}")[:500]})
        return
    sender.send({"op": "opened"})
    try:
        while True:
            try:
                message = recv_message(requests, max_frame=MAX_FRAME)
            except ProtocolError:  # the orchestrator closed its end: the run is over
                break
            ident = message.get("id")
            try:
                request = _request(message)
            except (KeyError, TypeError, ValueError) as exc:
                sender.send(
                    {"id": ident, "error": f"a request the host cannot read: {exc.__class__.__name__}"}
                )
                continue
            model.submit(request).add_done_callback(_answer(sender, ident, redactor))
    finally:
        model.close()


def _answer(sender: _Sender, ident: object, redactor: Redactor) -> Callable[[Future[ModelResponse]], None]:
    """What sends request `ident`'s reply once its answer is done."""
    return lambda done: sender.send(_reply(ident, done, redactor))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _request(message: dict[str, Any]) -> ModelRequest:
    max_tokens = message.get("max_tokens")
    key = message.get("key")
    return ModelRequest(
        system=_checked(message["system"], str),
        user=_checked(message["user"], str),
        n=_checked(message["n"], int),
        temperature=float(message["temperature"]),
        max_tokens=None if max_tokens is None else _checked(max_tokens, int),
        key=None if key is None else _checked(key, str),
    )


def _checked(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"expected {kind.__name__}")
    return value


def _reply(ident: object, done: Future[ModelResponse], redactor: Redactor) -> dict[str, Any]:
    from selftaught.models.openai_model import ModelHTTPError

    try:
        response = done.result()
    except ModelHTTPError as exc:  # already scrubbed by the model
        return {"id": ident, "error": str(exc), "status_code": exc.status_code, "error_type": exc.error_type}
    except Exception as exc:  # noqa: BLE001 - every failure is the request's, reported to its caller
        return {"id": ident, "error": redactor.scrub(f"{exc.__class__.__name__}: {exc}")[:500]}
    return {
        "id": ident,
        "completions": response.completions,
        "model_identity": response.model_identity,
        "prompt_tokens": response.prompt_tokens,
        "completion_tokens": response.completion_tokens,
        "extra": response.extra,
    }


class _Sender:
    """Replies go out one at a time, each within SEND_S; one too large for a frame says so instead."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        self._closed = False

    def send(self, message: dict[str, Any]) -> None:
        try:
            frame = encode_frame(message, MAX_FRAME)
        except (ProtocolError, ValueError, TypeError):
            frame = encode_frame({"id": message.get("id"), "error": f"an answer over {MAX_FRAME} bytes"})
        with self._lock:
            if self._closed:
                return
            try:
                send_frame(self._sock, frame, MAX_FRAME, time.monotonic() + SEND_S)
            except ProtocolError:  # the orchestrator stopped reading or left: nothing more to say
                self._closed = True


if __name__ == "__main__":
    main()
