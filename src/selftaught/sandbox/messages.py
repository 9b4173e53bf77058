"""The messages a child may send, declared once, and their validation on the trusted side.

A child sends two kinds of message: a `result` (the answer to a command) and, while an
improver runs, a `request` naming one op. `parse_child_message` turns a decoded frame
into one of the types below or raises `MalformedMessage`; field values go through the
total `wire.from_wire`, sharing one item budget. Ops, fields and their types live in
`REQUEST_TYPES` and nowhere else; the meaning of model arguments (temperature range,
response count) is checked by the language model facade, which raises a catchable
error inside the improver instead of failing the run.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import Any

from selftaught.sandbox.errors import MalformedMessage
from selftaught.sandbox.wire import DEFAULT_LIMITS, WireLimits, from_wire

# Error kinds the child runtime reports; anything else a child claims is recorded as `protocol`.
CHILD_ERROR_KINDS = frozenset(
    {"load_error", "missing_entry", "exception", "budget_exceeded", "bad_result", "protocol", "start_error"}
)
MAX_ERROR_CHARS = 4000
MAX_UTILITY_KWARGS = 32


@dataclass(frozen=True)
class Result:
    """The answer to one command: a wire value (still tagged, but already checked to decode
    within the limits) or an error kind and text."""

    ok: bool
    value: Any = None
    error_kind: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class PromptRequest:
    """`language_model.prompt(expertise, message, n_responses, temperature)`."""

    expertise: Any
    message: Any
    n_responses: Any = 1
    temperature: Any = 0.7


@dataclass(frozen=True)
class BatchPromptRequest:
    """`language_model.batch_prompt(expertise, messages, temperature)`."""

    expertise: Any
    messages: Any
    temperature: Any = 0.7


@dataclass(frozen=True)
class UtilityRequest:
    """`utility(solution, *args, **kwargs)`: the source (None if not a string) and what else came."""

    code: str | None
    extra_args: int = 0
    kwargs: dict[str, str] | None = None


@dataclass(frozen=True)
class EventRequest:
    """A safety event the child noticed (see sandbox/events.py)."""

    kind: str
    detail: dict[str, Any]


Request = PromptRequest | BatchPromptRequest | UtilityRequest | EventRequest
ChildMessage = Result | Request

REQUEST_TYPES: dict[str, type] = {
    "lm.prompt": PromptRequest,
    "lm.batch_prompt": BatchPromptRequest,
    "utility": UtilityRequest,
    "event": EventRequest,
}


def _fields_of(message: dict[str, Any], cls: type, skip: set[str], limits: WireLimits) -> dict[str, Any]:
    known = {f.name for f in fields(cls)}
    extra = set(message) - known - skip
    if extra:
        raise MalformedMessage(f"unknown fields {sorted(extra)[:5]}")
    required = {f.name for f in fields(cls) if f.default is MISSING}
    missing = required - set(message)
    if missing:
        raise MalformedMessage(f"missing fields {sorted(missing)}")
    return from_wire({k: v for k, v in message.items() if k in known}, limits)


def _check_utility(request: UtilityRequest) -> None:
    if request.code is not None and not isinstance(request.code, str):
        raise MalformedMessage("utility code must be a string or null")
    if type(request.extra_args) is not int or not 0 <= request.extra_args <= 10**6:
        raise MalformedMessage("utility extra_args must be a small count")
    kwargs = request.kwargs or {}
    if (
        not isinstance(kwargs, dict)
        or len(kwargs) > MAX_UTILITY_KWARGS
        or not all(isinstance(v, str) and len(k) <= 200 and len(v) <= 200 for k, v in kwargs.items())
    ):
        raise MalformedMessage("utility kwargs must be a few short strings")


def parse_child_message(message: dict[str, Any], limits: WireLimits = DEFAULT_LIMITS) -> ChildMessage:
    """The typed form of a decoded frame from a child; raises only `ProtocolError`s."""
    kind = message.get("type")
    if kind == "result":
        ok = message.get("ok")
        if not isinstance(ok, bool):
            raise MalformedMessage("a result's ok must be true or false")
        if ok:
            extra = set(message) - {"type", "ok", "value"}
            if extra:
                raise MalformedMessage(f"unknown fields {sorted(extra)[:5]}")
            value = message.get("value")
            from_wire(value, limits)  # only to check it: callers decode the tagged value themselves
            return Result(True, value)
        error_kind, error = message.get("error_kind"), message.get("error")
        if not isinstance(error_kind, str) or error_kind not in CHILD_ERROR_KINDS:
            raise MalformedMessage(f"unknown error kind {str(error_kind)[:40]!r}")
        text = error if isinstance(error, str) else ""
        return Result(False, None, error_kind, text[-MAX_ERROR_CHARS:])
    if kind == "request":
        op = message.get("op")
        cls = REQUEST_TYPES.get(op) if isinstance(op, str) else None
        if cls is None:
            raise MalformedMessage(f"unknown request op {str(op)[:40]!r}")
        request = cls(**_fields_of(message, cls, {"type", "op"}, limits))
        if isinstance(request, UtilityRequest):
            _check_utility(request)
        if isinstance(request, EventRequest) and not (
            isinstance(request.kind, str) and isinstance(request.detail, dict)
        ):
            raise MalformedMessage("an event has a kind and a detail object")
        return request
    raise MalformedMessage(f"unexpected message of type {str(kind)[:40]!r}")
