"""Framed JSON messages between the orchestrator and sandboxed children.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON.
Nothing is ever unpickled. Every send and receive on the trusted side has a deadline
(a child that stops reading cannot hold the orchestrator), and every received frame is
parsed within limits: its size, its item count (checked on the raw bytes before any
object is built, so a frame of tiny values cannot cost hundreds of megabytes), no NaN
or Infinity literals, integers within Python's digit limit. Value-level checks (depth,
finite floats, array tags) are `wire.from_wire`'s. Failures are `ProtocolError`s.

Text is made valid at this one gate. A frame is decoded as strict UTF-8 (which refuses
an encoded surrogate) and nothing else; a frame whose text holds a surrogate escape
(`\\ud800` to `\\udfff`) has every string and key of its parsed value passed through
`wire.make_text_valid`, so lone surrogates become U+FFFD before any other code sees
them. A frame without such an escape (almost all) costs one regular-expression scan.

A tailed frame (`encode_tailed_frame`: the header's top bit set, then the JSON's length, the
JSON, and raw array bytes that its array tags point into) goes only from the orchestrator to
a child (`recv_command`); the trusted side refuses one unread, as it refuses any frame over
its size limit.

Decoding memory: a frame of F bytes with N items costs at most 10 F + 200 N bytes
(parse and `from_wire` together; measured in tests/sandbox/test_wire.py on the worst
shapes), so at most about 260 MB at the 16 MiB and 500,000-item caps, where a 16 MiB
frame of tiny values cost about 800 MB before; such a frame is now refused unparsed.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple, TypeVar

from selftaught.inside.wire import (
    ALLOWED_DTYPES,
    DEFAULT_LIMITS,
    WireLimits,
    from_wire,
    make_text_valid,
    to_wire,
)
from selftaught.inside.wire_errors import (
    FrameTimeout,
    FrameTooLarge,
    MalformedFrame,
    PeerClosed,
    ProtocolError,
)

__all__ = [
    "ALLOWED_DTYPES",
    "DEFAULT_MAX_FRAME",
    "FrameReader",
    "FrameTimeout",
    "PeerClosed",
    "ProtocolError",
    "ReceivedFrame",
    "decode_frame",
    "encode_frame",
    "encode_tailed_frame",
    "from_wire",
    "item_bound",
    "recv_frame",
    "read_command",
    "recv_command",
    "recv_message",
    "send_frame",
    "send_message",
    "to_wire",
]

DEFAULT_MAX_FRAME = 16 * 1024 * 1024
MAX_INT_DIGITS = 1300  # a little over WireLimits.max_int_bits in decimal
_HEADER = struct.Struct(">I")
TAIL_FLAG = 0x8000_0000  # in a header: JSON, then raw bytes (orchestrator to child only)
_ITEM_BYTES = b",:[{"
_CHUNK = 1 << 16
# A JSON escape of a surrogate code point (a valid pair is joined by the parser, a lone one is kept).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def encode_frame(message: dict[str, Any], max_frame: int = DEFAULT_MAX_FRAME) -> bytes:
    """Serialize one message to a frame; raise FrameTooLarge if it exceeds `max_frame`."""
    payload = json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if len(payload) > max_frame:
        raise FrameTooLarge(f"message of {len(payload)} bytes exceeds the {max_frame}-byte limit")
    return _HEADER.pack(len(payload)) + payload


def encode_tailed_frame(message: dict[str, Any], tail: bytes, max_frame: int = DEFAULT_MAX_FRAME) -> bytes:
    """A frame of `message` followed by `tail`, the raw bytes its array tags point into
    (`wire.to_wire_tailed`); raise FrameTooLarge if the whole exceeds `max_frame`."""
    payload = json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8")
    size = _HEADER.size + len(payload) + len(tail)
    if size > max_frame:
        raise FrameTooLarge(f"message of {size} bytes exceeds the {max_frame}-byte limit")
    return _HEADER.pack(TAIL_FLAG | size) + _HEADER.pack(len(payload)) + payload + tail


def _reject_constant(name: str) -> Any:
    raise MalformedFrame(f"{name} is not valid JSON")


def _parse_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise MalformedFrame(f"integer of {len(text)} digits")
    return int(text)


class ReceivedFrame(NamedTuple):
    """One frame from a peer: its message, its payload's size and a bound on its item count."""

    message: dict[str, Any]
    size: int
    items: int


