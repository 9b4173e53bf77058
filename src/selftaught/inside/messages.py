"""The commands a child is sent and the messages it may send, declared once, and their validation.

The orchestrator sends a child one of the `Command` types below, built on the trusted side
and put on the wire by `command_message`; the child reads it back with `parse_command`.
A child sends two kinds of message: a `result` (the answer to a command) and, while an
improver runs, a `request` naming one op. `parse_child_message` turns a decoded frame
into one of the types below or raises a `ProtocolError` (`MalformedMessage`,
`MalformedValue`), and nothing else (it is total: any other failure while parsing
becomes a `MalformedMessage`). Ops, fields and the wire type of
each field live in `REQUEST_TYPES` and `FIELD_KINDS` and nowhere else; a request whose
op is unknown or whose fields do not fit raises `MalformedRequest`, which the child's
handle answers with a refusal (`InvalidRequest`) while an improver runs. The meaning of
model arguments (temperature range, response count, length) is checked by the language
model facade, which refuses the call in an answer too.

Text in a message is already valid (surrogates replaced at the frame, see protocol.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

from selftaught.inside.wire import DEFAULT_LIMITS, WireLimits, from_wire
from selftaught.inside.wire_errors import MalformedMessage, MalformedRequest, ProtocolError

# Error kinds the child runtime reports; anything else a child claims is recorded as `protocol`.
CHILD_ERROR_KINDS = frozenset(
    {"load_error", "missing_entry", "exception", "budget_exceeded", "bad_result", "protocol", "start_error"}
)
MAX_ERROR_CHARS = 4000
MAX_UTILITY_KWARGS = 32
MAX_KWARG_CHARS = 200
MAX_EXTRA_ARGS = 10**6
MAX_EVENT_KIND_CHARS = 100


# --- what the orchestrator sends a child ---------------------------------------------------------
@dataclass(frozen=True)
class LoadCommand:
    """Seed `random` with `seed`, run `source` as the candidate module and keep its function `entry`."""

    op: ClassVar[str] = "load"
    source: str
    entry: str = "algorithm"
    seed: int | None = None


@dataclass(frozen=True)
class CallCommand:
    """Call the loaded function with `args`, its argument list in wire form."""

    op: ClassVar[str] = "call"
    args: Any = field(default_factory=list)


@dataclass(frozen=True)
class BatchCommand:
    """Call the loaded function on each argument list of `calls` in turn, sending each result as
    it is ready, without waiting for another command (the orchestrator times each on arrival)."""

    op: ClassVar[str] = "batch"
    calls: Any = field(default_factory=list)


@dataclass(frozen=True)
class ImproveCommand:
    """Run `improve_algorithm(initial_solution, utility, language_model)` from `source`, serving
    its model and utility calls as requests with these budgets (counted again by the orchestrator)."""

    op: ClassVar[str] = "improve"
    source: str
    initial_solution: str
    utility_str: str
    utility_budget: int
    lm_budget: int
    max_responses_per_call: int
    seed: int | None = None


@dataclass(frozen=True)
class ProbeCommand:
    """Report the protections applied to this child, with live checks, before any model code runs."""

    op: ClassVar[str] = "probe"


@dataclass(frozen=True)
class ExitCommand:
    """Exit now."""

    op: ClassVar[str] = "exit"


Command = LoadCommand | CallCommand | BatchCommand | ImproveCommand | ProbeCommand | ExitCommand
COMMAND_TYPES: dict[str, type[Command]] = {
    cls.op: cls for cls in (LoadCommand, CallCommand, BatchCommand, ImproveCommand, ProbeCommand, ExitCommand)
}


def command_message(command: Command) -> dict[str, Any]:
    """The wire form of `command`: its op, then its fields (one left None is not sent)."""
    values = {f.name: getattr(command, f.name) for f in fields(command)}
    return {"op": command.op, **{name: value for name, value in values.items() if value is not None}}


def parse_command(message: dict[str, Any]) -> Command:
    """The command a decoded frame from the orchestrator declares, read in the child.

    Fields not declared are ignored; an unknown op or a missing field raises `MalformedMessage`.
    """
    op = message.get("op")
    cls = COMMAND_TYPES.get(op) if isinstance(op, str) else None
    if cls is None:
        raise MalformedMessage(f"unknown op {op!r}")
    declared = {f.name for f in fields(cls)}
    try:
        return cls(**{name: value for name, value in message.items() if name in declared})
    except TypeError as exc:  # a declared field without a default is missing
        raise MalformedMessage(f"{op}: {exc}") from None


# --- what a child sends the orchestrator --------------------------------------------------------
def _size_field() -> Any:
    """The size (bytes, item bound) of the frame a request came in: set by the child's handle,
    never by the child, so that a refused request costs its sender what decoding it cost."""
    return field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Result:
    """The answer to one command: a wire value (still tagged) and what it decodes to within the
    limits (`decoded`: checking it decodes is decoding it, so it is done once), or an error kind
    and text."""

    ok: bool
    value: Any = None
    error_kind: str | None = None
    error: str | None = None
    decoded: Any = None


@dataclass(frozen=True)
class PromptRequest:
    """`language_model.prompt(expertise, message, n_responses, temperature)`."""

    expertise: str
    message: str
    n_responses: int = 1
    temperature: float = 0.7
    wire_bytes: int = _size_field()
    wire_items: int = _size_field()


@dataclass(frozen=True)
class BatchPromptRequest:
    """`language_model.batch_prompt(expertise, messages, temperature)`."""

    expertise: str
    messages: list[str]
    temperature: float = 0.7
    wire_bytes: int = _size_field()
    wire_items: int = _size_field()


@dataclass(frozen=True)
class UtilityRequest:
    """`utility(solution, *args, **kwargs)`: the source (None if not a string) and what else came."""

    code: str | None
    extra_args: int = 0
    kwargs: dict[str, str] | None = None
    wire_bytes: int = _size_field()
    wire_items: int = _size_field()


@dataclass(frozen=True)
class EventRequest:
    """A safety event the child noticed (see inside/events.py)."""

    kind: str
    detail: dict[str, Any]
    wire_bytes: int = _size_field()
    wire_items: int = _size_field()


@dataclass(frozen=True)
class InvalidRequest:
    """A request that did not fit its declaration: never acted on, answered with a refusal."""

    op: str
    reason: str
    wire_bytes: int = _size_field()
    wire_items: int = _size_field()


Request = PromptRequest | BatchPromptRequest | UtilityRequest | EventRequest | InvalidRequest
ChildMessage = Result | Request

REQUEST_TYPES: dict[str, type] = {
    "lm.prompt": PromptRequest,
    "lm.batch_prompt": BatchPromptRequest,
    "utility": UtilityRequest,
    "event": EventRequest,
}


# --- the wire type of each field ------------------------------------------------------------
def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_integer(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_source(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _is_extra_args(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_EXTRA_ARGS


def _is_kwargs(value: Any) -> bool:
    if value is None:
        return True
    return (
        type(value) is dict
        and len(value) <= MAX_UTILITY_KWARGS
        and all(
            isinstance(v, str) and len(k) <= MAX_KWARG_CHARS and len(v) <= MAX_KWARG_CHARS
            for k, v in value.items()
        )
    )


def _is_event_kind(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_EVENT_KIND_CHARS


def _is_detail(value: Any) -> bool:
    return type(value) is dict


# Each declared field and the check its decoded value must pass (with what it must be, for the refusal).
FIELD_KINDS: dict[type, dict[str, tuple[Callable[[Any], bool], str]]] = {
    PromptRequest: {
        "expertise": (_is_text, "a string"),
        "message": (_is_text, "a string"),
        "n_responses": (_is_integer, "an integer"),
        "temperature": (_is_number, "a number"),
    },
    BatchPromptRequest: {
        "expertise": (_is_text, "a string"),
        "messages": (_is_text_list, "a list of strings"),
        "temperature": (_is_number, "a number"),
    },
    UtilityRequest: {
        "code": (_is_source, "a string or null"),
        "extra_args": (_is_extra_args, f"a count up to {MAX_EXTRA_ARGS}"),
        "kwargs": (_is_kwargs, f"at most {MAX_UTILITY_KWARGS} short strings by name"),
    },
    EventRequest: {
        "kind": (_is_event_kind, "a short string"),
        "detail": (_is_detail, "an object"),
    },
}


def _request(message: dict[str, Any], op: str, cls: type, limits: WireLimits, size: tuple[int, int]) -> Any:
    declared = FIELD_KINDS[cls]
    extra = set(message) - set(declared) - {"type", "op"}
    if extra:
        raise MalformedRequest(op, f"unknown fields {sorted(str(k)[:40] for k in extra)[:5]}")
    required = {f.name for f in fields(cls) if f.name in declared and f.default is MISSING}
    missing = required - set(message)
    if missing:
        raise MalformedRequest(op, f"missing fields {sorted(missing)}")
    try:
        values = from_wire({name: value for name, value in message.items() if name in declared}, limits)
    except ProtocolError as exc:
        raise MalformedRequest(op, f"undecodable field: {exc}") from exc
    for name, value in values.items():
        check, what = declared[name]
        if not check(value):
            raise MalformedRequest(op, f"{op} {name} must be {what}, not {type(value).__name__}")
    return cls(**values, wire_bytes=size[0], wire_items=size[1])


def _result(message: dict[str, Any], limits: WireLimits) -> Result:
    ok = message.get("ok")
    if not isinstance(ok, bool):
        raise MalformedMessage("a result's ok must be true or false")
    if ok:
        extra = set(message) - {"type", "ok", "value"}
        if extra:
            raise MalformedMessage(f"unknown fields {sorted(str(k)[:40] for k in extra)[:5]}")
        value = message.get("value")
        return Result(True, value, decoded=from_wire(value, limits))
    error_kind, error = message.get("error_kind"), message.get("error")
    if not isinstance(error_kind, str) or error_kind not in CHILD_ERROR_KINDS:
        shown = error_kind[:40] if isinstance(error_kind, str) else type(error_kind).__name__
        raise MalformedMessage(f"unknown error kind {shown!r}")
    text = error if isinstance(error, str) else ""
    return Result(False, None, error_kind, text[-MAX_ERROR_CHARS:])


def parse_child_message(
    message: dict[str, Any], limits: WireLimits = DEFAULT_LIMITS, wire_bytes: int = 0, wire_items: int = 0
) -> ChildMessage:
    """The typed form of a decoded frame from a child; raises only `ProtocolError`s.

    `wire_bytes` and `wire_items` (the frame's payload size and item bound) are kept on
    a request, so that refusing a large request costs its sender more.
    """
    try:
        if not isinstance(message, dict):
            raise MalformedMessage("a message is a JSON object")
        kind = message.get("type")
        if kind == "result":
            return _result(message, limits)
        if kind == "request":
            op = message.get("op")
            cls = REQUEST_TYPES.get(op) if isinstance(op, str) else None
            if cls is None:
                shown = op[:40] if isinstance(op, str) else type(op).__name__
                raise MalformedRequest(shown, f"unknown request op {shown!r}")
            assert isinstance(op, str)
            return _request(message, op, cls, limits, (wire_bytes, wire_items))  # type: ignore[no-any-return]
        shown = kind[:40] if isinstance(kind, str) else type(kind).__name__
        raise MalformedMessage(f"unexpected message of type {shown!r}")
    except ProtocolError:
        raise
    except Exception as exc:  # total: nothing else escapes (MemoryError, RecursionError)
        raise MalformedMessage(f"unparsable message: {exc.__class__.__name__}") from exc


def parse_answerable(
    message: dict[str, Any], limits: WireLimits = DEFAULT_LIMITS, wire_bytes: int = 0, wire_items: int = 0
) -> ChildMessage:
    """`parse_child_message`, but a request that does not fit becomes an `InvalidRequest` to refuse."""
    try:
        return parse_child_message(message, limits, wire_bytes, wire_items)
    except MalformedRequest as exc:
        return InvalidRequest(exc.op, exc.reason, wire_bytes=wire_bytes, wire_items=wire_items)
