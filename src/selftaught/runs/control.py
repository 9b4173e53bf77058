"""Run control: whether the run may go on, and the improver children to kill when it may not."""

from __future__ import annotations

import threading

from selftaught.executors.base import RunningJob
from selftaught.models.limits import UsageLimiter


class RunControl:
    """Stops a run (limits, replay miss, interrupt, error) and kills its live improver children at once."""

    def __init__(self, limiter: UsageLimiter) -> None:
        self.limiter = limiter
        self._lock = threading.Lock()
        self._children: dict[int, RunningJob] = {}

    def check_running(self) -> None:
        """Raise RunStopped if the run has been stopped."""
        if self.limiter.stopped is not None:
            raise self.limiter.stopped

    def stop(self, reason: str, clean: bool = False) -> None:
        """Refuse further model calls and kill every tracked child now."""
        self.limiter.stop(reason, clean)
        with self._lock:
            children = list(self._children.values())
        for child in children:
            child.kill()

    def track(self, child: RunningJob) -> None:
        with self._lock:
            self._children[id(child)] = child
        if self.limiter.stopped is not None:
            child.kill()

    def untrack(self, child: RunningJob) -> None:
        with self._lock:
            self._children.pop(id(child), None)
