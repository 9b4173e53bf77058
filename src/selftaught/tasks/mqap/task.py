"""Modified quadratic assignment (MQAP): place n facilities on n locations.

F (flows), D (distances) and P (preferences) are n x n matrices, uniform in [0, 1), n = 15,
drawn as the reference does: `np.random.seed(base + i)`, then `rand(n, n)` three times.
The candidate returns an assignment a, a permutation of range(n) (facility i goes to
location a[i]). As in the reference, the objective is *maximized*:

    sum_ij F[i, j] D[a[i], a[j]] - 0.5 sum_i P[i, a[i]] + elapsed seconds

divided by n^2. The elapsed-seconds term is the reference's (it rewards slowness by at
most 0.5 s / 225 = 0.0022 within the 500 ms limit); we charge the time measured on the
trusted side. Normalization: with entries in [0, 1) the sum is below n^2 and the penalty
at most 0.5 n, so objective / n^2 lies in [0, 1) up to the tiny time term; the score is
clipped to [0, 1]. A random permutation scores about 0.233. Anything but a permutation
of range(n) (wrong length, repeats, non-integers) scores 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from selftaught.tasks.base import Instance, ReferenceRules, ReferenceVerdict
from selftaught.tasks.seeded import SeededTask, legacy_streams

N = 15
PREFERENCE_WEIGHT = 0.5
REFERENCE_EPS = 1e-2


def objective(F: np.ndarray, D: np.ndarray, P: np.ndarray, assignment: np.ndarray) -> float:
    """sum_ij F[i, j] D[a_i, a_j] - 0.5 sum_i P[i, a_i] (higher is better)."""
    a = np.asarray(assignment)
    flow = float((F * D[np.ix_(a, a)]).sum())
    return flow - PREFERENCE_WEIGHT * float(P[np.arange(len(a)), a].sum())


def as_permutation(output: Any, n: int) -> np.ndarray | None:
    """The output as a permutation of range(n), or None if it is not exactly one."""
    if isinstance(output, dict | str | bytes) or output is None:
        return None
    try:
        values = np.asarray(output)
    except (ValueError, TypeError):
        return None
    if values.ndim != 1 or len(values) != n or values.dtype.kind not in "iu":
        return None
    if not np.array_equal(np.sort(values), np.arange(n)):
        return None
    return values.astype(np.int64)


class QuadraticAssignmentTask(SeededTask):
    """MQAP, n = 15: mean normalized objective over 10 instances, 500 ms each."""

    name = "mqap"
    data_folder = "mqap"
    time_limit_s = 0.5
    split_sizes = {"val": 10, "test": 10}
    description = "modified quadratic assignment, n = 15, maximize"
    reference_rules = ReferenceRules(minimum=REFERENCE_EPS, load_failure=REFERENCE_EPS)

    def make_instance(self, seed: int) -> Instance:
        stream = legacy_streams(seed).np
        F, D, P = (stream.rand(N, N) for _ in range(3))
        return Instance(args=(F, D, P), answer=None)

    def check(self, instance: Instance, output: Any) -> float:
        return self.check_timed(instance, output, 0.0)

    def check_timed(self, instance: Instance, output: Any, elapsed_s: float) -> float:
        F, D, P = instance.args
        assignment = as_permutation(output, len(F))
        if assignment is None:
            return 0.0
        value = (objective(F, D, P, assignment) + max(0.0, elapsed_s)) / len(F) ** 2
        return min(1.0, max(0.0, value))

    def reference_check(self, instance: Instance, output: Any, elapsed_s: float) -> ReferenceVerdict:
        """The reference takes any output whose *set* of values is range(n), and reads its first n."""
        F, D, P = instance.args
        n = len(F)
        if set(output) != set(range(n)):  # unhashable values raise: that instance scores 0
            return ReferenceVerdict(0.0)
        value = sum(F[i, j] * D[output[i], output[j]] for i in range(n) for j in range(n))
        value -= PREFERENCE_WEIGHT * sum(P[i, output[i]] for i in range(n))
        value = (value + max(0.0, elapsed_s)) / n**2
        strict = as_permutation(output, n) is not None
        return ReferenceVerdict(float(value), lenient=not strict)
