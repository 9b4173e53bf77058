"""The EVOLVE-BLOCK convention shared by OpenEvolve and ShinkaEvolve programs.

A program marks the part a search may change with a line holding `EVOLVE-BLOCK-START` and
a later line holding `EVOLVE-BLOCK-END` (usually as `# EVOLVE-BLOCK-START` comments); a
program may hold several blocks, and one without markers is evolvable as a whole. The
orchestrator reads these markers as text, never running the program: to tell the model
which part it may change, and, for the ShinkaEvolve format, to refuse a candidate whose
text outside the blocks differs from the initial program's.
"""

from __future__ import annotations

from dataclasses import dataclass

START, END = "EVOLVE-BLOCK-START", "EVOLVE-BLOCK-END"


class MalformedBlocks(ValueError):
    """Markers out of order: an END without a START, a START inside a block, or no END."""


@dataclass(frozen=True)
class Blocks:
    """Where the evolvable blocks lie: (first, last) line numbers, 1-based, markers included."""

    spans: tuple[tuple[int, int], ...]

    @property
    def marked(self) -> bool:
        return bool(self.spans)


def find_blocks(source: str) -> Blocks:
    """The program's blocks; MalformedBlocks if its markers do not pair up."""
    spans: list[tuple[int, int]] = []
    opened: int | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        if START in line:
            if opened is not None:
                raise MalformedBlocks(f"line {number}: {START} inside the block opened on line {opened}")
            opened = number
        elif END in line:
            if opened is None:
                raise MalformedBlocks(f"line {number}: {END} without a {START} before it")
            spans.append((opened, number))
            opened = None
    if opened is not None:
        raise MalformedBlocks(f"line {opened}: {START} is never closed by {END}")
    return Blocks(tuple(spans))


def _fixed_parts(source: str) -> list[list[str]] | None:
    """The runs of lines outside the blocks (the marker lines included), or None if malformed."""
    try:
        blocks = find_blocks(source)
    except MalformedBlocks:
        return None
    lines = [line.rstrip() for line in source.splitlines()]
    parts: list[list[str]] = []
    position = 0
    for first, last in blocks.spans:
        parts.append(lines[position:first])  # up to and including the START line
        position = last - 1  # the END line starts the next fixed part
    parts.append(lines[position:])
    while parts and parts[-1] and parts[-1][-1] == "":
        parts[-1].pop()  # trailing blank lines do not count as an edit
    return parts


def outside_edit(initial: str, candidate: str) -> str | None:
    """Why `candidate` changes text outside the initial program's blocks, or None if it does not.

    Only the text between each START and its END may differ (trailing spaces and trailing
    blank lines aside); the markers themselves must stay, in the same number.
    """
    fixed = _fixed_parts(initial)
    if fixed is None or len(fixed) == 1:
        return None  # no blocks (or malformed ones, refused when the task loads): all evolvable
    got = _fixed_parts(candidate)
    if got is None:
        return "the EVOLVE-BLOCK markers do not pair up"
    if len(got) != len(fixed):
        return f"{len(got) - 1} EVOLVE-BLOCKs where the initial program has {len(fixed) - 1}"
    for index, (want, have) in enumerate(zip(fixed, got, strict=True)):
        if want != have:
            where = "before the first block" if index == 0 else f"after block {index}"
            for offset, (a, b) in enumerate(zip(want, have, strict=False)):
                if a != b:
                    return f"the code {where} changed (its line {offset + 1}: {b[:80]!r}, was {a[:80]!r})"
            return f"the code {where} changed ({len(have)} lines, was {len(want)})"
    return None


def marking_note(source: str, enforced: bool) -> str:
    """The sentence shown to the model about which part of the program it may change."""
    blocks = find_blocks(source)
    if not blocks.marked:
        return "The whole program may be rewritten (it has no EVOLVE-BLOCK markers)."
    where = ", ".join(f"lines {first}-{last}" for first, last in blocks.spans)
    rule = (
        "A program whose text outside the blocks differs from the initial program's is rejected and scores 0."
        if enforced
        else "Changing code outside the blocks is allowed, but the evaluator calls the program as it is."
    )
    return (
        f"Only the code between the '# {START}' and '# {END}' lines ({where} of the initial program) "
        f"is meant to change. {rule}"
    )
