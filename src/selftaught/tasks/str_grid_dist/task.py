"""String grid distance: find a string at a given distance from another, with the reference's instances.

Target i: `random.seed(base + i)`, length = randint(1, 30), then t and s as that many
`choice("AB")` draws each; `dist` is the grid distance of s from t. The candidate gets (t, dist) and must
return a string s' over {A, B} of the same length. grid_dist(s, t) counts the positions
where s and t differ, plus the adjacent changes (AB or BA) inside s and inside t. An
exact answer scores 1; otherwise 0.5 - |grid_dist(s', t) - dist| / (6 len(t)), which
lies in (0, 0.5]. A non-string, a wrong length or another letter scores 0.
"""

from __future__ import annotations

from typing import Any

from selftaught.tasks.base import Instance
from selftaught.tasks.seeded import SeededTask, legacy_streams

MIN_LENGTH, MAX_LENGTH = 1, 30
ALPHABET = "AB"


def grid_dist(s: str, t: str) -> int:
    """Positional mismatches between s and t plus adjacent changes inside s and inside t."""
    if len(s) != len(t) or not set(s + t) <= set(ALPHABET):
        raise ValueError("grid_dist needs two A/B strings of the same length")
    mismatches = sum(a != b for a, b in zip(s, t, strict=True))
    return mismatches + _changes(s) + _changes(t)


def _changes(s: str) -> int:
    return sum(a != b for a, b in zip(s, s[1:], strict=False))


def score_string(output: Any, t: str, dist: int) -> float:
    """1 for an exact answer, a partial score in (0, 0.5] for a near miss, 0 if malformed."""
    if not isinstance(output, str) or len(output) != len(t) or not set(output) <= set(ALPHABET):
        return 0.0
    d = grid_dist(output, t)
    return 1.0 if d == dist else 0.5 - abs(d - dist) / (6 * len(t))


class GridDistanceTask(SeededTask):
    """String grid distance: 50 targets, 100 ms each."""

    name = "str_grid_dist"
    data_folder = "str_grid_dist"
    time_limit_s = 0.1
    split_sizes = {"val": 50, "test": 50}
    description = "find an A/B string at a given grid distance from another"

    def make_instance(self, seed: int) -> Instance:
        rnd = legacy_streams(seed).py
        length = rnd.randint(MIN_LENGTH, MAX_LENGTH)
        t = "".join(rnd.choice(ALPHABET) for _ in range(length))
        s = "".join(rnd.choice(ALPHABET) for _ in range(length))
        return Instance(args=(t, grid_dist(s, t)), answer=s)

    def check(self, instance: Instance, output: Any) -> float:
        t, dist = instance.args
        return score_string(output, t, dist)
