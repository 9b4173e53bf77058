"""The runtime of one sandboxed child: runs model-written code and nothing else.

UNTRUSTED SIDE: everything here executes after fork and confinement, next to
model-written code that may have patched any of it. The child
answers commands from the orchestrator (load code, call its function, run an
improver) and, while an improver runs, sends requests back for the language model
and the utility through proxies. The proxies hold no authority: the orchestrator
counts every budget, so changing `budget`, `uses` or passing `use_sandbox=False`
here changes nothing but what gets reported.
"""

from __future__ import annotations

import socket
import sys
import threading
import traceback
import types
from typing import Any

from selftaught.inside.events import Reporter
from selftaught.inside.messages import (
    MAX_UTILITY_KWARGS,
    BatchCommand,
    CallCommand,
    ExitCommand,
    ImproveCommand,
    LoadCommand,
    ProbeCommand,
    command_message,
    parse_command,
)
from selftaught.inside.probe import live_checks
from selftaught.inside.protocol import (
    PeerClosed,
    encode_frame,
    encode_tailed_frame,
    from_wire,
    read_command,
    recv_command,
    recv_message,
    send_message,
    to_wire,
)
from selftaught.inside.wire import to_wire_tailed
from selftaught.inside.wire_errors import MalformedMessage


class BudgetExceededError(Exception):
    """Raised inside the improver when the orchestrator refuses a call past its budget.

    As in the reference, the improver may catch it and go on (say, return its best so
    far); every further model call is refused too, and a loop of refusals is cut short.
    """


class SandboxRequestError(ValueError):
    """The orchestrator refused a request (bad arguments such as a temperature out of range)."""


