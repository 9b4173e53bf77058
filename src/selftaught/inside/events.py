"""Safety events an improver's child notices and reports (inside the sandbox).

`Reporter` tells the orchestrator when improver code tampers with
its budget proxies, builds a new model object, or imports a network, model or process
module; each report names the improver line that did it. Reports are a record, not a
defence: budgets are enforced by the orchestrator whatever the child says or hides.

The orchestrator accepts them through `selftaught.sandbox.event_filter.EventFilter`: known
`KINDS` only, with small details, and a few per child.
"""

from __future__ import annotations

import builtins
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

KINDS = frozenset(
    {
        "budget_tamper",  # assigned budget, uses or max_responses_per_call on a proxy
        "new_model_object",  # built another language model (or utility) object
        "network_import",  # imported an HTTP client or socket module
        "model_import",  # imported a model client or this package
        "process_import",  # imported subprocess, multiprocessing, ctypes, ...
    }
)

_IMPORT_KINDS = {
    "network_import": (
        "socket", "ssl", "http", "urllib.request", "urllib3", "requests", "httpx", "httpx2", "httpcore",
        "aiohttp", "httplib2", "websocket", "websockets", "ftplib", "smtplib", "xmlrpc", "pycurl",
    ),
    "model_import": ("openai", "anthropic", "litellm", "selftaught", "language_model", "transformers"),
    "process_import": ("subprocess", "multiprocessing", "ctypes", "pty", "concurrent.futures.process"),
}  # fmt: skip


def import_kind(module: str) -> str | None:
    """The event kind importing `module` is reported as, or None for an ordinary module."""
    for kind, names in _IMPORT_KINDS.items():
        if any(module == name or module.startswith(name + ".") for name in names):
            return kind
    return None


class Reporter:
    """Sends events for the improver module named `module_name`."""

    def __init__(self, send: Callable[[str, dict[str, Any]], None], source: str, module_name: str) -> None:
        self._send = send
        self._lines = source.splitlines()
        self._module = module_name
        self._filename = f"<{module_name}>"
        self._imports_seen: set[str] = set()

    def where(self) -> dict[str, Any]:
        """The innermost line of improver code on the stack."""
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == self._filename:
                number = frame.f_lineno
                text = self._lines[number - 1].strip() if 0 < number <= len(self._lines) else ""
                return {"line": number, "code": text[:300]}
            frame = frame.f_back
        return {}

    def report(self, kind: str, **detail: Any) -> None:
        """Send one event; never lets a failure to report disturb the improver."""
        try:
            self._send(kind, {**detail, **self.where()})
        except Exception:  # noqa: BLE001
            pass

    def _importer_is_improver(self) -> bool:
        """Whether the code asking for an import (past importlib's own frames) is the improver's."""
        frame: FrameType | None = sys._getframe(2)
        while frame is not None and (
            frame.f_code.co_filename.startswith("<frozen importlib")
            or frame.f_code.co_filename.endswith(("importlib/__init__.py", "events.py"))
        ):
            frame = frame.f_back
        return frame is not None and frame.f_code.co_filename == self._filename

    def _imported(self, module: str) -> None:
        kind = import_kind(module)
        if kind is not None and module not in self._imports_seen:
            self._imports_seen.add(module)
            self.report(kind, module=module)

    def install_import_hook(self) -> None:
        """Report imports that improver code makes itself (statements and importlib alike)."""
        original = builtins.__import__
        reporter = self

        def hooked(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0):
            if level == 0 and isinstance(globals, dict) and globals.get("__name__") == reporter._module:
                reporter._imported(name)
                for item in fromlist or ():
                    if isinstance(item, str) and item != "*":
                        reporter._imported(f"{name}.{item}")
            return original(name, globals, locals, fromlist, level)

        class _Finder:
            @staticmethod
            def find_spec(fullname: str, path: Any = None, target: Any = None) -> None:
                if reporter._importer_is_improver():
                    reporter._imported(fullname)
                return None

        builtins.__import__ = hooked
        sys.meta_path.insert(0, _Finder)  # type: ignore[arg-type]
