"""What a run is opened with: executor, store, model backend, tasks, and the run context over them.

`RunSession` (runs/session.py) and the test fixtures build runs only through these
functions, so a run started from Python, from the command line or from a test takes one path.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from selftaught.config import RunConfig
from selftaught.errors import UserInputError
from selftaught.executors.base import Executor
from selftaught.models.base import ModelBackend
from selftaught.models.limits import Prices, UsageLimiter
from selftaught.runs.context import RunContext
from selftaught.runs.recorder import ProgressCallback, Recorder
from selftaught.sandbox.pool import WorkerPool
from selftaught.store.store import Store, StoreError
from selftaught.tasks.base import Task

WarningCallback = Callable[[str], None]
OPEN_WAIT_S = 60.0  # the longest the spares wait for a model client to open (models/hosted.py's OPEN_S)


def start_pool(
    mode: str, n_workers: int | None = None, on_warning: WarningCallback | None = None
) -> WorkerPool:
    """Start the sandbox pool; each missing protection is passed to `on_warning` (else warned)."""
    from selftaught.sandbox.pool import SandboxWarning

    if mode not in ("default", "strict"):
        raise UserInputError(f"unknown sandbox mode {mode!r} (use default or strict)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SandboxWarning)
        pool = WorkerPool(n_workers, mode=mode)
    for warning in caught:
        if on_warning is not None:
            on_warning(str(warning.message))
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return pool


def ready_children(config: RunConfig) -> int | None:
    """How many sandbox children a run's local pool keeps forked ahead: more under `--speculate`,
    whose waves score several meta-utility evaluations' candidates at once (sandbox/pool.py)."""
    from selftaught.sandbox.pool import SPECULATIVE_SPARES

    return SPECULATIVE_SPARES if config.speculate else None


def release_spares_once_model_opens(backend: ModelBackend, executor: Executor) -> None:
    """Let `executor` fork the spares it holds once `backend` can answer (now, unless it is still opening).

    A hosted OpenAI backend imports the SDK in a process of its own for about 0.5 s of CPU
    (models/hosted.py); on a small machine spares forked meanwhile take the cores from it, and
    delay the run's first request, while no answer, hence no scoring, can come before it is up.
    """
    release = getattr(executor, "release_spares", None)
    if release is None:
        return
    wait_open = getattr(backend, "wait_open", None)
    if wait_open is None or wait_open(0):
        release()
        return

    def release_once_open() -> None:
        wait_open(OPEN_WAIT_S)
        release()

    threading.Thread(target=release_once_open, name="spares-once-model-opens", daemon=True).start()


def _deliver(messages: list[str], on_warning: WarningCallback | None) -> None:
    from selftaught.sandbox.pool import SandboxWarning

    for message in messages:
        if on_warning is not None:
            on_warning(message)
        else:
            warnings.warn(message, SandboxWarning, stacklevel=3)


class ExecutorStart:
    """Starts the executor in a thread, so that its workers start while the model backend loads.

    The workers are processes of their own, so the two overlap (the pool's start was a
    third of a run's start-up). `result()` waits and raises what the start raised; its
    warnings are delivered then, in the caller's thread. `discard()` closes it unused. Only
    an executor whose kind allows it (the local one) starts in a thread: Ray's daemons get a
    death signal tied to the thread that starts them, so Ray starts in the caller's.
    """

    def __init__(self, config: RunConfig) -> None:
        from selftaught.executors.registry import starts_in_thread

        self._config = config
        self._messages: list[str] = []
        self._executor: Executor | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, name="executor-start", daemon=True)
        if starts_in_thread(config.executor):
            self._thread.start()
        else:  # Ray's daemons die with the thread that started them (their death signal): start it here
            self._start()

    def _start(self) -> None:
        from selftaught.executors.base import start_executor as start

        config = self._config
        try:
            address, warn, spares = config.ray_address, self._messages.append, ready_children(config)
            self._executor = start(
                config.executor,
                config.sandbox,
                ray_address=address,
                on_warning=warn,
                spares=spares,
                hold_spares=True,  # until the run's model client is up: release_spares_once_model_opens
            )
        except BaseException as exc:  # noqa: BLE001 - raised in result(), in the caller's thread
            self._error = exc

    def result(self, on_warning: WarningCallback | None = None) -> Executor:
        if self._thread.is_alive():
            self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._executor is not None
        _deliver(self._messages, on_warning)
        return self._executor

    def discard(self) -> None:
        if self._thread.is_alive():
            self._thread.join()
        if self._executor is not None:
            close_quietly(self._executor)


