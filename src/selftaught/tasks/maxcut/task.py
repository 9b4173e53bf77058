"""Weighted Max-Cut on dense random graphs, with the reference's instances.

Graph i of a split: `random.seed(base + i)`, then n = randint(50, 200), then for each
pair i < j in row order one `random()` < 0.4 decides the edge and, if so, `randint(1, 10)`
its weight. The candidate gets the symmetric float adjacency matrix (zero diagonal) and
returns a partition: one label per node. Any two distinct labels are accepted (as in the
reference); a partition of the wrong length, with a third label, or with labels that are
not plain values (NaN, lists, None) scores 0.

Normalizer: an instance scores the weight of the cut divided by the total edge weight of
the graph, in [0, 1] by construction (a random partition gets about 0.5). The reference
divided the raw cut weight by the maximum edge weight (10), which is not bounded by 1;
see docs/tasks.md.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from selftaught.tasks.base import Instance, ReferenceRules, ReferenceVerdict, SplitFloor
from selftaught.tasks.seeded import SeededTask, legacy_streams

MIN_NODES, MAX_NODES = 50, 200
P_EDGE = 0.4
MAX_WEIGHT = 10
REFERENCE_EPS = 1e-2


def random_graph(rnd: random.Random, n: int) -> np.ndarray:
    """The reference's symmetric weight matrix, drawn pair by pair from `rnd`."""
    draw, weight = rnd.random, rnd.randint
    rows, cols, values = [], [], []
    for i in range(n):
        for j in range(i + 1, n):
            if draw() < P_EDGE:
                rows.append(i)
                cols.append(j)
                values.append(weight(1, MAX_WEIGHT))
    matrix = np.zeros((n, n))
    matrix[rows, cols] = values
    return matrix + matrix.T


def cut_weight(weights: np.ndarray, sides: np.ndarray) -> float:
    """Total weight of edges whose endpoints lie on different sides (sides: 0/1 per node)."""
    x = sides.astype(np.float64)
    return float(x @ weights @ (1.0 - x))


def _plain_label(label: Any) -> bool:
    if isinstance(label, float | np.floating):
        return math.isfinite(label)
    return isinstance(label, bool | int | str | np.integer | np.bool_)


def as_sides(output: Any, n: int) -> np.ndarray | None:
    """The output as a 0/1 vector of length `n` (at most two distinct plain labels), or None."""
    if isinstance(output, np.ndarray):
        if output.ndim != 1:
            return None
        output = output.tolist()
    if not isinstance(output, list | tuple | str) or len(output) != n:
        return None
    if not all(_plain_label(label) for label in output):
        return None
    distinct = list(dict.fromkeys(output))
    if len(distinct) > 2:
        return None
    return np.fromiter((label != distinct[0] for label in output), dtype=np.int8, count=n)


def reference_cut(weights: np.ndarray, partition: Any) -> float:
    """The reference's cut: every pair whose labels compare unequal (`!=`), whatever the labels."""
    n = len(weights)
    total = 0.0
    for i in range(n):
        row = weights[i]
        label = partition[i]
        for j in range(i + 1, n):
            if label != partition[j]:  # compared for every pair, as in the reference
                total += row[j]
    return total


class MaxCutTask(SeededTask):
    """Max-Cut: mean over graphs of cut weight / total edge weight, 100 ms per graph."""

    name = "maxcut"
    data_folder = "maxcut"
    time_limit_s = 0.1
    split_sizes = {"val": 100, "test": 100}
    description = "weighted Max-Cut, 50-200 nodes, p = 0.4, weights 1..10"
    reference_rules = ReferenceRules(
        floor=REFERENCE_EPS,
        floor_on_error=True,
        floor_on_timeout=True,
        minimum=REFERENCE_EPS,
        load_failure=REFERENCE_EPS,
    )

    def make_instance(self, seed: int) -> Instance:
        rnd = legacy_streams(seed).py
        n = rnd.randint(MIN_NODES, MAX_NODES)
        weights = random_graph(rnd, n)
        return Instance(args=(weights,), answer=float(np.triu(weights, k=1).sum()))

    def check(self, instance: Instance, output: Any) -> float:
        weights = instance.args[0]
        sides = as_sides(output, len(weights))
        if sides is None or instance.answer <= 0:
            return 0.0
        return cut_weight(weights, sides) / instance.answer

    def reference_check(self, instance: Instance, output: Any, elapsed_s: float) -> ReferenceVerdict:
        weights = instance.args[0]
        if len(output) != len(weights):  # len() of a number raises: the split floors at eps
            raise SplitFloor(0.0, f"partition of length {len(output)} for {len(weights)} nodes")
        if instance.answer <= 0:
            return ReferenceVerdict(0.0)
        value = reference_cut(weights, output) / instance.answer
        return ReferenceVerdict(value, lenient=as_sides(output, len(weights)) is None and value > 0)
