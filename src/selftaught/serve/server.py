"""Start `selftaught serve`: open the store read-only, bind the address, run Uvicorn.

The socket is bound here, before Uvicorn starts, so that a port in use (or an address
this machine does not have) is one clear line instead of a server log.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from selftaught.errors import UserInputError
from selftaught.serve.access import is_loopback, new_token
from selftaught.serve.readonly import ReadOnlyStore


class AddressUnavailable(UserInputError):
    """The port is in use, or the host is not an address of this machine."""


@dataclass(frozen=True)
class Served:
    """Where the app listens, and the token a request needs (None on a loopback address)."""

    url: str
    token: str | None

    @property
    def open_url(self) -> str:
        return f"{self.url}?token={self.token}" if self.token else self.url


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; AddressUnavailable with one line when it cannot be had."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise AddressUnavailable(f"cannot listen on {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == 98 or "in use" in str(exc).lower():
            raise AddressUnavailable(
                f"port {port} on {host} is in use (choose another with --port)"
            ) from None
        raise AddressUnavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def serve(
    store_path: Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    on_ready: Callable[[Served], None] = lambda served: None,
) -> None:
    """Serve the store until interrupted. Off loopback a token is always required (made if not given)."""
    try:
        import uvicorn

        from selftaught.serve.app import create_app
    except ImportError as exc:
        from selftaught.errors import MissingOptionalDependency

        raise MissingOptionalDependency(
            f"selftaught serve needs the 'serve' extra ({exc.name} is missing): "
            "pip install 'selftaught[serve]'"
        ) from None
    store = ReadOnlyStore.open(store_path)
    if not is_loopback(host):
        token = token or new_token()
    sock = bind(host, port)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    served = Served(f"http://{shown}:{bound_port}/", token)
    config = uvicorn.Config(create_app(store, token), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    on_ready(served)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        store.close()
