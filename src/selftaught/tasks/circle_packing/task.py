"""Circle packing: n circles in the unit square, maximizing the sum of their radii.

Written from the problem statement. The candidate `algorithm(n)` returns `(centers,
radii)`; a packing is valid only when there are exactly n circles, every value is finite,
no radius is negative, every circle lies in the square and no two circles overlap, the last
two up to `TOLERANCE` (1e-9). A valid packing scores its sum of radii divided by the best
sum known for that n; an invalid one scores 0 (the reason is kept by `problem`).

Splits: validation is n = 26 (the field's usual instance); the test split holds out
n = 32, the other size with a published record. Best known sums (see docs/tasks.md for the
sources): n = 26: 2.635983; n = 32: 2.939570.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np

from selftaught.tasks.base import SPLITS, Instance, Task
from selftaught.tasks.seeded import environment_note

TOLERANCE = 1e-9
BEST_KNOWN = {26: 2.635983, 32: 2.939570}
SPLIT_SIZES = {"val": (26,), "test": (32,)}


def _array(value: Any, shape: tuple[int, ...], what: str) -> tuple[np.ndarray | None, str | None]:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        return None, f"{what} is not an array of numbers ({exc})"
    if array.dtype.kind not in "biuf" or array.dtype.kind == "b":
        return None, f"{what} holds {array.dtype} values, not numbers"
    if array.shape != shape:
        return None, f"{what} has shape {array.shape}, not {shape}"
    return array.astype(np.float64), None


def problem(output: Any, n: int) -> str | None:
    """Why `output` is not a valid packing of n circles, or None if it is."""
    if not isinstance(output, list | tuple) or len(output) != 2:
        return "the output is not a pair (centers, radii)"
    centers, why = _array(output[0], (n, 2), "centers")
    if centers is None:
        return why
    radii, why = _array(output[1], (n,), "radii")
    if radii is None:
        return why
    if not (np.isfinite(centers).all() and np.isfinite(radii).all()):
        return "a center or radius is not finite"
    if (radii < 0).any():
        return f"circle {int(np.argmax(radii < 0))} has a negative radius"
    low = centers - radii[:, None]
    high = centers + radii[:, None]
    outside = (low < -TOLERANCE).any(axis=1) | (high > 1 + TOLERANCE).any(axis=1)
    if outside.any():
        return f"circle {int(np.argmax(outside))} is not inside the unit square"
    gaps = np.linalg.norm(centers[:, None, :] - centers[None, :, :], axis=2) - (
        radii[:, None] + radii[None, :]
    )
    np.fill_diagonal(gaps, np.inf)
    if (gaps < -TOLERANCE).any():
        i, j = np.unravel_index(int(np.argmin(gaps)), gaps.shape)
        return f"circles {min(i, j)} and {max(i, j)} overlap by {-gaps[i, j]:.3g}"
    return None


class InvalidPacking(ValueError):
    """The candidate's packing breaks a rule; the scorer records the message as the reason it scored 0."""


def sum_of_radii(output: Any, n: int) -> float | None:
    """The packing's sum of radii, or None if it is not a valid packing of n circles."""
    if problem(output, n) is not None:
        return None
    return float(np.sum(np.asarray(output[1], dtype=np.float64)))


class CirclePackingTask(Task):
    """Sum of radii / best known, n = 26 on validation, n = 32 held out for test; 5 s per packing."""

    name = "circle_packing"
    time_limit_s = 5.0
    description = "n circles in the unit square, maximize the sum of radii (val n=26, test n=32)"
    held_out = True

    def _read(self, filename: str) -> str:
        return resources.files("selftaught.tasks").joinpath("circle_packing", filename).read_text()

    def seed_solution(self) -> str:
        return self._read("seed_algorithm.py")

    def shown_utility(self) -> str:
        return environment_note() + self._read("utility.py")

    def instances(self, split: str) -> list[Instance]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r} (use val or test)")
        return [Instance(args=(n,), answer=BEST_KNOWN[n]) for n in SPLIT_SIZES[split]]

    def check(self, instance: Instance, output: Any) -> float:
        """Sum of radii / best known; an invalid packing raises InvalidPacking (scored 0, reason kept)."""
        n = instance.args[0]
        why = problem(output, n)
        if why is not None:
            raise InvalidPacking(f"n = {n}: {why}")
        return float(np.sum(np.asarray(output[1], dtype=np.float64))) / instance.answer
