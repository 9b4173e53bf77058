"""The sandbox's base error and the errors of the wire, which both sides of the boundary raise.

`ProtocolError` and its subclasses describe what a peer sent that is not a valid message;
the trusted side turns each into a failed candidate or improver run, never a crash. The
host's own errors (a refused mode, a lost worker) are in `selftaught.inside.wire_errors`,
which re-exports these.
"""

from __future__ import annotations


class SandboxError(Exception):
    """Anything the sandbox itself reports (not model-written code failing)."""


class ProtocolError(SandboxError):
    """The peer sent something that is not a valid message (too big, not JSON, wrong shape)."""


class FrameTooLarge(ProtocolError):
    """A frame (announced or encoded) over the size cap, or with too many JSON items."""


class MalformedFrame(ProtocolError):
    """Bytes that are not UTF-8 JSON, NaN or Infinity literals, an over-long integer."""


class MalformedValue(ProtocolError):
    """JSON that decodes but breaks a limit: depth, size, non-finite float, bad array tag."""


class MalformedMessage(ProtocolError):
    """A well-formed value that is not one of the declared message types."""


class MalformedRequest(MalformedMessage):
    """A request whose op or fields do not fit the declaration (`messages.REQUEST_TYPES`).

    While an improver runs, the child gets a refusal as its answer (the request counts
    toward its run's cap on refused requests) and goes on; elsewhere it fails the command.
    """

    def __init__(self, op: str, reason: str) -> None:
        super().__init__(reason)
        self.op = op
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return (MalformedRequest, (self.op, self.reason))


class FrameTimeout(ProtocolError):
    """A frame could not be sent or received before the deadline."""


class PeerClosed(ProtocolError):
    """The peer closed its end (for a child: it exited or was killed)."""
