"""Helpers importable by model-written code as `from helpers import extract_code`.

UNTRUSTED SIDE: this module runs inside sandboxed children.

Inside a sandboxed child this module is registered under the top-level name
`helpers`, so improvers written for the paper run unchanged. Keep it free of
heavy imports and of anything trusted: it runs on the untrusted side.
"""

from __future__ import annotations

__all__ = ["extract_code"]


def _largest_fenced_block(text: str) -> str | None:
    """The largest fenced block of `text`, without its outer fences.

    Fences nest: a line starting with ```name opens a level, a bare ``` closes one
    (or opens, at the top level). Improvers quote code in fenced f-strings, so an
    answer that contains an improver has fences inside its fence.
    """
    best: str | None = None
    block: list[str] = []
    depth = 0
    for line in text.split("\n"):
        if line.startswith("```"):
            bare = not line[3:].strip()
            if bare and depth > 0:
                depth -= 1
                if depth == 0:
                    candidate = "\n".join(block)
                    if best is None or len(candidate) > len(best):
                        best = candidate
                    block = []
                    continue
            else:
                depth += 1
                if depth == 1:
                    continue
        if depth > 0:
            block.append(line)
    return best or None


def extract_code(answer: str | list | None) -> str | list | None:
    """The largest fenced Python block of an answer, or of each answer in a list.

    An answer without a fenced block gives None (a list gives None at that position),
    as in the reference implementation.
    """
    if isinstance(answer, str):
        return _largest_fenced_block(answer)
    if isinstance(answer, list | tuple):
        return [extract_code(item) for item in answer]
    return None
