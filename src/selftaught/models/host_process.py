"""Starting the OpenAI SDK's host process (selftaught.models.sdk_host), early or on demand.

Standard library only: the launcher imports this before anything else, so that the host
starts importing the SDK while the command line is still being read. A host started that
early waits, unused, until the first `openai:` backend of the process takes it; one nobody
takes ends when this process does (its sockets close).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass

CLOSE_S = 5.0  # for a closed host to exit before it is killed


@dataclass
class HostProcess:
    """A started host: the process, and this side's ends of its request and reply sockets."""

    process: subprocess.Popen[bytes]
    requests: socket.socket
    replies: socket.socket

    def close(self) -> None:
        """End the host: its requests end, it closes its client and exits (killed after CLOSE_S)."""
        try:
            self.requests.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed, or the host is gone
        try:
            self.process.wait(timeout=CLOSE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for sock in (self.requests, self.replies):
            sock.close()


def spawn_host() -> HostProcess:
    """Start a host: it imports the SDK, then waits for its first message (OSError if it cannot start)."""
    requests, host_requests = socket.socketpair()
    host_replies, replies = socket.socketpair()
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "selftaught.models.sdk_host",
                str(host_requests.fileno()),
                str(host_replies.fileno()),
            ],
            pass_fds=(host_requests.fileno(), host_replies.fileno()),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=_environment(),
        )
    except BaseException:
        for sock in (requests, host_requests, host_replies, replies):
            sock.close()
        raise
    host_requests.close()
    host_replies.close()
    return HostProcess(process, requests, replies)


def _environment() -> dict[str, str]:
    """This process's environment (the SDK reads its proxy and certificate settings there), with
    this selftaught first on the path and the current directory off it."""
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONSAFEPATH": "1"}


_early: HostProcess | None = None


def start_early() -> None:
    """Start a host now for the first `openai:` backend to take (a guess: a wrong one costs a process)."""
    global _early
    if _early is None:
        try:
            _early = spawn_host()
        except OSError:
            _early = None  # the backend starts one itself, or runs the SDK in process


def take_early() -> HostProcess | None:
    """The host started early, if one was and it is still running; it is the caller's from now on."""
    global _early
    host, _early = _early, None
    if host is not None and host.process.poll() is not None:
        host.close()
        return None
    return host


def names_openai_model(argv: list[str], environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Whether the command line (or SELFTAUGHT_MODEL) names an `openai:` model for a command that asks one."""
    if any(arg in ("--help", "-h", "--version", "--plan") for arg in argv):
        return False
    spec = environ.get("SELFTAUGHT_MODEL", "")
    for i, arg in enumerate(argv):
        if arg in ("--model", "-m") and i + 1 < len(argv):
            spec = argv[i + 1]
        elif arg.startswith("--model="):
            spec = arg.split("=", 1)[1]
        elif arg.startswith("-m") and len(arg) > 2 and not arg.startswith("--"):
            spec = arg[2:]
    return spec.startswith("openai:")