class _Channel:
    """Request/response over the child's socket; thread-safe because improvers may use threads."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def request(self, op: str, **payload: Any) -> Any:
        with self._lock:
            send_message(self._sock, {"type": "request", "op": op, **to_wire(payload)})
            reply = recv_message(self._sock)
        if reply.get("ok"):
            return from_wire(reply.get("value"))
        if reply.get("error_type") == "budget":
            raise BudgetExceededError(reply.get("error", "budget exceeded"))
        raise SandboxRequestError(reply.get("error", "request failed"))


class LanguageModelProxy:
    """Looks like the paper's `language_model`; every call is counted by the orchestrator.

    Assigning `budget` or `max_responses_per_call`, or building another instance (say
    `type(language_model)(budget=10**6)`), is reported as a safety event; the new object
    talks over the same channel, so it shares the same orchestrator-side budget.
    """

    _official: LanguageModelProxy | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        official = LanguageModelProxy._official
        if official is None:
            raise TypeError("no language model is available here")
        _report("new_model_object", object="language_model", args=repr((args, kwargs))[:300])
        self._init(official._channel, official._budget, official._max_responses)

    @classmethod
    def _create(cls, channel: _Channel, budget: int, max_responses_per_call: int) -> LanguageModelProxy:
        proxy = cls.__new__(cls)
        proxy._init(channel, budget, max_responses_per_call)
        cls._official = proxy
        return proxy

    def _init(self, channel: _Channel, budget: int, max_responses_per_call: int) -> None:
        self._channel = channel
        self._budget = budget
        self._max_responses = max_responses_per_call

    @property
    def budget(self) -> int:
        return self._budget

    @budget.setter
    def budget(self, value: Any) -> None:
        _report("budget_tamper", object="language_model", attribute="budget", value=repr(value)[:100])
        self._budget = value

    @property
    def max_responses_per_call(self) -> int:
        return self._max_responses

    @max_responses_per_call.setter
    def max_responses_per_call(self, value: Any) -> None:
        _report(
            "budget_tamper",
            object="language_model",
            attribute="max_responses_per_call",
            value=repr(value)[:100],
        )
        self._max_responses = value

    def prompt(
        self, expertise: str, message: str, n_responses: int = 1, temperature: float = 0.7
    ) -> list[str]:
        return self._channel.request(
            "lm.prompt",
            expertise=expertise,
            message=message,
            n_responses=n_responses,
            temperature=temperature,
        )

    def batch_prompt(self, expertise: str, messages: Any, temperature: float = 0.7) -> list[str]:
        if isinstance(messages, str):
            messages = [messages]
        return self._channel.request(
            "lm.batch_prompt", expertise=expertise, messages=list(messages), temperature=temperature
        )


class UtilityProxy:
    """Looks like the paper's `utility`: callable on source, with `.str`, `.budget`, `.uses`.

    `uses` and `budget` are for show: the orchestrator counts every call itself. Assigning
    either is reported as a safety event.
    """

    def __init__(self, channel: _Channel, shown_text: str, budget: int) -> None:
        self._channel = channel
        self.str = shown_text
        self._budget = budget
        self._uses = 0

    @property
    def budget(self) -> int:
        return self._budget

    @budget.setter
    def budget(self, value: Any) -> None:
        _report("budget_tamper", object="utility", attribute="budget", value=repr(value)[:100])
        self._budget = value

    @property
    def uses(self) -> int:
        return self._uses

    @uses.setter
    def uses(self, value: Any) -> None:
        _report("budget_tamper", object="utility", attribute="uses", value=repr(value)[:100])
        self._uses = value

    def __call__(self, solution: Any, *args: Any, **kwargs: Any) -> float:
        source = solution if isinstance(solution, str) else None
        shown = {str(k)[:100]: repr(v)[:100] for k, v in list(kwargs.items())[:MAX_UTILITY_KWARGS]}
        reply = self._channel.request("utility", code=source, extra_args=len(args), kwargs=shown)
        self._uses = int(reply["uses"])
        return float(reply["score"])


_reporter: Reporter | None = None


def _report(kind: str, **detail: Any) -> None:
    if _reporter is not None:
        _reporter.report(kind, **detail)


def _seed_random(seed: object) -> None:
    """Seed `random` and `numpy.random` as the orchestrator asks, so that reruns reproduce."""
    if not isinstance(seed, int):
        return
    import random

    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed % 2**32)


def _exec_module(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    sys.modules[name] = module
    code = compile(source, f"<{name}>", "exec")
    exec(code, module.__dict__)
    return module


def _failure(kind: str, exc: BaseException) -> dict[str, Any]:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return {"type": "result", "ok": False, "error_kind": kind, "error": text[-2000:]}


class _Child:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.channel = _Channel(sock)
        self.entry: Any = None

    def handle(
        self, command: LoadCommand | CallCommand | ImproveCommand, tail: memoryview | None = None
    ) -> dict[str, Any]:
        if isinstance(command, LoadCommand):
            return self.load(command)
        if isinstance(command, CallCommand):
            return self.call(command.args, tail)
        return self.improve(command)

    def call(self, args: Any, tail: memoryview | None) -> dict[str, Any]:
        try:
            value = self.entry(*from_wire(args, tail=tail))
            return {"type": "result", "ok": True, "value": to_wire(value)}
        except BaseException as exc:  # noqa: BLE001
            return _failure("exception", exc)

    def batch(self, command: BatchCommand, tail: memoryview | None) -> None:
        """Each call's result, sent as soon as it is ready (see `BatchCommand`)."""
        calls = command.calls if isinstance(command.calls, list) else []
        for args in calls:
            _send_reply(self.sock, self.call(args, tail))

    def load(self, command: LoadCommand) -> dict[str, Any]:
        _seed_random(command.seed)
        try:
            module = _exec_module(str(command.source), "candidate")
        except BaseException as exc:  # noqa: BLE001 - any failure of model code is a result
            return _failure("load_error", exc)
        self.entry = getattr(module, str(command.entry), None)
        if not callable(self.entry):
            return {
                "type": "result",
                "ok": False,
                "error_kind": "missing_entry",
                "error": f"no function named {command.entry!r}",
            }
        return {"type": "result", "ok": True, "value": None}

    def improve(self, command: ImproveCommand) -> dict[str, Any]:
        global _reporter
        source = str(command.source)
        _reporter = Reporter(
            lambda kind, detail: self.channel.request("event", kind=kind, detail=detail), source, "improver"
        )
        _reporter.install_import_hook()
        _seed_random(command.seed)
        try:
            module = _exec_module(source, "improver")
        except BaseException as exc:  # noqa: BLE001
            return _failure("load_error", exc)
        improve = getattr(module, "improve_algorithm", None)
        if not callable(improve):
            return {
                "type": "result",
                "ok": False,
                "error_kind": "missing_entry",
                "error": "no function named 'improve_algorithm'",
            }
        utility = UtilityProxy(self.channel, str(command.utility_str), int(command.utility_budget))
        model = LanguageModelProxy._create(
            self.channel, int(command.lm_budget), int(command.max_responses_per_call)
        )
        try:
            result = improve(command.initial_solution, utility, model)
        except BudgetExceededError as exc:
            return _failure("budget_exceeded", exc)
        except BaseException as exc:  # noqa: BLE001
            return _failure("exception", exc)
        if not isinstance(result, str):
            return {
                "type": "result",
                "ok": False,
                "error_kind": "bad_result",
                "error": f"improve_algorithm returned {type(result).__name__}, not str",
            }
        return {"type": "result", "ok": True, "value": result}


