"""Who may read the served pages: safe by default.

On a loopback address only this machine can connect, and a request must name a loopback
host (so a web page elsewhere cannot read the store through DNS rebinding). On any other
address every request needs the token: `?token=...` once (answered with a cookie and the
same address without the token, so it stays out of the history), or an `Authorization:
Bearer` header. Only GET and HEAD are served: the app never writes, and every answer
forbids fetching anything from another host.
"""

from __future__ import annotations

import ipaddress
import secrets
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "selftaught_token"
LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}
# pages' own policy (also in a <meta>, which takes no frame-ancestors: that one is a header only)
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'"
)
POLICY = PAGE_POLICY + "; frame-ancestors 'none'"
HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
]


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine only."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _host_name(header: str) -> str:
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Access:
    """ASGI middleware: the token (when one is set), the loopback host check, GET only, safe headers."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, "read-only: only GET and HEAD are served", [(b"allow", b"GET, HEAD")])
            return
        if self.token is None:
            if not is_loopback(_host_name(headers.get("host", "localhost"))):
                await _plain(send, 421, "this server answers for a loopback host name only")
                return
        else:
            given = _given_token(scope, headers)
            if given is None or not secrets.compare_digest(given[0].encode(), self.token.encode()):
                await _plain(send, 401, "a token is needed: open the address `selftaught serve` printed")
                return
            if given[1] == "query":  # once: a cookie from now on, and the address without it
                cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
                query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
                rest = urlencode([(k, v) for k, v in query if k != "token"])
                location = scope["path"] + (f"?{rest}" if rest else "")
                extra = [(b"set-cookie", cookie.encode()), (b"location", location.encode("latin-1"))]
                await _plain(send, 303, "signed in: the page is at " + location, extra)
                return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)


def _given_token(scope: Scope, headers: dict[str, str]) -> tuple[str, str] | None:
    """The token a request carries, and where: query, header or cookie."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    if query:
        return query[0], "query"
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[len("bearer ") :].strip(), "header"
    cookies = SimpleCookie()
    try:
        cookies.load(headers.get("cookie", ""))
    except CookieError:  # a malformed cookie header is no token
        return None
    if COOKIE in cookies:
        return cookies[COOKIE].value, "cookie"
    return None


async def _plain(send: Send, status: int, text: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = (text + "\n").encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": [*headers, *HEADERS, *(extra or [])]}
    )
    await send({"type": "http.response.body", "body": body})
