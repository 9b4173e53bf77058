"""Random 3-SAT with a planted solution, with the reference's instances.

Formula i of a split: `random.seed(base + i)`, n = randint(5, 50), m = 4n; a hidden
assignment of n coin flips (index 0 unused), then up to m^2 tries of `sample(1..n, 3)`
with a coin flip per sign, keeping the clauses the assignment satisfies until m are kept,
then a shuffle. Every formula is satisfiable. The candidate gets the formula (clauses of
three signed 1-based variable indices) and returns a truth value per variable, value > 0
meaning true: a list indexed by variable (index 0 unused, at least as long as the
largest variable + 1) or a dict keyed by variable. An instance scores 1 if every clause
is satisfied, else 0. The hidden limit is 100 ms per formula while the shown text says
10 ms: the paper's discrepancy, kept on purpose.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from selftaught.tasks.base import Instance, ReferenceRules, ReferenceVerdict
from selftaught.tasks.seeded import SeededTask, legacy_streams

MIN_VARS, MAX_VARS = 5, 50
CLAUSES_PER_VAR = 4
REFERENCE_EPS = 1e-2


def planted_formula(rnd: random.Random, n: int, m: int) -> tuple[list[list[int]], list[bool]]:
    """The reference's generator: `m` clauses satisfied by a hidden assignment, shuffled."""
    planted = [False] + [rnd.random() < 0.5 for _ in range(n)]
    formula: list[list[int]] = []
    for _ in range(m**2):
        variables = rnd.sample(range(1, n + 1), 3)
        clause = [var if rnd.random() < 0.5 else -var for var in variables]
        if any(planted[abs(lit)] == (lit > 0) for lit in clause):
            formula.append(clause)
        if len(formula) == m:
            break
    rnd.shuffle(formula)
    return formula, planted


def satisfies(formula: list[list[int]], assignment: Any) -> bool:
    """The reference's check: `assignment[v] > 0` is variable v's value (it may raise)."""
    return all(any((assignment[abs(lit)] > 0) == (lit > 0) for lit in clause) for clause in formula)


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return value > 0
    if isinstance(value, float | np.floating) and math.isfinite(value):
        return value > 0
    return None


def _int_keys(output: dict) -> dict[int, Any] | None:
    """A dict keyed by variable; keys arrive as strings over the wire ("3"), so both are taken."""
    keyed: dict[int, Any] = {}
    for key, value in output.items():
        if isinstance(key, str) and key.isdigit():
            key = int(key)
        if isinstance(key, bool) or not isinstance(key, int):
            return None
        keyed[key] = value
    return keyed


def as_assignment(output: Any, variables: set[int]) -> dict[int, bool] | None:
    """Truth values of `variables` from a list indexed by variable or a dict keyed by it, or None."""
    if isinstance(output, np.ndarray):
        if output.ndim != 1:
            return None
        output = output.tolist()
    if isinstance(output, dict):
        keyed = _int_keys(output)
        if keyed is None or not variables <= keyed.keys():
            return None
        values = {v: _truth(keyed[v]) for v in variables}
    elif isinstance(output, list | tuple):
        if len(output) <= max(variables, default=0):
            return None
        values = {v: _truth(output[v]) for v in variables}
    else:
        return None
    if any(value is None for value in values.values()):
        return None
    return values  # type: ignore[return-value]


class ThreeSatTask(SeededTask):
    """Planted random 3-SAT: the fraction of formulas solved within the time limit."""

    name = "three_sat"
    data_folder = "three_sat"
    time_limit_s = 0.1
    split_sizes = {"val": 30, "test": 30}
    description = "random 3-SAT with a planted solution, n ~ U[5, 50], m = 4n"
    reference_rules = ReferenceRules(
        floor=REFERENCE_EPS,
        floor_on_error=True,
        floor_on_timeout=True,
        minimum=REFERENCE_EPS,
        load_failure=REFERENCE_EPS,
    )

    def make_instance(self, seed: int) -> Instance:
        rnd = legacy_streams(seed).py
        n = rnd.randint(MIN_VARS, MAX_VARS)
        formula, planted = planted_formula(rnd, n, CLAUSES_PER_VAR * n)
        return Instance(args=(formula,), answer=planted)

    def check(self, instance: Instance, output: Any) -> float:
        formula = instance.args[0]
        values = as_assignment(output, {abs(lit) for clause in formula for lit in clause})
        if values is None:
            return 0.0
        return 1.0 if all(any(values[abs(lit)] == (lit > 0) for lit in c) for c in formula) else 0.0

    def reference_check(self, instance: Instance, output: Any, elapsed_s: float) -> ReferenceVerdict:
        formula = instance.args[0]
        if isinstance(output, dict):  # undo the wire's string keys: in the reference they were ints
            output = _int_keys(output) or output
        if satisfies(formula, output):  # raises on None, short lists, strings...: the split floors
            return ReferenceVerdict(1.0, lenient=self.check(instance, output) < 1.0)
        return ReferenceVerdict(REFERENCE_EPS)
