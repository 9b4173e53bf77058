"""The built-in circle_packing task: its validity rules, its splits and its score."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.conftest import ROOT

from selftaught.tasks import get_task
from selftaught.tasks.base import Instance
from selftaught.tasks.circle_packing.task import BEST_KNOWN, TOLERANCE, InvalidPacking, problem
from selftaught.tasks.scoring import score_solution

N = 26


def grid(n: int = N) -> tuple[list[list[float]], list[float]]:
    side = math.ceil(math.sqrt(n))
    r = 0.5 / side
    return [[(2 * (i % side) + 1) * r, (2 * (i // side) + 1) * r] for i in range(n)], [r] * n


def test_splits_hold_n_26_for_validation_and_n_32_out_for_test():
    task = get_task("circle_packing")
    assert [i.args for i in task.instances("val")] == [(26,)]
    assert [i.args for i in task.instances("test")] == [(32,)]
    assert BEST_KNOWN[26] == pytest.approx(2.6359, abs=1e-4)


def test_a_valid_packing_scores_its_sum_of_radii_over_the_best_known():
    task = get_task("circle_packing")
    centers, radii = grid()
    instance = Instance(args=(N,), answer=BEST_KNOWN[N])
    assert task.check(instance, (centers, radii)) == pytest.approx(sum(radii) / BEST_KNOWN[N])
    assert task.check(instance, (np.array(centers), np.array(radii))) == pytest.approx(
        sum(radii) / BEST_KNOWN[N]
    )
    touching = ([[0.25, 0.5], [0.75, 0.5]], [0.25, 0.25])  # tangent circles, touching the sides
    assert problem(touching, 2) is None


def broken(kind: str):
    centers, radii = grid()
    if kind == "nan":
        return [[math.nan, math.nan]] * N, [math.nan] * N
    if kind == "inf":
        radii[3] = math.inf
    if kind == "outside":
        centers[0] = [0.05, 0.5]  # radius 1/12 crosses x = 0
    if kind == "overlap":
        radii[7] += 2 * TOLERANCE  # an inner circle; its neighbours sit at exactly twice the radius
    if kind == "negative":
        radii[5] = -0.01
    if kind == "too_few":
        return centers[:-1], radii[:-1]
    if kind == "too_many":
        return [*centers, [0.5, 0.5]], [*radii, 0.0]
    if kind == "strings":
        return [["0.1", "0.1"]] * N, ["0.1"] * N
    if kind == "not_a_pair":
        return centers
    return centers, radii


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("nan", "not finite"),
        ("inf", "not finite"),
        ("outside", "not inside the unit square"),
        ("overlap", "overlap"),
        ("negative", "negative radius"),
        ("too_few", "shape"),
        ("too_many", "shape"),
        ("strings", "not numbers"),
        ("not_a_pair", "not a pair"),
    ],
)
def test_an_invalid_packing_scores_zero_with_the_reason(kind, reason):
    task = get_task("circle_packing")
    with pytest.raises(InvalidPacking, match=reason):
        task.check(Instance(args=(N,), answer=BEST_KNOWN[N]), broken(kind))


def test_overlap_within_the_tolerance_is_accepted():
    centers, radii = grid()
    radii[7] += TOLERANCE / 2
    assert problem((centers, radii), N) is None


def test_the_seed_and_a_better_packing_in_the_sandbox(pool):
    task = get_task("circle_packing")
    seed = score_solution(task, task.seed_solution(), "val", pool)
    assert seed.score == pytest.approx(26 / 12 / BEST_KNOWN[26]) and seed.error_kind is None
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "model", ROOT / "examples" / "openevolve" / "scripted_model.py"
    )
    model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model)
    better = model.PACKING.format(name="algorithm")
    for split, n in (("val", 26), ("test", 32)):
        result = score_solution(task, better, split, pool)
        assert result.error_kind is None, result
        expected = (25 * 0.1 + (n - 25) * 0.1 * (math.sqrt(2) - 1)) / BEST_KNOWN[n]
        assert result.score == pytest.approx(expected, abs=1e-9)