def item_bound(payload: bytes | bytearray) -> int:
    """An upper bound on the values and keys a payload holds, counted without parsing it."""
    # Every value but the first follows one of these bytes (strings holding them only make
    # it an overestimate). Deleting them counts all four in one pass, a chunk at a time so
    # that a large frame is not copied whole.
    view = memoryview(payload)
    kept = sum(
        len(bytes(view[i : i + _CHUNK]).translate(None, _ITEM_BYTES)) for i in range(0, len(view), _CHUNK)
    )
    return 1 + len(payload) - kept


def decode_frame(payload: bytes | bytearray, limits: WireLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Parse one frame's payload into a JSON object, within `limits`; raises only ProtocolError."""
    return _decode(payload, item_bound(payload), limits)


def _decode(payload: bytes | bytearray, upper: int, limits: WireLimits) -> dict[str, Any]:
    # the item bound is checked before any object is built
    if upper > limits.max_items:
        raise FrameTooLarge(f"frame may hold more than {limits.max_items} items")
    # Python's own limit on int-from-str digits stops quadratic parses, unless someone lifted it.
    # A payload no longer than MAX_INT_DIGITS cannot hold a longer integer: no hook to call per int.
    digits = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0
    lifted = digits == 0 or digits > MAX_INT_DIGITS
    hook = _parse_int if lifted and len(payload) > MAX_INT_DIGITS else None
    try:
        # Strict UTF-8 here: json.loads on bytes would also take UTF-16/32 and let encoded
        # surrogates through ("surrogatepass").
        text = payload.decode("utf-8")
        message = json.loads(text, parse_constant=_reject_constant, parse_int=hook)
        if _SURROGATE_ESCAPE.search(text):
            make_text_valid(message)
    except ProtocolError:
        raise
    except Exception as exc:  # JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError
        raise MalformedFrame(f"malformed message: {exc.__class__.__name__}") from exc
    if not isinstance(message, dict):
        raise MalformedFrame("message is not a JSON object")
    return message


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise FrameTimeout("deadline passed")
    return left


def send_message(
    sock: socket.socket,
    message: dict[str, Any],
    max_frame: int = DEFAULT_MAX_FRAME,
    deadline: float | None = None,
) -> None:
    """Send one framed message, giving up at `deadline` (a time.monotonic() value; None waits)."""
    send_frame(sock, encode_frame(message, max_frame), max_frame, deadline)


def send_frame(
    sock: socket.socket, frame: bytes, max_frame: int = DEFAULT_MAX_FRAME, deadline: float | None = None
) -> None:
    """Send a frame made by `encode_frame` (encoded once, sent many times), as `send_message` does."""
    if len(frame) - _HEADER.size > max_frame:
        raise FrameTooLarge(
            f"message of {len(frame) - _HEADER.size} bytes exceeds the {max_frame}-byte limit"
        )
    try:
        sock.settimeout(_remaining(deadline))
        sock.sendall(frame)  # with a timeout set, the timeout bounds the whole sendall
    except TimeoutError as exc:
        raise FrameTimeout("timed out sending a message (the peer stopped reading)") from exc
    except OSError as exc:
        raise PeerClosed(f"connection lost: {exc}") from exc


_T = TypeVar("_T")


def _recv_by(sock: socket.socket, deadline: float | None, receive: Callable[[], _T]) -> _T:
    """One receive on `sock` before `deadline`, its failures as the protocol's errors."""
    try:
        sock.settimeout(_remaining(deadline))
        return receive()
    except TimeoutError as exc:
        raise FrameTimeout("timed out waiting for a message") from exc
    except OSError as exc:
        raise PeerClosed(f"connection lost: {exc}") from exc


def _recv_exact(sock: socket.socket, size: int, deadline: float | None) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = _recv_by(sock, deadline, partial(sock.recv_into, view[got:], min(size - got, 1 << 20)))
        if not n:
            raise PeerClosed("peer closed the connection")
        got += n
    return buffer


def _announced_size(header: int, max_frame: int) -> int:
    """The payload size a header announces, refused if it has a tail or is over `max_frame`."""
    if header & TAIL_FLAG:
        raise MalformedFrame("a frame with a raw tail, which only a child accepts")
    if header > max_frame:
        raise FrameTooLarge(f"peer announced a {header}-byte message, over the {max_frame}-byte limit")
    return header


def recv_frame(
    sock: socket.socket,
    deadline: float | None = None,
    max_frame: int = DEFAULT_MAX_FRAME,
    limits: WireLimits = DEFAULT_LIMITS,
) -> ReceivedFrame:
    """One framed message received before `deadline`, with its size and item bound (its decoding cost)."""
    (header,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size, deadline))
    size = _announced_size(header, max_frame)
    payload = _recv_exact(sock, size, deadline)
    items = item_bound(payload)
    return ReceivedFrame(_decode(payload, items, limits), size, items)


