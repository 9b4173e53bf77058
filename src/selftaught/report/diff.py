"""Unified diffs of improver sources, rendered as HTML (templates/diff.html.j2) with every line escaped."""

from __future__ import annotations

import difflib

from markupsafe import Markup


def unified_lines(old: str, new: str, old_name: str = "parent", new_name: str = "improver") -> list[str]:
    return list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), fromfile=old_name, tofile=new_name, lineterm="", n=3
        )
    )


def line_kind(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return "ctx"


def diff_html(old: str, new: str, old_name: str = "parent", new_name: str = "improver") -> Markup:
    """A `<pre class="diff">` with one span per line, classed add/del/hunk; 'no change' when equal."""
    from selftaught.report.html import render

    lines = unified_lines(old, new, old_name, new_name)
    return render(
        "diff.html.j2",
        lines=[(line_kind(line), line) for line in lines],
        added=sum(1 for line in lines if line.startswith("+") and not line.startswith("+++")),
        removed=sum(1 for line in lines if line.startswith("-") and not line.startswith("---")),
    )
