"""The sandbox's own errors, so callers can tell a refused mode from a misbehaving child.

`SandboxUnavailable` and `UnknownSandboxMode` also derive from the command line's
`UserInputError`, so the CLI keeps printing them as one line with exit status 2.
`ProtocolError` and its subclasses describe what a child sent that is not a valid
message; the trusted side turns each into a failed candidate or improver run, never
a crash. `WorkerLost` is the sandbox's own loss, never the child's: its work is redone.
Crash classification goes by these types, not by message text. The protocol's errors (and
`SandboxError`) are defined in `selftaught.inside.wire_errors`, which the child imports too.
"""

from __future__ import annotations

from selftaught.errors import UserInputError
from selftaught.inside.wire_errors import (
    FrameTimeout,
    FrameTooLarge,
    MalformedFrame,
    MalformedMessage,
    MalformedRequest,
    MalformedValue,
    PeerClosed,
    ProtocolError,
    SandboxError,
)


class UnknownSandboxMode(SandboxError, UserInputError):
    """A mode other than `default` or `strict` was asked for."""


class SandboxUnavailable(SandboxError, UserInputError):
    """Strict mode was asked for and this machine cannot give every protection it needs."""


class WorkerStartError(SandboxError, RuntimeError):
    """A sandbox worker did not start; the message carries its cause (its stderr's tail)."""


class WorkerLost(SandboxError):
    """The worker a child ran in died under it (the OOM killer, a user's kill): infrastructure,
    not the code's doing. The executor runs that work again on a new worker (executors/base.py)."""


__all__ = [
    "FrameTimeout",
    "FrameTooLarge",
    "MalformedFrame",
    "MalformedMessage",
    "MalformedRequest",
    "MalformedValue",
    "PeerClosed",
    "ProtocolError",
    "SandboxError",
    "SandboxUnavailable",
    "UnknownSandboxMode",
    "WorkerLost",
    "WorkerStartError",
]
