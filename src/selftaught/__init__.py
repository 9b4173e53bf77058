"""selftaught: STOP, the Self-Taught Optimizer.

Code that uses a language model to improve programs, and then improves itself.
Model-written code only ever runs in sandboxed worker processes. The public API
(`start_run`, `resume_run`, `evaluate_improver`, `open_store`) is in `selftaught.api`
and is imported from here on first use, so `import selftaught` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__: str  # set on first use (see __getattr__)

if TYPE_CHECKING:
    from selftaught.api import (
        EvaluationResult,
        RunHooks,
        RunResult,
        RunStart,
        evaluate_improver,
        open_store,
        resume_run,
        start_run,
    )
    from selftaught.config import RunConfig, load_config
    from selftaught.errors import UserInputError
    from selftaught.store import RunStore

__all__ = [
    "EvaluationResult",
    "RunConfig",
    "RunHooks",
    "RunResult",
    "RunStart",
    "RunStore",
    "UserInputError",
    "__version__",
    "evaluate_improver",
    "load_config",
    "open_store",
    "resume_run",
    "start_run",
]

_HOMES = {
    "RunConfig": "selftaught.config",
    "load_config": "selftaught.config",
    "UserInputError": "selftaught.errors",
    "RunStore": "selftaught.store",
}


def __getattr__(name: str) -> Any:
    """Import the public names lazily (the API pulls in numpy, pydantic and the sandbox)."""
    if name == "__version__":  # looked up on first use: importlib.metadata costs tens of ms at start-up
        globals()["__version__"] = _version()
        return globals()["__version__"]
    if name not in __all__:
        raise AttributeError(f"module 'selftaught' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES.get(name, "selftaught.api")), name)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("selftaught")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.1.0"
