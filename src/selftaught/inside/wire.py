"""Values on the wire: what `to_wire` makes JSON-safe and `from_wire` rebuilds, totally.

`from_wire` runs on the trusted side over whatever a child sent, so it is total: it
returns a valid value or raises a `MalformedValue` (a `ProtocolError`), never anything
else, within explicit `WireLimits` on nesting depth, item count, string length and
integer size. Floats must be finite (non-finite ones travel only as the explicit
`{"__float__": "nan" | "inf" | "-inf"}` tag). numpy arrays of a whitelisted dtype travel
as raw little-endian bytes in base64 with their shape; the data must have exactly the
bytes the dtype and shape call for, and booleans must be 0 or 1. Nothing is unpickled.

Frames the orchestrator sends a child may instead carry an array's bytes raw, after the
JSON (`to_wire_tailed`, `protocol.encode_tailed_frame`): decoding a parity instance's base64
took a child about 80 microseconds a call. The trusted side never accepts such a frame.

Text is made valid here too: JSON may carry a lone surrogate escape (`"\\ud800"`), which
Python decodes into a `str` that UTF-8 (SQLite, files, HTML) cannot encode. Surrogate code
points are the only ones UTF-8 cannot encode, so `make_text_valid` replaces each one left
in a decoded string (keys included) by U+FFFD, the replacement character; a valid pair
(an astral character such as an emoji) is joined by the JSON parser before this and kept.
`protocol.decode_frame` applies it to every frame, so no code past the boundary sees such
text.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from typing import Any

from selftaught.inside.wire_errors import MalformedValue

ARRAY_TAG = "__ndarray__"
FLOAT_TAG = "__float__"
ALLOWED_DTYPES = frozenset(
    {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
    | {"float16", "float32", "float64"}
)
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
REPLACEMENT_CHAR = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
_ARRAY_KEYS = ({"dtype", "shape", "b64"}, {"dtype", "shape", "at"})  # base64, or in a frame's tail
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@dataclass(frozen=True)
class WireLimits:
    """What one decoded value may hold; each limit bounds work and memory on the trusted side."""

    max_depth: int = 64
    max_items: int = 500_000  # values and dictionary keys, all told
    max_string_chars: int = 16 * 1024 * 1024
    max_int_bits: int = 4096  # about 1233 decimal digits
    max_array_dims: int = 32
    max_array_bytes: int = 64 * 1024 * 1024


DEFAULT_LIMITS = WireLimits()


def to_wire(value: Any) -> Any:
    """Make a value JSON-safe: numpy arrays become tagged base64, numpy scalars plain numbers."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {FLOAT_TAG: repr(value)}
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if type(value).__module__ == "numpy":
        import numpy as np

        if isinstance(value, np.ndarray):
            name = _dtype_name(value.dtype)
            if name not in ALLOWED_DTYPES:
                return to_wire(value.tolist())  # object arrays and the like: plain lists
            little = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
            raw = base64.b64encode(little.tobytes()).decode("ascii")
            return {ARRAY_TAG: {"dtype": name, "shape": list(value.shape), "b64": raw}}
        if isinstance(value, np.generic):
            return to_wire(value.item())
    if isinstance(value, set | frozenset):
        return [to_wire(v) for v in value]
    return {"__repr__": repr(value)[:200]}


_DTYPE_NAMES: dict[Any, str] = {}  # numpy builds a dtype's name anew each time it is asked
_LITTLE: dict[str, Any] = {}  # an allowed dtype's name -> its little-endian numpy dtype


def _dtype_name(dtype: Any) -> str:
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype)
    return name


def _little(name: str) -> Any:
    little = _LITTLE.get(name)
    if little is None:
        import numpy as np

        little = _LITTLE[name] = np.dtype(name).newbyteorder("<")
    return little


def to_wire_tailed(value: Any, tail: bytearray) -> Any:
    """`to_wire`, but each numpy array of an allowed dtype goes raw into `tail` (8-byte aligned),
    its tag holding `"at"`, its offset there, instead of base64 (for frames sent to a child)."""
    if isinstance(value, dict):
        return {str(k): to_wire_tailed(v, tail) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire_tailed(v, tail) for v in value]
    if type(value).__module__ == "numpy":
        import numpy as np

        if isinstance(value, np.ndarray) and _dtype_name(value.dtype) in ALLOWED_DTYPES:
            tail.extend(bytes(-len(tail) % 8))
            at = len(tail)
            tail.extend(np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes())
            return {ARRAY_TAG: {"dtype": _dtype_name(value.dtype), "shape": list(value.shape), "at": at}}
    return to_wire(value)


def valid_text(text: str) -> str:
    """`text` with every surrogate code point (unencodable in UTF-8) replaced by U+FFFD."""
    return _SURROGATE.sub(REPLACEMENT_CHAR, text) if _SURROGATE.search(text) else text


def make_text_valid(value: Any) -> Any:
    """`value` (JSON-decoded data) with every string and key made valid by `valid_text`.

    Lists and dictionaries are fixed in place (they are fresh from the parser); the walk
    uses its own stack, so nesting depth costs no recursion. Two keys that become equal
    keep the later value.
    """
    if isinstance(value, str):
        return valid_text(value)
    stack = [value] if isinstance(value, list | dict) else []
    while stack:
        container = stack.pop()
        if isinstance(container, dict):
            if any(isinstance(key, str) and _SURROGATE.search(key) for key in container):
                items = list(container.items())
                container.clear()
                for key, item in items:
                    container[valid_text(key) if isinstance(key, str) else key] = item
            pairs: Any = container.items()
        else:
            pairs = enumerate(container)
        for key, item in list(pairs):
            if isinstance(item, str):
                if _SURROGATE.search(item):
                    container[key] = valid_text(item)
            elif isinstance(item, list | dict):
                stack.append(item)
    return value


