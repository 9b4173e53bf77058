"""Scrub secrets out of text that a model server sent back before anyone else sees it.

A server that refuses a key may echo it in its error body (some proxies copy the
`Authorization` header; OpenAI masks it as `sk-ab***...wxyz`, which still gives away the
prefix, the suffix and the length). Model errors travel to model-written code, the run
store, the report and logs, so they are scrubbed once, where the model adapter turns a
server's failure into our error. Removed: the key itself and every run of 4 or more
characters that also occurs in the key (case-insensitive, so prefixes, suffixes and
masked forms go too), `Authorization`/`api-key` header values, `Bearer`/`Basic`
credentials, anything shaped like a key (`sk-...`, masked or not), long high-entropy
tokens, and letters or digits glued to any of these (what a mask leaves of a key's ends).
Each removed run becomes `[REDACTED]`, and adjacent ones merge, so a mask's length is lost.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

REDACTED = "[REDACTED]"
SHORTEST_SECRET_PART = 4  # a run of this many characters shared with a key is removed
HIGH_ENTROPY_MIN_LENGTH = 20
HIGH_ENTROPY_BITS_PER_CHAR = 3.0

_MASK_CHARS = r"\*\.…•xX#_\-"
_HEADER = re.compile(
    r"""(?ix)
    (?P<name>\b(?:proxy-)?authorization|\bx-api-key|\bapi[-_]?key|\bopenai[-_]api[-_]key)
    (?P<sep>["']?\s*[:=]\s*["']?)
    (?P<value>[^"'\r\n,;}]*)
    """
)
_SCHEME = re.compile(r"(?i)\b(?P<scheme>bearer|basic|token)(?P<space>\s+)(?P<value>[^\s\"',;}]+)")
_KEY_SHAPED = re.compile(rf"(?i)(?<![A-Za-z0-9])(?:sk|pk|rk)[-_][A-Za-z0-9{_MASK_CHARS}]*")
_MASK_RUN = re.compile(r"[\*•]{3,}")
_JOINED_MARKERS = re.compile(r"\[REDACTED\](?:[\*\.…•\-_]*\[REDACTED\])+")
_GLUED = re.compile(r"[A-Za-z0-9_\-]*\[REDACTED\][A-Za-z0-9_\-]*")
_TOKEN = re.compile(rf"[A-Za-z0-9_\-+=]{{{HIGH_ENTROPY_MIN_LENGTH},}}")


class Redactor:
    """Scrubs one set of secrets (and anything key-shaped) out of text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._grams: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            lowered = _fold(secret)
            if len(lowered) < SHORTEST_SECRET_PART:
                self._grams.add(lowered)  # a tiny key: only the whole of it can be matched
                continue
            for start in range(len(lowered) - SHORTEST_SECRET_PART + 1):
                self._grams.add(lowered[start : start + SHORTEST_SECRET_PART])

    def scrub(self, text: str) -> str:
        """`text` with every secret part, credential and key-shaped token replaced by [REDACTED]."""
        text = _HEADER.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}" if m["value"].strip() else m[0], text)
        text = _SCHEME.sub(lambda m: f"{m['scheme']}{m['space']}{REDACTED}", text)
        text = _KEY_SHAPED.sub(REDACTED, text)
        text = _TOKEN.sub(lambda m: REDACTED if _looks_random(m[0]) else m[0], text)
        text = _MASK_RUN.sub(REDACTED, text)
        # the markers already placed are kept whole; only the text between them is searched
        text = REDACTED.join(self._scrub_secret_parts(piece) for piece in text.split(REDACTED))
        text = _GLUED.sub(REDACTED, text)  # the 1-3 characters a mask leaves at either end go too
        return _JOINED_MARKERS.sub(REDACTED, text)  # prefix, mask and suffix become one: no length

    def _scrub_secret_parts(self, text: str) -> str:
        if not self._grams:
            return text
        lowered = _fold(text)
        covered = [False] * len(text)
        for width in {len(g) for g in self._grams}:
            for start in range(len(lowered) - width + 1):
                if lowered[start : start + width] in self._grams:
                    for index in range(start, start + width):
                        covered[index] = True
        if not any(covered):
            return text
        pieces: list[str] = []
        index = 0
        while index < len(text):
            if covered[index]:
                while index < len(text) and covered[index]:
                    index += 1
                pieces.append(REDACTED)
            else:
                pieces.append(text[index])
                index += 1
        return "".join(pieces)


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """One-off scrub of `text` (see Redactor)."""
    return Redactor(secrets).scrub(text)


def _fold(text: str) -> str:
    """Lower-case character by character, keeping one character per character (indexes line up)."""
    return "".join(low if len(low := char.lower()) == 1 else char for char in text)


def _looks_random(token: str) -> bool:
    """A long token with letters and digits whose characters are spread like a random string's."""
    if not (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)):
        return False
    counts = Counter(token)
    entropy = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    return entropy >= HIGH_ENTROPY_BITS_PER_CHAR
