"""How the orchestrator accepts the safety events a child reports (`selftaught.inside.events`).

`EventFilter` accepts only known kinds with small details and at most `MAX_EVENTS` per
child, so a hostile child cannot flood the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from selftaught.inside.events import KINDS

MAX_EVENTS = 50
MAX_DETAIL_CHARS = 2000
MAX_FRAME_FOR_DETAIL = 64 * 1024  # a detail in a larger frame is recorded by its size only


@dataclass(frozen=True)
class Event:
    """An accepted report: its kind and a JSON-safe detail."""

    kind: str
    detail: dict[str, Any]


class EventFilter:
    """Turn a child's "event" request into an `Event`, or drop it."""

    def __init__(self, limit: int = MAX_EVENTS) -> None:
        self.limit = limit
        self.seen = 0

    def accept(self, request: dict[str, Any], wire_bytes: int = 0) -> Event | None:
        """The event `request` reports, or None (unknown kind, past the limit). `wire_bytes`,
        the size of the frame it came in, spares dumping a detail far over the limit."""
        kind, detail = request.get("kind"), request.get("detail")
        if kind not in KINDS or not isinstance(detail, dict) or self.seen >= self.limit:
            return None
        self.seen += 1
        if wire_bytes > MAX_FRAME_FOR_DETAIL:
            return Event(str(kind), {"reported_by": "child", "truncated": f"a detail of {wire_bytes} bytes"})
        text = json.dumps(detail, default=str)
        if len(text) > MAX_DETAIL_CHARS:
            detail = {"truncated": text[:MAX_DETAIL_CHARS]}
        return Event(str(kind), {"reported_by": "child", **detail})
