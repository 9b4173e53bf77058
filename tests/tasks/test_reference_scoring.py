"""`scoring="reference"`: the reference's split floors and loose acceptance, and the count of answers
that got credit only under its rules. Each check runs a few instances in the sandbox."""

from __future__ import annotations

import pytest
from tests.conftest import GOOD_PARITY_SOLVER
from tests.tasks.subset import Subset

from selftaught.tasks import get_task
from selftaught.tasks.scoring import score_solution


def both(task, code, pool):
    return (
        score_solution(task, code, "val", pool),
        score_solution(task, code, "val", pool, scoring="reference"),
    )


def test_unknown_mode_is_refused(pool):
    with pytest.raises(ValueError, match="scoring mode"):
        score_solution(get_task("mqap"), "def algorithm(F, D, P):\n    return 0\n", "val", pool, scoring="x")


def test_maxcut_labels_beyond_two_pass_only_under_reference_rules(pool):
    task = Subset(get_task("maxcut"), [0, 1, 2])
    strict, reference = both(task, "def algorithm(a):\n    return list(range(len(a)))\n", pool)
    assert strict.score == 0.0 and strict.accepted_by_reference_only == 0 and strict.scoring == "strict"
    assert reference.score == 1.0 and reference.accepted_by_reference_only == 3  # every edge "cut"
    assert reference.scoring == "reference"
    strict, reference = both(
        task, "def algorithm(a):\n    return ['L', 'R'] * (len(a) // 2) + ['L'] * (len(a) % 2)\n", pool
    )
    assert strict.score == pytest.approx(reference.score) and 0.4 < strict.score < 0.6  # honest labels
    assert reference.accepted_by_reference_only == 0


def test_maxcut_wrong_length_zeroes_and_slow_seed_floors_the_split(pool):
    maxcut = get_task("maxcut")
    _, reference = both(Subset(maxcut, [0]), "def algorithm(a):\n    return [0, 1]\n", pool)
    assert reference.score == 0.0 and reference.error_kind == "reference_floor"
    sizes = [len(i.args[0]) for i in maxcut.instances("val")]
    by_size = sorted(range(len(sizes)), key=sizes.__getitem__)
    task = Subset(maxcut, [by_size[0], by_size[-1], by_size[1]])  # small, largest (times out), small
    strict, reference = both(task, maxcut.seed_solution(), pool)
    assert 0.3 < strict.score < 0.5  # per instance: two small graphs cut in time
    assert reference.score == 0.01 and reference.error_kind in {"timeout", "time_limit"}
    assert "floor" in reference.error


def test_code_that_does_not_load_scores_the_references_value(pool):
    for name, expected in (("maxcut", 0.01), ("three_sat", 0.01), ("mqap", 0.01), ("parity_noise", 0.0)):
        strict, reference = both(Subset(get_task(name), [0]), "syntax error(", pool)
        assert strict.score == 0.0 and reference.score == expected, name


def test_three_sat_seed_giving_up_floors_the_split_and_dicts_are_honest(pool):
    sat = get_task("three_sat")
    strict, reference = both(Subset(sat, [0, 1]), "def algorithm(formula):\n    return None\n", pool)
    assert strict.score == 0.0 and reference.score == 0.01 and reference.error_kind == "check_error"
    solver = sat.reference_solution().replace("def algorithm(", "def _solve(")
    keyed = solver + "\n\ndef algorithm(formula):\n    values = _solve(formula)\n"
    keyed += "    return {v: values[v] for v in range(1, len(values))}\n"
    strict, reference = both(Subset(sat, [0, 1, 2]), keyed, pool)
    assert strict.score >= 2 / 3 and reference.score >= 2 / 3  # WalkSAT within 100 ms, in dict form
    assert reference.accepted_by_reference_only == 0
    wrong = "def algorithm(formula):\n    return [False] * 60\n"  # well formed, usually unsatisfying
    strict, reference = both(Subset(sat, [0, 1, 2]), wrong, pool)
    assert strict.score <= 1 / 3 and reference.score >= 0.01 and reference.error_kind is None


def test_parity_broadcasts_pass_only_under_reference_rules(pool):
    noiseless = Subset(get_task("parity_noiseless"), [0, 1])
    column = GOOD_PARITY_SOLVER.replace("def algorithm(", "def _solve(")
    column += "\n\ndef algorithm(a, b, t):\n    return np.reshape(_solve(a, b, t), (-1, 1))\n"
    assert column != GOOD_PARITY_SOLVER
    strict, reference = both(noiseless, column, pool)
    assert strict.score == 1.0  # honest predictions in a column, compared flat
    assert reference.score > 5 and reference.accepted_by_reference_only == 2  # the paper's hack, unclipped
    noisy = Subset(get_task("parity_noise"), [0, 1])
    strict, reference = both(noisy, "def algorithm(a, b, t):\n    return [0]\n", pool)
    assert strict.score == 0.0 and 0.2 < reference.score < 0.8
    assert reference.accepted_by_reference_only == 2
    strict, reference = both(noisy, "def algorithm(a, b, t):\n    return [0] * 7\n", pool)
    assert strict.score == 0.0 and reference.score == 1e-6  # numpy refuses to broadcast: the split floors


def test_mqap_non_permutations_pass_only_under_reference_rules(pool):
    task = Subset(get_task("mqap"), [0, 1])
    hack = (
        "import numpy as np\n"
        "def algorithm(F, D, P):\n"
        "    k = int(np.argmax(np.diag(D)))\n"
        "    return [k] * len(F) + list(range(len(F)))\n"
    )
    strict, reference = both(task, hack, pool)
    assert strict.score == 0.0
    assert reference.score > 0.3 and reference.accepted_by_reference_only == 2  # a permutation gets ~0.23


def test_which_failures_floor_follows_the_reference_task_by_task(pool):
    flaky_sat = "def algorithm(formula):\n    if len(formula) % 2 == 0:\n        raise ValueError('even')\n"
    flaky_sat += "    return [True] * 60\n"
    sat = Subset(get_task("three_sat"), [0, 1, 2, 3])
    _, reference = both(sat, flaky_sat, pool)
    assert reference.score == 0.01 and reference.error_kind == "exception"
    grid = Subset(get_task("str_grid_dist"), [0, 1, 2, 3])
    flaky = "def algorithm(t, d):\n    if len(t) % 2:\n        raise ValueError('odd')\n    return t\n"
    strict, reference = both(grid, flaky, pool)
    assert 0.0 < reference.score == pytest.approx(strict.score)  # an instance that raises scores 0
    mqap = Subset(get_task("mqap"), [0, 1])
    slow_first = "import time\n_calls = []\ndef algorithm(F, D, P):\n    _calls.append(1)\n"
    slow_first += "    if len(_calls) == 1:\n        time.sleep(0.7)\n    return list(range(len(F)))\n"
    strict, reference = both(mqap, slow_first, pool)
    assert 0.08 < reference.score < 0.15 and reference.error_kind in {"timeout", "time_limit"}
