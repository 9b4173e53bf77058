"""The decoder is total: each crash value of issue 10 is a typed ProtocolError, never a crash."""

from __future__ import annotations

import base64
import itertools
import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selftaught.inside.messages import PromptRequest, Result, UtilityRequest, parse_child_message
from selftaught.inside.protocol import (
    TAIL_FLAG,
    FrameReader,
    ReceivedFrame,
    decode_frame,
    encode_frame,
    encode_tailed_frame,
    read_command,
    recv_frame,
    send_message,
)
from selftaught.inside.wire import ALLOWED_DTYPES, from_wire, to_wire, to_wire_tailed
from selftaught.sandbox.errors import (
    FrameTimeout,
    FrameTooLarge,
    MalformedFrame,
    MalformedMessage,
    MalformedValue,
    ProtocolError,
)


def _tag(dtype="float64", shape=(2,), data=b"\0" * 16):
    return {"__ndarray__": {"dtype": dtype, "shape": list(shape), "b64": base64.b64encode(data).decode()}}


def test_arrays_travel_as_bytes_and_round_trip_exactly():
    value = np.random.default_rng(0).standard_normal((200, 200))
    wire = to_wire(value)
    assert set(wire["__ndarray__"]) == {"dtype", "shape", "b64"}
    back = from_wire(json.loads(json.dumps(wire)))
    assert back.dtype == np.float64 and back.shape == (200, 200) and np.array_equal(back, value)
    back[0, 0] = 1.0  # writable, as a checker may expect


arrays = st.builds(
    lambda dtype, shape, seed: np.random.default_rng(seed).integers(0, 2, size=shape).astype(dtype),
    st.sampled_from(sorted(ALLOWED_DTYPES)),
    st.lists(st.integers(0, 5), max_size=3).map(tuple),
    st.integers(0, 2**32 - 1),
)


@given(st.lists(arrays | st.integers(-5, 5) | st.text(max_size=5), max_size=6))
def test_a_tailed_frame_gives_a_child_the_same_arguments_as_base64(args):
    tail = bytearray()
    message = {"op": "call", "args": to_wire_tailed(args, tail)}
    frame = encode_tailed_frame(message, bytes(tail))
    header = int.from_bytes(frame[:4], "big")
    assert header & TAIL_FLAG
    received, raw = read_command(header, bytearray(frame[4:]))
    back = from_wire(received["args"], tail=raw)
    plain = from_wire(json.loads(json.dumps(to_wire(args))))
    assert len(back) == len(plain) == len(args)
    for got, expected in zip(back, plain, strict=True):
        if isinstance(expected, np.ndarray):
            assert got.dtype == expected.dtype and got.shape == expected.shape
            assert np.array_equal(got, expected) and got.flags.writeable
        else:
            assert got == expected


@pytest.mark.parametrize(
    ("tail", "spec"),
    [
        (None, {"dtype": "int8", "shape": [2], "at": 0}),  # no tail at all
        (b"\x01", {"dtype": "int8", "shape": [2], "at": 0}),  # past its end
        (b"\x01\x02", {"dtype": "int8", "shape": [1], "at": -1}),
        (b"\x01\x02", {"dtype": "int8", "shape": [1], "at": True}),
        (b"\x01\x02", {"dtype": "int8", "shape": [1], "at": 0, "b64": "AQ=="}),  # both forms
    ],
)
def test_an_array_outside_its_frames_tail_is_a_malformed_value(tail, spec):
    with pytest.raises(MalformedValue):
        from_wire({"__ndarray__": spec}, tail=None if tail is None else memoryview(bytearray(tail)))


def test_the_trusted_side_refuses_a_tailed_frame_unread():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(encode_tailed_frame({"type": "result", "ok": True}, b"\0" * 8))
        with pytest.raises(MalformedFrame, match="tail"):
            recv_frame(ours, time.monotonic() + 5)


