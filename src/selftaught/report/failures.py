"""Why a candidate failed, in words a user acts on: recorded error kinds and texts, classified."""

from __future__ import annotations

import re

_MISSING_MODULE = re.compile(r"No module named '([^']+)'")
_EXCEPTION_NAME = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning))\b", re.M)

NO_CODE = "no code block in the answer"


def classify(error_kind: str | None, error: str | None) -> str | None:
    """A short reason for a recorded failure (None when nothing failed).

    Import of a missing module names the module; an exception names its type; time
    limits, crashes and malformed outputs each have one label.
    """
    if not error_kind:
        return None
    text = error or ""
    missing = _MISSING_MODULE.search(text)
    if missing:
        return f"missing module {missing.group(1).split('.')[0]}"
    if error_kind == "load_error":
        if "SyntaxError" in text or "IndentationError" in text:
            return "syntax error"
        name = _exception_name(text)
        return f"exception on load: {name}" if name else "does not load"
    if error_kind in ("timeout", "time_limit"):
        return "timeout"
    if error_kind == "exception":
        name = _exception_name(text)
        return f"exception: {name}" if name else "exception"
    if error_kind in ("check_error", "protocol", "bad_result"):
        return "invalid answer"
    if error_kind == "missing_entry":
        return "entry function missing"
    if error_kind == "empty":
        return NO_CODE
    if error_kind == "crashed":
        return "crashed (killed or out of memory)"
    if error_kind == "flood":
        return "flood of refused requests (stopped)"
    return error_kind.replace("_", " ")


def _exception_name(text: str) -> str | None:
    names = _EXCEPTION_NAME.findall(text)
    return names[-1] if names else None
