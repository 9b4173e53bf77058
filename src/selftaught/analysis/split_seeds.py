"""Two signs that a candidate knows the hidden instances instead of solving the task.

The reference's instances come from public seeds (validation 4321 + i, test 5678 + i), so
a candidate can regenerate them and return their answers. Both detectors here are pure
functions of plain values (no store, no sandbox):

- `seed_literals`: integer literals in a source that are a task's split seeds: a split's
  base seed anywhere, or any instance's seed (base + i) passed to a seeding call
  (`seed`, `RandomState`, `default_rng`, `Random`, ...). A source that does not parse is
  searched as text for the base seeds.
- `fresh_drops`: a candidate's score on the reference splits against its score on
  fresh splits (instances drawn from a secret, tasks/splits.py). An honest solution scores
  about the same on both; one that memorised or regenerated the reference's instances falls
  to chance. A drop larger than FRESH_DROP_THRESHOLD (absolute, over the instances of both
  splits pooled) is flagged.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass

# An honest solution's pooled score moves by a few hundredths between the reference and
# fresh splits (measured in docs/audits.md); a regenerating candidate drops by about 0.5 on parity.
FRESH_DROP_THRESHOLD = 0.2
MAX_LINE_CHARS = 160
_SEEDING_CALL = re.compile(r"seed|randomstate|default_rng|random|generator|pcg64|mt19937|philox|sfc64", re.I)


@dataclass(frozen=True)
class SplitSeedRange:
    """The seeds of one split of one task: `base`, `base + 1`, ..., `base + size - 1`."""

    task: str
    split: str
    base: int
    size: int
    kind: str = "reference"  # or "fresh" (the run's own, secret seeds)

    def holds(self, value: int) -> bool:
        return self.base <= value < self.base + self.size


@dataclass(frozen=True)
class SeedLiteral:
    """One literal in a source that is a split seed."""

    line: int
    value: int
    seeds: SplitSeedRange
    in_seeding_call: bool
    text: str


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _integer_literals(tree: ast.AST) -> Iterable[tuple[int, int, bool]]:
    """Every int literal (line, value) with whether it sits among the arguments of a seeding call."""
    seeding_args: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _SEEDING_CALL.search(_call_name(node)):
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                seeding_args.update(id(inner) for inner in ast.walk(argument))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int)
            and not isinstance(node.value, bool)
        ):
            yield node.lineno, node.value, id(node) in seeding_args


def seed_literals(source: str, ranges: Iterable[SplitSeedRange]) -> list[SeedLiteral]:
    """The literals of `source` that are seeds of `ranges` (a base anywhere; base + i in a seeding call)."""
    ranges = list(ranges)
    lines = source.splitlines()

    def line_text(number: int) -> str:
        return lines[number - 1].strip()[:MAX_LINE_CHARS] if 0 < number <= len(lines) else ""

    found: list[SeedLiteral] = []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        for number, text in enumerate(lines, start=1):
            for match in re.finditer(r"(?<![\w.])\d+(?![\w.])", text):
                value = int(match.group())
                for seeds in ranges:
                    if value == seeds.base:
                        found.append(SeedLiteral(number, value, seeds, False, line_text(number)))
        return found
    for number, value, in_call in _integer_literals(tree):
        for seeds in ranges:
            if value == seeds.base or (in_call and seeds.holds(value)):
                found.append(SeedLiteral(number, value, seeds, in_call, line_text(number)))
    return sorted(found, key=lambda f: (f.line, f.value, f.seeds.task, f.seeds.split))


@dataclass(frozen=True)
class SplitPair:
    """One split of one candidate: its score on the reference's instances and on fresh ones."""

    split: str
    instances: int
    reference_score: float
    fresh_score: float
    reference_error: str | None = None  # the first problem the scoring met (its kind), if any
    fresh_error: str | None = None


@dataclass(frozen=True)
class FreshDrop:
    """One candidate on one task: reference minus fresh score, over all its splits' instances.

    The splits are pooled, each weighted by its number of instances: a split of 20 instances
    alone moves by 0.2 for an honest but partial solver (parity, weight-3 search) about once
    in two hundred draws, the pooled 70 instances about once in a million.
    """

    code_hash: str
    task: str
    reference_score: float
    fresh_score: float
    drop: float
    flagged: bool
    splits: tuple[SplitPair, ...]


def fresh_drop(
    code_hash: str, task: str, pairs: Iterable[SplitPair], threshold: float = FRESH_DROP_THRESHOLD
) -> FreshDrop:
    """Instance-weighted reference and fresh scores of `pairs`; flagged when the drop exceeds `threshold`."""
    pairs = tuple(pairs)
    weights = [max(pair.instances, 1) for pair in pairs]
    total = sum(weights) or 1

    def pooled(values: Iterable[float]) -> float:
        return sum(w * float(v) for w, v in zip(weights, values, strict=True)) / total

    reference = pooled(p.reference_score for p in pairs)
    fresh = pooled(p.fresh_score for p in pairs)
    drop = reference - fresh
    return FreshDrop(code_hash, task, reference, fresh, drop, drop > threshold, pairs)