def open_store(path: str | Path, *, must_exist: bool = False) -> Store:
    """Open (or create) a run store; an unusable file is a UserInputError."""
    try:
        return Store.open_existing(path) if must_exist else Store.open(path)
    except (StoreError, OSError) as exc:
        raise UserInputError(str(exc)) from exc
    except Exception as exc:  # sqlite3.DatabaseError and friends: not a store we can use
        raise UserInputError(f"cannot open run store {str(path)!r}: {exc}") from exc


def resolve_tasks(config: RunConfig) -> tuple[RunConfig, list[Task]]:
    """The run's tasks, and its config with task folders recorded as absolute paths (so resume finds them)."""
    from selftaught.tasks import builtin_names, get_task

    tasks = [get_task(spec) for spec in config.tasks]
    builtin = set(builtin_names())
    specs = [
        getattr(task, "spec", None)  # a field-format folder records its format: "shinka:/abs/path"
        or (spec if spec in builtin or not Path(spec).exists() else str(Path(spec).resolve()))
        for spec, task in zip(config.tasks, tasks, strict=True)
    ]
    return config.model_copy(update={"tasks": specs}), tasks


def resolve_tasks_while_starting(
    config: RunConfig, pool: WorkerPool | Executor | None
) -> tuple[RunConfig, list[Task], ExecutorStart | None]:
    """`resolve_tasks`, with the run's executor starting meanwhile when the run starts its own
    (`pool` None) and its kind starts in a thread (the local pool): loading the tasks (their
    modules, numpy) no longer precedes the workers' start. The start is handed to the run's
    session (`RunSession(starting=...)`), or discarded if the tasks fail to load. Other kinds
    (Ray, which starts in the caller's thread) start in the session, after the tasks."""
    from selftaught.executors.registry import starts_in_thread

    early = pool is None and starts_in_thread(config.executor)
    starting = ExecutorStart(config) if early else None
    try:
        resolved, tasks = resolve_tasks(config)
    except BaseException:
        if starting is not None:
            starting.discard()
        raise
    return resolved, tasks, starting


def resolve_backend(config: RunConfig, store_path: Path) -> ModelBackend:
    from selftaught.models.registry import resolve_model

    return resolve_model(config.model, config.model_options(str(store_path)))


def fresh_usage(config: RunConfig) -> UsageLimiter:
    """The usage limiter of a run that has spent nothing yet (`max_calls`, `max_cost` at the set prices)."""
    return UsageLimiter(config.max_calls, config.max_cost, Prices.of(config))


@dataclass(frozen=True)
class Continued:
    """What a run continued from the store carries on: the usage it has spent (its limits go on
    counting from there), and the attempt it is on."""

    usage: UsageLimiter
    attempt: int = 1


def make_context(
    config: RunConfig,
    tasks: list[Task],
    *,
    backend: ModelBackend,
    store: Store,
    run_id: str,
    pool: WorkerPool | Executor,
    on_progress: ProgressCallback | None = None,
    continued: Continued | None = None,
) -> RunContext:
    """A run context with the right cache: the recorded run's answers for replay, else the store's cache."""
    from selftaught.models.cache import RecordedResponses, ResponseCache, ResponseSource
    from selftaught.models.replay import ReplayModel
    from selftaught.tasks.splits import run_tasks

    tasks = run_tasks(config, tasks, store, run_id)  # --splits fresh: drawn from the run's recorded secret

    cache: ResponseSource | None
    if isinstance(backend, ReplayModel):
        cache = RecordedResponses(store, backend.run_id)
    else:
        cache = ResponseCache(store, run_id) if config.cache else None
    if continued is None:
        continued = Continued(fresh_usage(config))
    recorder = Recorder(store, run_id, attempt=continued.attempt, on_progress=on_progress)
    return RunContext(config, tasks, pool, backend, recorder, cache=cache, limiter=continued.usage)


def close_quietly(closeable: object) -> None:
    """Close a backend or pool; closing must never hide the run's own outcome."""
    close = getattr(closeable, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception:  # noqa: BLE001 - closing must never hide the run's own outcome
        pass