def from_wire(value: Any, limits: WireLimits = DEFAULT_LIMITS, tail: memoryview | None = None) -> Any:
    """Inverse of `to_wire` over JSON-decoded data; raises only `MalformedValue`.

    `tail`: the raw bytes after a tailed frame's JSON (`to_wire_tailed`), given only in a child.
    """
    try:
        return _Decoder(limits, tail).decode(value, 0)
    except MalformedValue:
        raise
    except Exception as exc:  # total: nothing else escapes (RecursionError, MemoryError)
        raise MalformedValue(f"undecodable value: {exc.__class__.__name__}") from exc


class _Decoder:
    def __init__(self, limits: WireLimits, tail: memoryview | None = None) -> None:
        self.limits = limits
        self.items = 0
        self.tail = tail

    def _count(self, n: int) -> None:
        self.items += n
        if self.items > self.limits.max_items:
            raise MalformedValue(f"more than {self.limits.max_items} items")

    def decode(self, value: Any, depth: int) -> Any:
        if depth > self.limits.max_depth:
            raise MalformedValue(f"nested deeper than {self.limits.max_depth}")
        self._count(1)
        if isinstance(value, list):
            return [self.decode(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return self._object(value, depth)
        return self._scalar(value)

    def _scalar(self, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            if value.bit_length() > self.limits.max_int_bits:
                raise MalformedValue(f"integer over {self.limits.max_int_bits} bits")
            return int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise MalformedValue("non-finite float outside a __float__ tag")
            return float(value)
        if isinstance(value, str):
            if len(value) > self.limits.max_string_chars:
                raise MalformedValue(f"string over {self.limits.max_string_chars} characters")
            return str(value)
        raise MalformedValue(f"{type(value).__name__} is not a wire value")

    def _object(self, value: dict[Any, Any], depth: int) -> Any:
        """A tagged array or non-finite float, else a dictionary with string keys."""
        if len(value) == 1 and ARRAY_TAG in value:
            return self.array(value[ARRAY_TAG])
        if len(value) == 1 and FLOAT_TAG in value:
            tag = value[FLOAT_TAG]
            if not isinstance(tag, str) or tag not in _NON_FINITE:
                raise MalformedValue("a __float__ tag holds only 'nan', 'inf' or '-inf'")
            return _NON_FINITE[tag]
        self._count(len(value))  # the keys
        decoded = {}
        for key, item in value.items():
            if not isinstance(key, str) or len(key) > self.limits.max_string_chars:
                raise MalformedValue("dictionary keys must be strings")
            decoded[key] = self.decode(item, depth + 1)
        return decoded

    def array(self, spec: Any) -> Any:
        import numpy as np

        if not isinstance(spec, dict) or set(spec) not in _ARRAY_KEYS:
            raise MalformedValue("an array tag holds exactly dtype, shape and b64 (or at, in a tailed frame)")
        dtype, shape, data = spec["dtype"], spec["shape"], spec.get("b64")
        if not isinstance(dtype, str) or dtype not in ALLOWED_DTYPES:
            raise MalformedValue(f"array dtype {str(dtype)[:40]!r} is not allowed")
        if (
            not isinstance(shape, list)
            or len(shape) > self.limits.max_array_dims
            or not all(type(s) is int and 0 <= s < 2**31 for s in shape)
        ):
            raise MalformedValue("array shape must be a short list of non-negative integers")
        little = _little(dtype)
        expected = math.prod(shape) * little.itemsize
        if "at" in spec:
            return self._tail_array(spec["at"], little, shape, expected)
        if not isinstance(data, str):
            raise MalformedValue("array data must be a base64 string")
        if expected > self.limits.max_array_bytes or len(data) != 4 * math.ceil(expected / 3):
            raise MalformedValue("array data does not match its dtype and shape")
        try:
            # the alphabet check of b64decode(validate=True) in one pass: only padding may be left
            encoded = data.encode("ascii")
            body = encoded.rstrip(b"=")
            if len(encoded) - len(body) > 2 or body.translate(None, _B64_ALPHABET):
                raise ValueError("not base64")
            raw = binascii.a2b_base64(encoded)
        except (binascii.Error, ValueError) as exc:  # UnicodeEncodeError is a ValueError
            raise MalformedValue("array data is not base64") from exc
        if len(raw) != expected:
            raise MalformedValue("array data does not match its dtype and shape")
        if dtype == "bool" and raw and max(raw) > 1:
            raise MalformedValue("boolean array holds values other than 0 and 1")
        array = np.frombuffer(bytearray(raw), dtype=little).reshape(shape)
        return array if array.dtype.isnative else array.astype(np.dtype(dtype))

    def _tail_array(self, at: Any, little: Any, shape: list[int], expected: int) -> Any:
        """An array whose bytes are in the frame's tail, at offset `at` (a view, no copy)."""
        import numpy as np

        if self.tail is None:
            raise MalformedValue("an array in a frame's tail, but the frame has none")
        if type(at) is not int or at < 0 or at + expected > len(self.tail):
            raise MalformedValue("array data lies outside the frame's tail")
        array = np.frombuffer(self.tail, dtype=little, count=math.prod(shape), offset=at).reshape(shape)
        return array if array.dtype.isnative else array.astype(little.newbyteorder("="))
