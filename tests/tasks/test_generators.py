"""Instance generators and checkers of the built-in tasks, on the trusted side only (no sandbox)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from selftaught.tasks import builtin_names, get_task
from selftaught.tasks.maxcut.task import cut_weight
from selftaught.tasks.mqap.task import objective
from selftaught.tasks.seeded import SPLIT_BASE_SEEDS, SeededTask
from selftaught.tasks.str_grid_dist.task import grid_dist, score_string
from selftaught.tasks.three_sat.task import satisfies

SEEDED = [name for name in builtin_names() if isinstance(get_task(name), SeededTask)]
PAPER_SIZES = {
    "parity_noise": (20, 50),
    "parity_noiseless": (20, 20),  # the reference's test split repeats the validation size
    "three_sat": (30, 30),
    "maxcut": (100, 100),
    "str_grid_dist": (50, 50),
    "mqap": (10, 10),
    "sandbox": (1, 1),
}


def _fingerprint(instance) -> bytes:
    return repr([np.asarray(a).tobytes() if isinstance(a, np.ndarray) else a for a in instance.args]).encode()


def test_all_six_paper_tasks_and_the_sandbox_task_are_built_in():
    assert set(builtin_names()) == set(PAPER_SIZES) | {"circle_packing"}  # and the field's circle packing


@pytest.mark.parametrize("name", SEEDED)
def test_splits_have_the_reference_sizes_are_reproducible_and_disjoint(name):
    task = get_task(name)
    val, test = task.instances("val"), task.instances("test")
    assert (len(val), len(test)) == PAPER_SIZES[name]
    again = task.make_instance(SPLIT_BASE_SEEDS["val"])  # instance i is seeded base + i
    assert _fingerprint(again) == _fingerprint(val[0])
    assert task.instances("val") is val  # generated once per split, then reused
    assert SPLIT_BASE_SEEDS["val"] + len(val) <= SPLIT_BASE_SEEDS["test"]  # the seeds never overlap
    shared = {_fingerprint(i) for i in val} & {_fingerprint(i) for i in test}
    if name == "str_grid_dist":  # short strings can repeat by chance ("A" at distance 0)
        assert len(shared) <= 3
    elif name != "sandbox":  # the sandbox task's single instance has no arguments
        assert not shared
    with pytest.raises(ValueError):
        task.instances("train")


def test_three_sat_formulas_are_planted_satisfiable_with_the_reference_shape():
    task = get_task("three_sat")
    sizes = []
    for instance in task.instances("val") + task.instances("test"):
        (formula,) = instance.args
        planted = instance.answer
        n = len(planted) - 1
        sizes.append(n)
        assert 5 <= n <= 50 and len(formula) == 4 * n and planted[0] is False
        assert all(len(clause) == 3 and len({abs(lit) for lit in clause}) == 3 for clause in formula)
        assert all(1 <= abs(lit) <= n and isinstance(lit, int) for clause in formula for lit in clause)
        assert satisfies(formula, planted)
        assert task.check(instance, planted[: max(abs(lit) for c in formula for lit in c) + 1]) == 1.0
    assert min(sizes) < 15 and max(sizes) > 40  # n ~ U[5, 50]


def test_three_sat_check_rejects_malformed_and_wrong_assignments():
    task = get_task("three_sat")
    instance = task.instances("val")[0]
    (formula,) = instance.args
    n = max(abs(lit) for clause in formula for lit in clause)
    good = [bool(v) for v in instance.answer[: n + 1]]
    assert task.check(instance, good) == 1.0
    assert task.check(instance, [1 if v else 0 for v in good]) == 1.0
    assert task.check(instance, [not v for v in good]) in (0.0, 1.0)
    assert task.check(instance, good + [True]) == 1.0  # longer lists are indexed as the reference does
    keyed = {v: good[v] for v in range(1, n + 1)}
    assert task.check(instance, keyed) == 1.0  # a dict keyed by variable, as the reference accepts
    assert task.check(instance, {str(v): value for v, value in keyed.items()}) == 1.0  # keys after the wire
    assert task.check(instance, np.array(good)) == 1.0
    missing = dict(keyed)
    missing.pop(abs(formula[0][0]))
    nan = [float("nan")] * (n + 1)
    malformed = (None, {}, missing, {"x": True}, "TTF", good[:-1], [good], [None] * (n + 1), ["x"] * (n + 1))
    for bad in (*malformed, nan, 1):
        assert task.check(instance, bad) == 0.0, bad
    falsified = formula[0]
    wrong = list(good)
    for lit in falsified:  # make every literal of the first clause false
        wrong[abs(lit)] = lit < 0
    assert task.check(instance, wrong) == 0.0


def test_maxcut_graphs_match_the_reference_distribution():
    task = get_task("maxcut")
    densities = []
    for instance in task.instances("val"):
        (weights,) = instance.args
        n = len(weights)
        assert 50 <= n <= 200 and weights.shape == (n, n) and weights.dtype == np.float64
        assert np.array_equal(weights, weights.T) and not weights.diagonal().any()
        values = weights[np.triu_indices(n, 1)]
        assert set(np.unique(values)) <= set(range(11))
        densities.append((values > 0).mean())
        assert instance.answer == values.sum()
    assert abs(np.mean(densities) - 0.4) < 0.01


def test_maxcut_cut_weight_matches_brute_force_and_check_normalizes():
    task = get_task("maxcut")
    instance = task.instances("val")[0]
    (weights,) = instance.args
    n = len(weights)
    sides = np.random.default_rng(0).integers(0, 2, n)
    brute = sum(weights[i, j] for i in range(n) for j in range(i + 1, n) if sides[i] != sides[j])
    assert cut_weight(weights, sides) == pytest.approx(brute)
    assert task.check(instance, sides.tolist()) == pytest.approx(brute / instance.answer)
    assert 0.4 < task.check(instance, sides) < 0.6  # a random partition cuts about half the weight
    assert task.check(instance, [0] * n) == 0.0
    expected = brute / instance.answer  # any two distinct labels, as in the reference
    relabelled = (sides * 2 + 3, [str(s) for s in sides], ["LR"[s] for s in sides], [bool(s) for s in sides])
    for labels in relabelled:
        assert task.check(instance, labels) == pytest.approx(expected)
    assert task.check(instance, "".join("ab"[s] for s in sides)) == pytest.approx(expected)
    three = sides.copy()
    three[0] = 2  # a third label is not a partition into two sets (the reference cuts more edges)
    nan = [float("nan")] * n
    for bad in (None, sides[:-1], np.append(sides, 0), three, [sides], [[s] for s in sides], nan, "01"):
        assert task.check(instance, bad) == 0.0


def _grid_dist_by_definition(s: str, t: str) -> int:
    """The definition, written out independently: mismatches, then neighbour changes in s and in t."""
    total = 0
    for i in range(len(s)):
        if s[i] != t[i]:
            total += 1
    for word in (s, t):
        for i in range(len(word) - 1):
            if word[i] != word[i + 1]:
                total += 1
    return total


def test_grid_distance_matches_the_definition_on_all_small_strings():
    for length in range(1, 6):
        words = ["".join(p) for p in itertools.product("AB", repeat=length)]
        for s, t in itertools.product(words, words):
            assert grid_dist(s, t) == _grid_dist_by_definition(s, t)
    with pytest.raises(ValueError):
        grid_dist("AB", "A")


def test_grid_instances_come_from_a_string_at_that_distance_and_scores_stay_in_range():
    task = get_task("str_grid_dist")
    for instance in task.instances("val") + task.instances("test"):
        t, dist = instance.args
        assert 1 <= len(t) <= 30 and set(t) <= {"A", "B"} and isinstance(dist, int)
        assert grid_dist(instance.answer, t) == dist
        assert task.check(instance, instance.answer) == 1.0
        assert 0.0 < task.check(instance, t) <= 1.0
    t, dist = "ABBA", 5
    assert score_string("ABBA", t, dist) == pytest.approx(0.5 - abs(4 - 5) / 24)
    for bad in (None, 4, "ABB", "ABBAA", "ABCA", ["A", "B", "B", "A"], b"ABBA"):
        assert score_string(bad, t, dist) == 0.0


def test_mqap_objective_matches_the_reference_formula_and_check_validates_permutations():
    task = get_task("mqap")
    instance = task.instances("val")[0]
    F, D, P = instance.args
    assert F.shape == D.shape == P.shape == (15, 15) and F.min() >= 0 and F.max() < 1
    a = np.random.default_rng(1).permutation(15)
    by_loops = sum(F[i, j] * D[a[i], a[j]] for i in range(15) for j in range(15))
    by_loops -= 0.5 * sum(P[i, a[i]] for i in range(15))
    assert objective(F, D, P, a) == pytest.approx(by_loops)
    assert task.check(instance, a.tolist()) == pytest.approx(by_loops / 225)
    assert task.check_timed(instance, a, 0.225) == pytest.approx((by_loops + 0.225) / 225)
    for bad in (None, list(range(14)), list(range(16)), [0] * 15, a.astype(float), [str(x) for x in a], "x"):
        assert task.check(instance, bad) == 0.0


@pytest.mark.parametrize("name", SEEDED)
def test_no_check_goes_below_zero_or_above_one(name):
    task = get_task(name)
    instance = task.instances("val")[0]
    junk = [None, 0, 1e300, float("nan"), -1, "", [], [[1]], {"a": 1}, [float("inf")] * 20, np.ones((20, 20))]
    for output in junk:
        assert 0.0 <= task.check(instance, output) <= 1.0


@pytest.mark.parametrize("name", SEEDED)
def test_reference_checks_judge_junk_or_raise_an_ordinary_exception(name):
    from selftaught.tasks.base import ReferenceVerdict, SplitFloor

    task = get_task(name)
    instance = task.instances("val")[0]
    junk = [None, 0, "", [], [[1]], {"a": 1}, {"1": True}, [float("nan")] * 20, np.ones((20, 20)), "AB" * 100]
    for output in junk:
        try:
            verdict = task.reference_check(instance, output, 0.0)
        except SplitFloor as floor:
            assert floor.value in (0.0, task.reference_rules.floor)
            continue
        except Exception:  # noqa: BLE001 - counted as the candidate raising; the scorer decides what follows
            continue
        assert isinstance(verdict, ReferenceVerdict) and isinstance(verdict.value, float)
        assert task.check(instance, output) <= verdict.value or not verdict.lenient
