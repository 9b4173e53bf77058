"""Unified diffs of improver sources, rendered as HTML with every line escaped."""

from __future__ import annotations

import difflib
from html import escape


def unified_lines(old: str, new: str, old_name: str = "parent", new_name: str = "improver") -> list[str]:
    return list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), fromfile=old_name, tofile=new_name, lineterm="", n=3
        )
    )


def diff_html(old: str, new: str, old_name: str = "parent", new_name: str = "improver") -> str:
    """A `<pre class="diff">` with one span per line, classed add/del/hunk; 'no change' when equal."""
    lines = unified_lines(old, new, old_name, new_name)
    if not lines:
        return '<p class="note">no change from its parent</p>'
    out = []
    for line in lines:
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        out.append(f'<span class="{kind}">{escape(line, quote=False)}</span>')
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return f'<p class="note">{added} lines added, {removed} removed</p><pre class="diff">{"".join(out)}</pre>'
