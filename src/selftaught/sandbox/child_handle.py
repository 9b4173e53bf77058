"""The orchestrator's handle on one sandboxed child, and what a command to it comes back as.

`Child.run` sends a command, serves the child's requests while it works, and returns a
`Reply`; every send and receive has the command's deadline, so a child that stops
answering or stops reading is killed at it (`timeout`). What the child sends is parsed
into declared message types (`messages.py`); a request that does not fit its declaration
is handed on as an `InvalidRequest` (the handler refuses it in an answer and counts it),
and anything else kills the child and fails the command as `protocol`. Failures are
classified by exception type, never by text.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from selftaught.inside.messages import (
    ChildMessage,
    Command,
    Request,
    Result,
    command_message,
    parse_answerable,
    parse_child_message,
)
from selftaught.inside.protocol import DEFAULT_MAX_FRAME, FrameReader, send_frame, send_message
from selftaught.sandbox.errors import FrameTimeout, PeerClosed, ProtocolError
from selftaught.sandbox.limits import Limits


@dataclass
class Reply:
    """What became of one command sent to a child."""

    ok: bool
    value: Any = None  # the wire value (tags kept)
    error_kind: str | None = None  # timeout, crashed, protocol, exception, load_error, ...
    error: str | None = None
    elapsed_s: float = 0.0
    decoded: Any = None  # the value decoded (arrays and non-finite floats restored)


@dataclass
class RequestAnswer:
    """What a request handler gives back to a child; `paused_s` is time not charged to the child."""

    ok: bool
    value: Any = None
    error: str | None = None
    error_type: str | None = None
    paused_s: float = 0.0
    abort: bool = False  # stop the child right after answering (e.g. a refused-call loop)
    abort_kind: str = "aborted"


RequestHandler = Callable[[Request], RequestAnswer]


@dataclass
class Child:
    """One sandboxed child process, talked to directly over its own socket."""

    pid: int
    sock: socket.socket
    scratch: str
    limits: Limits
    max_frame: int = DEFAULT_MAX_FRAME
    alive: bool = field(default=True)
    _reader: FrameReader | None = field(default=None, repr=False, compare=False)

    def run(
        self,
        command: Command | dict[str, Any] | bytes | None,
        wall_s: float | None = None,
        on_request: RequestHandler | None = None,
        since: float | None = None,
    ) -> Reply:
        """Send `command`, serve requests until the result arrives, kill the child on any failure.

        `command` is one of the declared commands (messages.py); a dict is sent as it is (tests
        send raw, even malformed, commands); bytes are a command already encoded as a frame
        (`protocol.encode_frame`), as scoring sends each instance's call; None sends nothing and
        waits for the next result of a command sent before (a batch's results, one per call).

        The wall-clock budget excludes time the orchestrator reports as paused (nested work
        it does on the child's behalf, such as scoring a candidate with its own limits).
        `since` (a time.monotonic() value) starts the clock earlier than now: a batch's result
        is timed from the arrival of the one before it.
        """
        if not self.alive:
            return Reply(False, error_kind="crashed", error="child is no longer running")
        started = time.monotonic() if since is None else since
        deadline = started + (self.limits.wall_s if wall_s is None else wall_s)

        def failed(kind: str, error: str) -> Reply:
            self.kill()
            return Reply(False, error_kind=kind, error=error, elapsed_s=time.monotonic() - started)

        try:
            if command is None:
                pass
            elif isinstance(command, bytes):
                send_frame(self.sock, command, self.max_frame, deadline)
            else:
                sent = command if isinstance(command, dict) else command_message(command)
                send_message(self.sock, sent, self.max_frame, deadline)
            while True:
                message = self._receive(deadline, answering=on_request is not None)
                if isinstance(message, Result):
                    return Reply(
                        message.ok,
                        message.value,
                        message.error_kind,
                        message.error,
                        elapsed_s=time.monotonic() - started,
                        decoded=message.decoded,
                    )
                if on_request is None:
                    raise ProtocolError("a request where none may be made")
                answer = on_request(message)
                deadline += answer.paused_s
                if answer.abort:
                    return failed(answer.abort_kind, answer.error or answer.abort_kind)
                payload: dict[str, Any] = {"type": "response", "ok": answer.ok}
                if answer.ok:
                    payload["value"] = answer.value
                else:
                    payload["error"] = answer.error
                    payload["error_type"] = answer.error_type
                send_message(self.sock, payload, self.max_frame, deadline)
        except FrameTimeout:
            return failed("timeout", "wall-clock limit reached")
        except PeerClosed as exc:
            return failed("crashed", str(exc))
        except ProtocolError as exc:
            return failed("protocol", f"{exc.__class__.__name__}: {exc}")
        except BaseException:
            self.kill()  # a failure on our side: the child must not outlive it
            raise

    def _receive(self, deadline: float, answering: bool) -> ChildMessage:
        """The next message; a request that does not fit becomes an `InvalidRequest` when answering."""
        if self._reader is None:
            self._reader = FrameReader(self.sock)
        frame = self._reader.read(deadline, self.max_frame)
        parse = parse_answerable if answering else parse_child_message
        return parse(frame.message, wire_bytes=frame.size, wire_items=frame.items)

    def kill(self) -> None:
        """Kill the child's whole process group (the worker reaps it and removes its scratch)."""
        if self.alive:
            self.alive = False
            for target in (
                lambda: os.killpg(self.pid, signal.SIGKILL),
                lambda: os.kill(self.pid, signal.SIGKILL),
            ):
                try:
                    target()
                except OSError:
                    pass
        try:
            self.sock.close()
        except OSError:
            pass

    def close(self) -> None:
        """Done with the child: stop its whole process group now (SIGSTOP: nothing in it runs again)
        and leave the kill to its worker, which kills stopped children once spawns pause.

        Tearing down a forked child's address space costs about 2 ms of CPU; done at once it
        competed with the scorings of the same burst. Where the group cannot be stopped the
        child is killed now, as `kill` does.
        """
        if self.alive:
            self.alive = False
            try:
                os.killpg(self.pid, signal.SIGSTOP)
            except OSError:
                self.alive = True
                self.kill()
                return
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