@pytest.mark.parametrize(
    "value",
    [
        {"__ndarray__": {"dtype": "object", "shape": [1], "b64": ""}},  # dtype off the whitelist
        {"__ndarray__": {"dtype": "float64", "shape": [3], "b64": "AAAA"}},  # ragged: data too short
        _tag(shape=(2, 2)),  # shape inconsistent with the data
        _tag(shape=(-1,)),
        _tag(shape=(True, 2)),
        _tag(dtype="bool", shape=(2,), data=b"\x00\x07"),  # out-of-range booleans
        {"__ndarray__": {"dtype": "int8", "shape": [1], "b64": "!!!!"}},  # not base64
        {"__ndarray__": {"dtype": "int8", "shape": [1], "data": [300]}},  # the old list form
        {"__ndarray__": [1, 2]},
        {"__float__": "1e999"},
        {"__float__": 3},
        pytest.param(10**5000, id="int-5000-digits"),
        float("nan"),
        float("inf"),
        json.loads("[" * 70 + "]" * 70),  # nested past the depth limit
        {1: 2},
        object(),
    ],
)
def test_crash_values_are_malformed_values(value):
    with pytest.raises(MalformedValue):
        from_wire(value)


def test_a_list_nested_500_deep_is_refused_in_the_frame_or_the_value():
    nested = "[" * 500 + "]" * 500
    with pytest.raises(ProtocolError):
        from_wire(decode_frame(('{"type":"result","ok":true,"value":' + nested + "}").encode())["value"])


@pytest.mark.parametrize(
    "payload",
    [b'{"x": NaN}', b'{"x": Infinity}', b'{"x": -Infinity}', b'{"x": ' + b"1" * 5000 + b"}", b"[1]", b"\xff"],
)
def test_raw_frames_with_nan_infinity_huge_ints_or_no_object_are_malformed(payload):
    with pytest.raises(MalformedFrame):
        decode_frame(payload)


def test_a_frame_of_tiny_values_is_refused_before_it_is_built():
    payload = b'{"v":[' + b"[]," * 1_000_000 + b"[]]}"
    tracemalloc.start()
    with pytest.raises(FrameTooLarge):
        decode_frame(payload)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < len(payload)  # nothing built: no copy of the frame either


def test_decoding_memory_stays_within_the_stated_bound():
    """10 x frame + 200 bytes per item (protocol.py): the worst shapes, under the item cap."""
    shapes = [b"{}", b'"ab"', b"1.5", b"[]", b'{"k":0}']
    for item in shapes:
        payload = b'{"v":[' + b",".join([item] * 150_000) + b"]}"
        items = 1 + sum(payload.count(c) for c in (b",", b":", b"[", b"{"))
        tracemalloc.start()
        from_wire(decode_frame(payload)["v"])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak <= 10 * len(payload) + 200 * items, (item, peak, len(payload))


def test_messages_are_declared_types():
    request = parse_child_message(
        {"type": "request", "op": "lm.prompt", "expertise": "e", "message": "m", "temperature": 0.5}
    )
    assert request == PromptRequest("e", "m", 1, 0.5)
    assert parse_child_message({"type": "result", "ok": True, "value": 3}) == Result(True, 3, decoded=3)
    tagged = to_wire(np.arange(3))
    result = parse_child_message({"type": "result", "ok": True, "value": tagged})
    assert isinstance(result, Result) and result.value == tagged  # the wire form, as sent
    assert isinstance(result.decoded, np.ndarray) and result.decoded.tolist() == [0, 1, 2]
    for bad in [
        {"type": "request", "op": "os.system", "cmd": "x"},
        {"type": "request", "op": "lm.prompt", "message": "m"},  # missing expertise
        {"type": "request", "op": "lm.prompt", "expertise": "e", "message": "m", "budget": 9},
        {"type": "request", "op": "utility", "code": 3},
        {"type": "request", "op": "utility", "code": "x", "kwargs": {str(i): "v" for i in range(100)}},
        {"type": "result", "ok": "yes"},
        {"type": "result", "ok": False, "error_kind": "timeout"},  # a kind only the orchestrator gives
        {"type": "response"},
    ]:
        with pytest.raises(MalformedMessage):
            parse_child_message(bad)
    assert isinstance(
        parse_child_message(
            {"type": "request", "op": "utility", "code": None, "extra_args": 0, "kwargs": {}}
        ),
        UtilityRequest,
    )


def test_sending_to_a_peer_that_stops_reading_times_out():
    left, right = socket.socketpair()
    with left, right:
        started = time.monotonic()
        with pytest.raises(FrameTimeout):
            send_message(left, {"x": "a" * (8 * 1024 * 1024)}, deadline=time.monotonic() + 0.3)
        assert time.monotonic() - started < 5


