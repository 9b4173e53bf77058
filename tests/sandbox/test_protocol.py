import socket

import numpy as np
import pytest

from selftaught.inside.protocol import (
    ProtocolError,
    encode_frame,
    from_wire,
    recv_message,
    send_message,
    to_wire,
)


def test_arrays_round_trip_with_dtype_and_shape():
    value = {"a": np.arange(6, dtype=np.int64).reshape(2, 3), "b": np.float32(1.5), "c": [np.bool_(True)]}
    back = from_wire(to_wire(value))
    assert back["a"].dtype == np.int64 and back["a"].shape == (2, 3)
    assert back["b"] == 1.5 and back["c"] == [True]


def test_object_arrays_are_not_rebuilt_as_arrays():
    wire = to_wire(np.array([1, "x"], dtype=object))
    assert from_wire(wire) == [1, "x"]


def test_oversized_frames_are_refused_both_ways():
    with pytest.raises(ProtocolError):
        encode_frame({"x": "a" * 100}, max_frame=50)
    left, right = socket.socketpair()
    with left, right:
        left.sendall((10**6).to_bytes(4, "big"))
        with pytest.raises(ProtocolError):
            recv_message(right, max_frame=1000)


def test_malformed_json_is_a_protocol_error():
    left, right = socket.socketpair()
    with left, right:
        left.sendall((5).to_bytes(4, "big") + b"{nope")
        with pytest.raises(ProtocolError):
            recv_message(right)
        send_message(left, {"ok": True})
        assert recv_message(right) == {"ok": True}
