"""The gateway over HTTP: an OpenAI-compatible endpoint on 127.0.0.1, for the length of an arm.

stdlib `ThreadingHTTPServer` on an ephemeral port, in a daemon thread: no extra dependency,
reachable only from this machine. Routes: `GET /v1/models`, `POST /v1/chat/completions`
(OpenAI's body; the API key is the lease token) and `POST /selftaught/v1/evaluate` (the
evaluator's call back: `{"code": ...}` -> the validation score). Bodies are capped at
MAX_BODY_BYTES; every answer is a JSON object, errors in OpenAI's shape.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from selftaught.arena.chat import error_body
from selftaught.arena.gateway import MODEL_NAME, Gateway, GatewayAnswer

MAX_BODY_BYTES = 8 * 1024 * 1024
CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
EVALUATE_PATH = "/selftaught/v1/evaluate"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: calls are recorded in the store
        pass

    def _send(self, answer: GatewayAnswer) -> None:
        data = json.dumps(answer.body, ensure_ascii=False).encode("utf-8")
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _token(self) -> str | None:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    def _body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(
                GatewayAnswer(
                    413, error_body(f"bodies up to {MAX_BODY_BYTES} bytes", "invalid_request_error")
                )
            )
            return None
        return self.rfile.read(length)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == MODELS_PATH:
            model = {"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "selftaught"}
            self._send(GatewayAnswer(200, {"object": "list", "data": [model]}))
        else:
            self._send(GatewayAnswer(404, error_body(f"no route {path[:80]!r}", "not_found")))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self._body()
        if body is None:
            return
        if path not in (CHAT_PATH, EVALUATE_PATH):
            self._send(GatewayAnswer(404, error_body(f"no route {path[:80]!r}", "not_found")))
            return
        lease = self.server.gateway.lease(self._token())
        if lease is None:
            self._send(GatewayAnswer(401, error_body("unknown or closed lease token", "invalid_api_key")))
            return
        if path == CHAT_PATH:
            self._send(lease.chat(body))
            return
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            self._send(GatewayAnswer(400, error_body("the body is not JSON", "invalid_request_error")))
            return
        code = data.get("code") if isinstance(data, dict) else None
        self._send(lease.evaluate(code))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.gateway = gateway


class GatewayServer:
    """`with GatewayServer(gateway) as server:` serves it at `server.api_base` until the block ends."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        if self._server is None:
            raise RuntimeError("the gateway is not serving")
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}"

    @property
    def api_base(self) -> str:
        return f"{self.address}/v1"

    @property
    def evaluate_url(self) -> str:
        return f"{self.address}{EVALUATE_PATH}"

    def start(self) -> GatewayServer:
        self._server = _Server(self.gateway)
        self._thread = threading.Thread(target=self._server.serve_forever, name="arena-gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