# -- fuzz ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)
tags = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from(["float64", "int8", "bool", "object", "uint64", 3]),
        "shape": st.lists(st.integers(-2, 5), max_size=3) | st.integers(),
        "b64": st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()) | st.text(max_size=10),
    }
).map(lambda spec: {"__ndarray__": spec})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps({"v": v}).encode()))
def test_fuzz_frames_give_a_message_or_a_protocol_error(payload):
    try:
        message = decode_frame(payload)
        parse_child_message(message)
    except ProtocolError:
        pass


@settings(max_examples=400, deadline=None)
@given(st.lists(json_values | tags, max_size=4))
def test_fuzz_values_give_a_value_or_a_malformed_value(value):
    try:
        from_wire(value)
    except MalformedValue:
        pass


def test_encode_refuses_what_the_frame_cannot_hold():
    with pytest.raises(FrameTooLarge):
        encode_frame({"x": "a" * 100}, max_frame=50)


# -- reading ahead -----------------------------------------------------------------------------


def _read_all(pieces: list[bytes], read: Callable[[socket.socket], ReceivedFrame]) -> list[object]:
    """What `read` takes from a socket whose peer writes `pieces` one by one while it reads (a
    peer that wrote everything first could fill the socket's buffer and wait forever), then
    closes: each frame's message, then the type of the ProtocolError that ended it."""
    left, right = socket.socketpair()

    def pour() -> None:
        try:
            for piece in pieces:
                left.sendall(piece)
            left.shutdown(socket.SHUT_WR)
        except OSError:  # the reader stopped and closed its end
            pass

    writer = threading.Thread(target=pour, daemon=True)
    writer.start()
    taken: list[object] = []
    with right:
        while True:
            try:
                taken.append(read(right).message)
            except ProtocolError as exc:
                taken.append(type(exc))
                break
    writer.join(10)
    left.close()
    assert not writer.is_alive()
    return taken


finite_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.dictionaries(st.text(max_size=6), finite_values, max_size=4), max_size=6),
    st.lists(st.integers(1, 40), min_size=1, max_size=8),
    st.binary(max_size=12),
)
def test_a_frame_reader_gives_what_recv_frame_gives_however_the_bytes_arrive(messages, cuts, trailing):
    """Frames sent in pieces of any size (a peer's writes) read as they are, one by one; the
    bytes after the last frame (a partial frame, or one that does not decode, or even a whole
    one) read as `recv_frame` reads them, to the same ProtocolError."""
    frames = [encode_frame(m) for m in messages]
    data = b"".join(frames) + trailing
    pieces, at = [], 0
    for i in itertools.count():
        if at >= len(data):
            break
        size = cuts[i % len(cuts)]
        pieces.append(data[at : at + size])
        at += size
    expected = _read_all(pieces, lambda sock: recv_frame(sock, time.monotonic() + 5))
    readers: list[FrameReader] = []
    bound = max((len(f) for f in frames), default=0) + len(trailing) + 2 * 65536

    def read_ahead(sock: socket.socket) -> ReceivedFrame:
        if not readers:
            readers.append(FrameReader(sock))
        frame = readers[0].read(time.monotonic() + 5)
        assert len(readers[0]._buffer) <= bound  # a frame and a chunk at most
        return frame

    got = _read_all(pieces, read_ahead)
    assert got == expected
    assert got[: len(messages)] == messages


def test_a_frame_reader_keeps_recv_frames_deadline_and_limits():
    left, right = socket.socketpair()
    with left, right:
        left.sendall(encode_frame({"n": 1}) + encode_frame({"n": 2}))
        reader = FrameReader(right)
        assert reader.read(time.monotonic() + 5).message == {"n": 1}  # the second is read ahead
        with pytest.raises(FrameTimeout):  # already held, but taken after its deadline
            reader.read(time.monotonic() - 0.001)
        started = time.monotonic()
        with pytest.raises(FrameTimeout):
            FrameReader(left).read(time.monotonic() + 0.2)  # nothing comes
        assert time.monotonic() - started < 5
    left, right = socket.socketpair()
    with left, right:
        left.sendall((10**6).to_bytes(4, "big"))
        with pytest.raises(FrameTooLarge):
            FrameReader(right).read(time.monotonic() + 5, max_frame=1000)
    left, right = socket.socketpair()
    with left, right:
        left.sendall(encode_tailed_frame({"type": "result", "ok": True}, b"\0" * 8))
        with pytest.raises(MalformedFrame, match="tail"):
            FrameReader(right).read(time.monotonic() + 5)