class FrameReader:
    """`recv_frame` for one peer's socket, read a chunk at a time: frames that arrived together
    (a batch's results, each sent as it is computed) cost one receive instead of two each.

    It holds at most one frame and one chunk beyond it, so it bounds memory as `recv_frame`
    does (plus `_CHUNK`). Like `recv_frame`, it raises FrameTimeout once `deadline` has passed,
    even for a frame already read: a result counts when it is taken, as before. Whatever it
    read ahead is lost with it, so a socket has one reader.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()
        self._start = 0  # where the unread bytes begin

    def _fill(self, size: int, deadline: float | None) -> None:
        """Receive until `size` unread bytes are held."""
        if len(self._buffer) - self._start >= size:
            return
        if self._start:  # drop what was read, so the buffer holds one frame and a chunk at most
            del self._buffer[: self._start]
            self._start = 0
        while len(self._buffer) < size:
            want = max(_CHUNK, min(size - len(self._buffer), 1 << 20))
            chunk = _recv_by(self.sock, deadline, partial(self.sock.recv, want))
            if not chunk:
                raise PeerClosed("peer closed the connection")
            self._buffer += chunk

    def read(
        self,
        deadline: float | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
        limits: WireLimits = DEFAULT_LIMITS,
    ) -> ReceivedFrame:
        """The next frame, as `recv_frame` gives it."""
        _remaining(deadline)
        self._fill(_HEADER.size, deadline)
        (header,) = _HEADER.unpack_from(self._buffer, self._start)
        size = _announced_size(header, max_frame)
        self._fill(_HEADER.size + size, deadline)
        begin = self._start + _HEADER.size
        payload = self._buffer[begin : begin + size]
        self._start = begin + size
        items = item_bound(payload)
        return ReceivedFrame(_decode(payload, items, limits), size, items)


def recv_message(
    sock: socket.socket,
    deadline: float | None = None,
    max_frame: int = DEFAULT_MAX_FRAME,
    limits: WireLimits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Receive one framed message before `deadline` (a time.monotonic() value, or None to wait)."""
    return recv_frame(sock, deadline, max_frame, limits).message


def recv_command(
    sock: socket.socket, max_frame: int = DEFAULT_MAX_FRAME
) -> tuple[dict[str, Any], memoryview | None]:
    """In a child: the next message from the orchestrator, with its raw tail if it has one
    (arrays decoded from it are writable views into a buffer of their own)."""
    (header,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size, None))
    size = header & ~TAIL_FLAG
    if size > max_frame:
        raise FrameTooLarge(f"peer announced a {size}-byte message, over the {max_frame}-byte limit")
    return read_command(header, _recv_exact(sock, size, None))


def read_command(header: int, payload: bytearray) -> tuple[dict[str, Any], memoryview | None]:
    """A command frame's message and raw tail, from its header and payload (see `recv_command`)."""
    if not header & TAIL_FLAG:
        return decode_frame(payload), None
    size = len(payload)
    if size < _HEADER.size:
        raise MalformedFrame("a tailed frame too short for its JSON's length")
    (length,) = _HEADER.unpack_from(payload)
    if length > size - _HEADER.size:
        raise MalformedFrame("a tailed frame's JSON runs past its end")
    view = memoryview(payload)
    message = decode_frame(view[_HEADER.size : _HEADER.size + length].tobytes())
    return message, view[_HEADER.size + length :]
