"""A small OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

It answers with a `respond(system, user, temperature, sample)` function (the same
contract as `script:` models), after an optional fixed delay, and injects faults on a
schedule keyed by request number: 429 with Retry-After, 500, 503, a hung response, a
reset connection, malformed JSON, empty choices, empty content, and a 401 whose body
echoes the request's `Authorization` header whole (`401_echo`, as some proxies do) or
masked the way OpenAI masks a key (`401_masked`: prefix, stars, suffix). It logs every request
(the `X-Selftaught-Request` key, n, fault, whether it was answered) so tests can check
that no answered work was requested again. A hook called on each request may replace its fault
(a test uses it to kill the client mid-call). It only ever listens on the loopback address.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[str, str, float, int], str]
FAULTS = (
    "429",
    "500",
    "503",
    "hang",
    "reset",
    "malformed",
    "empty_choices",
    "empty_content",
    "401_echo",
    "401_masked",
)
MODEL_NAME = "fake-model-2026-01-01"


@dataclass
class LoggedRequest:
    number: int
    key: str | None
    n: int
    user: str
    fault: str | None
    answered: bool = False
    completion_tokens: int = 0


class FakeOpenAIServer:
    """Start with `with FakeOpenAIServer(respond) as server:`; `server.base_url` is the endpoint."""

    def __init__(
        self,
        respond: Responder,
        faults: dict[int, str] | None = None,
        delay_s: float = 0.0,
        supports_n: bool = True,
        hang_s: float = 5.0,
        on_request: Callable[[LoggedRequest], str | None] | None = None,
    ) -> None:
        self.respond = respond
        self.faults = dict(faults or {})
        self.delay_s = delay_s
        self.supports_n = supports_n
        self.hang_s = hang_s
        self.on_request = on_request
        self.log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answered(self) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.log if r.answered]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as two writes: without TCP_NODELAY the body waits for the
            # client's delayed ACK (40 ms on a reused connection), which no real server adds
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                messages = body.get("messages", [])
                system = next((m["content"] for m in messages if m.get("role") == "system"), "")
                user = next((m["content"] for m in messages if m.get("role") == "user"), "")
                n = int(body.get("n") or 1)
                with server._lock:
                    number = len(server.log) + 1
                    entry = LoggedRequest(
                        number, self.headers.get("X-Selftaught-Request"), n, user, server.faults.get(number)
                    )
                    server.log.append(entry)
                if server.on_request is not None:
                    override = server.on_request(entry)  # a hook may turn this request into a fault
                    if override:
                        entry.fault = override
                if server.delay_s:
                    time.sleep(server.delay_s)
                fault = entry.fault
                if fault in ("429", "500", "503"):
                    headers = {"Retry-After": "0.05"} if fault == "429" else {"retry-after-ms": "10"}
                    error = json.dumps({"error": {"message": f"injected {fault}", "type": "server_error"}})
                    self._send(int(fault), error.encode(), headers)
                    return
                if fault in ("401_echo", "401_masked"):
                    self._send(401, _unauthorized_body(self.headers.get("Authorization", ""), fault))
                    return
                if fault == "hang":
                    time.sleep(server.hang_s)
                    self.close_connection = True
                    return
                if fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                if fault == "malformed":
                    self._send(200, b'{"id": "x", "choices": [ {"index": 0, "message": ')
                    return
                count = n if server.supports_n else 1
                temperature = float(body.get("temperature", 0.7))
                texts = [server.respond(system, user, temperature, i) for i in range(count)]
                if fault == "empty_content":
                    texts = ["" for _ in texts]
                choices = (
                    []
                    if fault == "empty_choices"
                    else [
                        {
                            "index": i,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                        for i, text in enumerate(texts)
                    ]
                )
                completion_tokens = sum(len(text) // 4 for text in texts) if choices else 0
                reply = {
                    "id": f"chatcmpl-{number}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": MODEL_NAME,
                    "choices": choices,
                    "usage": {
                        "prompt_tokens": len(system + user) // 4,
                        "completion_tokens": completion_tokens,
                        "total_tokens": len(system + user) // 4 + completion_tokens,
                    },
                }
                self._send(200, json.dumps(reply).encode())
                with server._lock:
                    entry.answered = fault is None
                    entry.completion_tokens = completion_tokens

        return Handler


def _unauthorized_body(authorization: str, fault: str) -> bytes:
    """A 401 body that gives the caller's credentials back, whole or OpenAI-masked."""
    key = authorization.removeprefix("Bearer ").strip()
    if fault == "401_echo":
        message = f"Unauthorized. Authorization: {authorization}; key {key} is not valid"
    else:
        masked = key[:5] + "*" * max(len(key) - 9, 0) + key[-4:]
        message = f"Incorrect API key provided: {masked}. You can find your API key at the dashboard."
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}
    return json.dumps({"error": error, "request": {"headers": {"authorization": authorization}}}).encode()
