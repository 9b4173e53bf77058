"""Round trip of a 200x200 float64 array through the wire format: raw bytes against tagged lists.

Both directions: encode (to_wire + frame) and decode (parse + from_wire), as the trusted
side and a child each do once per instance. Run: python benchmarks/sandbox_wire.py
"""

from __future__ import annotations

import json
import statistics
import time

import numpy as np

from selftaught.inside.protocol import decode_frame, encode_frame
from selftaught.inside.wire import from_wire, to_wire


def _tagged_lists(value: np.ndarray) -> dict:
    """The format before raw bytes: a tagged flat list (kept here only to compare)."""
    return {
        "__ndarray__": {"dtype": str(value.dtype), "shape": list(value.shape), "data": value.ravel().tolist()}
    }


def _from_tagged_lists(wire: dict) -> np.ndarray:
    spec = wire["__ndarray__"]
    return np.asarray(spec["data"], dtype=spec["dtype"]).reshape(spec["shape"])


def _time(action, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main(repeats: int = 50) -> None:
    value = np.random.default_rng(0).standard_normal((200, 200))

    def raw_bytes() -> None:
        frame = encode_frame({"value": to_wire(value)})
        back = from_wire(decode_frame(frame[4:])["value"])
        assert np.array_equal(back, value)

    def lists() -> None:
        frame = encode_frame({"value": _tagged_lists(value)})
        back = _from_tagged_lists(json.loads(frame[4:])["value"])
        assert np.array_equal(back, value)

    for name, action in (("raw bytes (base64)", raw_bytes), ("tagged lists", lists)):
        times = _time(action, repeats)
        size = len(
            encode_frame({"value": to_wire(value) if name.startswith("raw") else _tagged_lists(value)})
        )
        print(
            f"{name:20} median {statistics.median(times):6.2f} ms  min {min(times):6.2f} ms  "
            f"frame {size / 1024:7.1f} KiB  (n={repeats})"
        )


if __name__ == "__main__":
    main()
