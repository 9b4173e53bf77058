"""While a Ray instance of the run's own starts, the run's first work goes to a local pool.

Starting Ray on this machine takes seconds (its daemons, then each node's actor with its
sandbox pool and live probe), while a run's first improver runs want children at once and
their model calls take as long anyway. `RayStart` starts Ray in a thread of its own that
stays parked until the executor closes (Ray's daemons get a death signal tied to the thread
that started them), and `BridgedExecutor` sends work to a local pool until Ray has joined,
then to Ray; what is already on the local pool finishes there. Results do not depend on
the executor (each improver run has its stream and seed, and scoring is pure), so a run
records the same whichever took its work.

Only a Ray instance the run starts itself is bridged (no `--ray-address`, no `RAY_ADDRESS`,
no Ray this process already joined): that instance runs on this machine, under the same
sandbox mode, so the local pool gives what its node would. A cluster elsewhere is joined
before the run starts, as before.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from selftaught.executors.base import ImproverJob, Tracker, batch_scoring
from selftaught.sandbox.child_handle import Reply, RequestHandler
from selftaught.sandbox.isolation import Protection

if TYPE_CHECKING:
    from selftaught.executors.local import LocalExecutor
    from selftaught.executors.ray import RayExecutor
    from selftaught.tasks.base import Task
    from selftaught.tasks.scoring import SolutionScore

log = logging.getLogger(__name__)


def bridges(address: str | None) -> bool:
    """Whether starting the Ray executor would start a Ray instance of the run's own."""
    if address or os.environ.get("RAY_ADDRESS"):
        return False
    ray = sys.modules.get("ray")  # not imported: certainly not joined (importing it costs a second)
    return ray is None or not ray.is_initialized()


class _NotFromRay(logging.Filter):
    """Ray warns that a thread other than the main one sets no SIGTERM handler: this one means not to."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "SIGTERM handler" not in record.getMessage()


class RayStart:
    """Ray started, and later shut down, by one parked thread; `executor()` once it has joined."""

    def __init__(self, connect: Callable[[], RayExecutor], on_warning: Callable[[str], None] | None) -> None:
        self._connect = connect
        self._on_warning = on_warning
        self._executor: RayExecutor | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._park, name="ray-start", daemon=True)
        self._thread.start()

    def _park(self) -> None:
        logging.getLogger("ray").addFilter(_NotFromRay())
        logging.getLogger("ray._private.worker").addFilter(_NotFromRay())
        try:
            self._executor = self._connect()
        except BaseException as exc:  # noqa: BLE001 - the run goes on on the local pool, and says why
            self._error = exc
            message = f"Ray did not start ({exc}); the run goes on on this machine's pool"
            log.warning(message)
            if self._on_warning is not None:
                self._on_warning(message)
        self._ready.set()
        self._closing.wait()
        if self._executor is not None:
            self._executor.close()

    def executor(self) -> RayExecutor | None:
        """The Ray executor once it has joined; None while it starts, or if it could not."""
        return self._executor if self._ready.is_set() else None

    def wait(self, timeout_s: float | None = None) -> RayExecutor | None:
        """Wait for the start to end (tests, and whoever wants Ray itself)."""
        self._ready.wait(timeout_s)
        return self.executor()

    @property
    def error(self) -> BaseException | None:
        return self._error

    def close(self) -> None:
        """Shut Ray down once started; a start still under way shuts down when it ends."""
        self._closing.set()
        if self._ready.is_set():
            self._thread.join()


class BridgedExecutor:
    """The local pool until Ray has joined, then Ray (see the module docstring)."""

    name = "ray"

    def __init__(self, local: LocalExecutor, start: RayStart) -> None:
        self.local = local
        self.start = start
        self.cpu_slots = local.cpu_slots  # the same machine's cores either way
        self.bridged = 0  # improver runs and scorings the local pool took while Ray started

    @property
    def protections(self) -> list[Protection]:
        return self.local.protections  # Ray's node is this machine, held to the same mode

    def _current(self) -> LocalExecutor | RayExecutor:
        ray = self.start.executor()
        if ray is not None:
            return ray
        self.bridged += 1
        return self.local

    def run_improver(
        self, job: ImproverJob, make_handler: Callable[[], RequestHandler], tracker: Tracker | None = None
    ) -> Reply:
        return self._current().run_improver(job, make_handler, tracker)

    def score(self, task: Task, code: str, split: str, scoring: str) -> SolutionScore:
        return self._current().score(task, code, split, scoring)

    def score_many(self, task: Task, codes: list[str], split: str, scoring: str) -> list[SolutionScore]:
        current = self._current()
        score_many = batch_scoring(current)
        if score_many is not None:
            return score_many(task, codes, split, scoring)
        return [current.score(task, code, split, scoring) for code in codes]

    def close(self) -> None:
        self.start.close()
        self.local.close()