def _answer(
    child: _Child, message: dict[str, Any], report: dict[str, Any] | None, tail: memoryview | None = None
) -> dict[str, Any] | None:
    """The reply to one command read through its declaration; None for `exit`."""
    try:
        command = parse_command(message)
    except MalformedMessage as exc:
        return {"type": "result", "ok": False, "error_kind": "protocol", "error": str(exc)}
    if isinstance(command, ExitCommand):
        return None
    if isinstance(command, ProbeCommand):
        return {"type": "result", "ok": True, "value": {**(report or {}), "checks": live_checks()}}
    if isinstance(command, BatchCommand):  # served by `serve`, a result per call
        return {"type": "result", "ok": False, "error_kind": "protocol", "error": "batch out of place"}
    return child.handle(command, tail)


_WARM_UP_SOURCE = "def _selftaught_warm_up(*args):\n    return [len(args), 0.5, None, 'x']\n"


def warm_up() -> None:
    """Take a load and a call through this child's code once, before any candidate is here.

    A freshly forked child pays for its first command in copied pages and first-use set-up
    (a load took 1.4 ms against 0.4 ms the second time, a parity instance's call 1.1 ms
    against 0.45 ms). A spare does this while it waits to be handed out, off the critical
    path. It leaves nothing a candidate could see but what every child has: the random
    states are put back and the warm-up module removed.
    """
    import random

    numpy = sys.modules.get("numpy")
    states = (random.getstate(), numpy.random.get_state() if numpy is not None else None)
    child = _Child(None)  # type: ignore[arg-type]  # no request is made
    args: list[Any] = [[1, 2.5, "text", None, {"key": True}]]
    if numpy is not None:
        args += [numpy.zeros((128, 16), dtype=numpy.int64), numpy.ones(128, dtype=numpy.float64)]
    tail = bytearray()
    call = encode_tailed_frame(command_message(CallCommand(to_wire_tailed(args, tail))), bytes(tail))
    frames = [encode_frame(command_message(LoadCommand(_WARM_UP_SOURCE, "_selftaught_warm_up", 0))), call]
    try:
        for frame in frames:
            message, raw = read_command(int.from_bytes(frame[:4], "big"), bytearray(frame[4:]))
            reply = _answer(child, message, None, raw)
            encode_frame(reply or {})
            if reply is not None and reply.get("ok"):
                from_wire(reply.get("value"))
    finally:
        sys.modules.pop("candidate", None)
        random.setstate(states[0])
        if numpy is not None and states[1] is not None:
            numpy.random.set_state(states[1])


def serve(sock: socket.socket, report: dict[str, Any] | None = None) -> None:
    """Answer commands until the orchestrator says exit or closes the socket.

    `report` is what the worker applied to this child; the "probe" command returns it
    with live checks, before any model-written code has run here.
    """
    import selftaught.inside.helpers as helpers

    sys.modules["helpers"] = helpers
    child = _Child(sock)
    while True:
        try:
            message, tail = recv_command(sock)
        except PeerClosed:
            return
        if message.get("op") == BatchCommand.op:
            child.batch(BatchCommand(message.get("calls")), tail)
            continue
        reply = _answer(child, message, report, tail)
        if reply is None:
            return
        _send_reply(sock, reply)


def _send_reply(sock: socket.socket, reply: dict[str, Any]) -> None:
    try:
        send_message(sock, reply)
    except Exception as exc:  # noqa: BLE001 - e.g. an oversized or unencodable result
        send_message(sock, _failure("bad_result", exc))
