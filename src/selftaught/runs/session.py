"""One run from open to close: what it runs with, and the status it is recorded with when it ends.

Every kind of run (a STOP run and its resume, an improver's evaluation, an experiment, an
audit) opens a `RunSession`, records or continues its `runs` row through it, does its work
inside the `with` block, and leaves the ending to the session: how the block ended becomes
the run's status (finished; stopped when a limit stopped it cleanly, else failed; failed on
any other error; interrupted on Ctrl-C), written after whatever is pending is flushed, and
then the executor and model backend it opened are closed (an `ExitStack`, so a failure while
opening leaves nothing behind). A `RunStopped` and a Ctrl-C end the block quietly unless the
caller asks for them to propagate (`absorb`); any other error is recorded, then raised.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from selftaught.config import RunConfig
from selftaught.executors.base import Executor
from selftaught.models.base import ModelBackend
from selftaught.models.limits import RunStopped
from selftaught.runs.calls import RunHooks, Status
from selftaught.runs.start import (
    Continued,
    ExecutorStart,
    close_quietly,
    make_context,
    open_store,
    release_spares_once_model_opens,
    resolve_backend,
)
from selftaught.sandbox.pool import WorkerPool
from selftaught.store.store import Store, default_store_path

if TYPE_CHECKING:
    from selftaught.runs.context import RunContext
    from selftaught.runs.recorder import Recorder
    from selftaught.tasks.base import Task

StoreLike = Store | str | os.PathLike[str] | None
INTERRUPTED = "interrupted by the user"
QUIET_ENDINGS: tuple[type[BaseException], ...] = (RunStopped, KeyboardInterrupt)


class RunSession:
    """Opens the executor, model backend and store of one run; records how the run ended and closes them.

    `pool`: an executor the caller started (used, left open); else one is started unless
    `executor` is False (audits run no model-written code), or `starting` is one the caller
    began starting (`resolve_tasks_while_starting`; waited for, then closed like the session's
    own). `backend`: a model backend to use instead of the configured one; the session closes
    it either way. `absorb`: the endings
    that do not propagate out of the `with` block once recorded.
    """

    def __init__(
        self,
        config: RunConfig,
        *,
        store: StoreLike,
        pool: WorkerPool | Executor | None = None,
        executor: bool = True,
        backend: ModelBackend | None = None,
        starting: ExecutorStart | None = None,
        hooks: RunHooks | None = None,
        absorb: tuple[type[BaseException], ...] = QUIET_ENDINGS,
    ) -> None:
        self.config = config
        self.hooks = hooks or RunHooks()
        self.absorb = absorb
        self.store_path = store.path if isinstance(store, Store) else Path(store or default_store_path())
        self._given_store = store if isinstance(store, Store) else None
        self._given_pool = pool
        self._starting = starting
        self._start_executor = executor and pool is None and starting is None
        self._given_backend = backend
        self._stack = ExitStack()
        self.run_id: str | None = None
        self.ctx: RunContext | None = None
        self.recorder: Recorder | None = None
        self.status: Status = "failed"
        self.reason: str | None = None
        self._ended: tuple[Status, str | None] | None = None

    # --- opening ---------------------------------------------------------------------------------
    def __enter__(self) -> RunSession:
        with ExitStack() as stack:
            # the executor starts in a thread while the backend loads; the sandbox is checked before
            # the store is opened, so a strict-mode refusal leaves no store behind
            starting = self._starting or (ExecutorStart(self.config) if self._start_executor else None)
            opened: list[ModelBackend] = []

            def close() -> None:  # the executor first, then the backend
                if starting is not None:
                    starting.discard()
                for backend in opened:
                    close_quietly(backend)

            stack.callback(close)
            self.backend = self._given_backend or resolve_backend(self.config, self.store_path)
            opened.append(self.backend)
            self.pool = self._given_pool
            if starting is not None:  # the session's own executor: it holds its spares until the model opens
                executor = starting.result(self.hooks.on_warning)
                release_spares_once_model_opens(self.backend, executor)
                self.pool = executor
            self.store = self._given_store or open_store(self.store_path)
            self._stack = stack.pop_all()
        return self

    def record(self, kind: str, recorded: dict[str, Any]) -> str:
        """Record a new run of `kind` with the settings `recorded`; its id."""
        identity = getattr(self.backend, "identity", None)
        self.run_id = self.store.new_run(kind, recorded, self.config.model, identity)
        return self.run_id

    def continue_run(self, run_id: str, note: str) -> str:
        """Mark a recorded run running again (`note` says why); this session ends it."""
        self.store.set_run_status(run_id, "running", note)
        self.run_id = run_id
        return run_id

    def context(self, tasks: list[Task], continued: Continued | None = None) -> RunContext:
        """The run context over this session's executor, backend and store (`continued`: a resumed run)."""
        assert self.run_id is not None, "record or continue the run first"
        if self.pool is None:
            raise RuntimeError("a run context needs an executor; this session started none")
        self.ctx = make_context(
            self.config,
            tasks,
            backend=self.backend,
            store=self.store,
            run_id=self.run_id,
            pool=self.pool,
            on_progress=self.hooks.on_progress,
            continued=continued,
        )
        self.recorder = self.ctx.recorder
        return self.ctx

    def end(self, status: Status, reason: str | None = None) -> None:
        """End the run with this status even though the block goes on to its end without an error."""
        self._ended = (status, reason)

    # --- ending ----------------------------------------------------------------------------------
    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        try:
            self._ending(exc)
            if self.recorder is not None:
                self.recorder.seal()  # before the executor closes under scorings still in flight
            if self.ctx is not None:
                self.ctx.scorer.close()  # prefetched scores nobody asked for are not recorded
            if self.run_id is not None:
                if self.recorder is not None:
                    self.recorder.flush_all()
                self.store.set_run_status(self.run_id, self.status, self.reason)
        finally:
            self._stack.close()
        return exc is not None and self.run_id is not None and isinstance(exc, self.absorb)

    def _ending(self, exc: BaseException | None) -> None:
        if exc is None:
            self.status, self.reason = self._ended or ("finished", None)
        elif isinstance(exc, RunStopped):
            self._stop(exc.reason, exc.clean)
            self.status, self.reason = ("stopped" if exc.clean else "failed"), exc.reason
        elif isinstance(exc, KeyboardInterrupt):
            self._stop(INTERRUPTED)
            self.status, self.reason = "interrupted", INTERRUPTED
        else:
            self.status, self.reason = "failed", f"{exc.__class__.__name__}: {exc}"
            self._stop(self.reason)

    def _stop(self, reason: str, clean: bool = False) -> None:
        if self.ctx is not None:
            self.ctx.control.stop(reason, clean)
