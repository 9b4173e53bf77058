"""Built-in tasks scored in the sandbox: strong solutions score high, seeds score as the paper
describes (within stated tolerances), malformed outputs score 0, and transfer time is credited.

Timing-limited scores are noisy on a shared machine, so bounds here are loose on purpose.
"""

from __future__ import annotations

import pytest
from tests.tasks.subset import Subset

from selftaught.sandbox.limits import Limits
from selftaught.tasks import get_task
from selftaught.tasks.scoring import MAX_CREDIT_SHARE, measure_transfer, score_solution, wire_args


def _fast(name: str) -> str:
    """The strong reference solution, with its time budget cut so that the test runs quickly."""
    code = get_task(name).reference_solution()
    return code.replace("TIME_BUDGET_S = 0.05", "TIME_BUDGET_S = 0.0").replace(
        "TIME_BUDGET_S = 0.25", "TIME_BUDGET_S = 0.02"
    )


@pytest.mark.parametrize(
    ("name", "floor"),
    [
        ("parity_noiseless", 0.99),
        ("three_sat", 0.85),  # WalkSAT solves every formula in a few ms; a loaded machine may cost one
        ("maxcut", 0.58),  # one local-search descent; a random partition scores about 0.50
        ("str_grid_dist", 0.999),  # exact by dynamic programming
        ("mqap", 0.26),  # swap descent from random starts; a random permutation scores about 0.233
        ("sandbox", 1.0),
    ],
)
def test_a_strong_solution_scores_high(pool, name, floor):
    assert score_solution(get_task(name), _fast(name), "val", pool).score >= floor


def test_seed_scores_match_the_reference_within_tolerance(pool):
    # string grid distance: the seed returns t; deterministic. Paper u(s) 43.9% on its own instances.
    grid = get_task("str_grid_dist")
    expected = sum(grid.check(i, i.args[0]) for i in grid.instances("val")) / 50
    assert score_solution(grid, grid.seed_solution(), "val", pool).score == pytest.approx(expected)
    assert abs(expected - 0.439) < 0.05
    # MQAP: annealing in the wrong direction lands below a random permutation (0.233). Paper 20.4%.
    mqap = get_task("mqap")
    assert 0.17 <= score_solution(mqap, mqap.seed_solution(), "val", pool).score <= 0.225
    # parity without noise: random bits. Paper 50.0%; 1000 test labels give +-0.05 at 3 sigma.
    parity = get_task("parity_noiseless")
    assert 0.42 <= score_solution(parity, parity.seed_solution(), "test", pool).score <= 0.58
    # sandbox: the seed improver loads and defines improve_algorithm.
    sandbox = get_task("sandbox")
    assert score_solution(sandbox, sandbox.seed_solution(), "val", pool).score == 1.0


def test_slow_seeds_are_cut_by_the_time_limit(pool):
    # Max-Cut: the O(n^3) pure-Python greedy takes about 0.1 s at 100 nodes and 0.7 s at 200.
    # The paper reports 0% (its harness zeroed the whole split on the first timeout); per
    # instance it still cuts the small graphs in time, which is what we score.
    maxcut = get_task("maxcut")
    sizes = [len(i.args[0]) for i in maxcut.instances("val")]
    by_size = sorted(range(len(sizes)), key=sizes.__getitem__)
    large = score_solution(Subset(maxcut, by_size[-2:]), maxcut.seed_solution(), "val", pool)
    assert large.score == 0.0 and large.error_kind in {"timeout", "time_limit"}
    small = score_solution(Subset(maxcut, by_size[:2]), maxcut.seed_solution(), "val", pool)
    assert 0.5 < small.score < 0.7  # greedy cuts of 50-node graphs, when the machine is not swamped
    # 3-SAT: the slow random walk solves the small formulas in time and runs out of steps or time
    # on many large ones. The paper reports 0% (its harness returned its floor for the whole split
    # when the seed gave up on one formula); per instance it solves most small formulas.
    sat = get_task("three_sat")
    assert 0.25 <= score_solution(sat, sat.seed_solution(), "val", pool).score <= 0.95


MALFORMED = {
    "three_sat": [
        "def algorithm(formula):\n    return None\n",
        "def algorithm(formula):\n    return {1: True}\n",
        "def algorithm(formula):\n    return [True] * 3\n",
        "def algorithm(formula):\n    return 'TTTT'\n",
    ],
    "maxcut": [
        "def algorithm(a):\n    return [0, 1] * len(a)\n",
        "def algorithm(a):\n    return [2] * len(a)\n",
        "import numpy as np\ndef algorithm(a):\n    return np.zeros((len(a), 1))\n",
    ],
    "str_grid_dist": [
        "def algorithm(t, d):\n    return t + 'A'\n",
        "def algorithm(t, d):\n    return t.replace('A', 'C')\n",
        "def algorithm(t, d):\n    return list(t)\n",
    ],
    "mqap": [
        "def algorithm(F, D, P):\n    return [0] * len(F)\n",
        "def algorithm(F, D, P):\n    return list(range(len(F))) + [0]\n",
        "def algorithm(F, D, P):\n    return [float(i) for i in range(len(F))]\n",
    ],
    "parity_noiseless": ["import numpy as np\ndef algorithm(a, b, t):\n    return np.zeros((20, 20))\n"],
    "sandbox": ["def improve(x):\n    return x\n", "raise SystemExit(0)\n"],
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_outputs_score_zero(pool, name):
    task = Subset(get_task(name), [0, 1, 2] if name != "sandbox" else [0])
    for code in MALFORMED[name]:
        assert score_solution(task, code, "val", pool).score == 0.0, code


def test_reference_style_exceptions_and_hangs_score_zero_per_instance(pool):
    task = Subset(get_task("str_grid_dist"), [0, 1, 2, 3])
    flaky = "def algorithm(t, d):\n    if len(t) % 2:\n        raise ValueError('odd')\n    return t\n"
    result = score_solution(task, flaky, "val", pool)
    assert 0.0 <= result.score < 1.0 and result.error_kind == "exception"


def test_transfer_credit_is_measured_before_the_candidate_and_capped(pool):
    task = get_task("maxcut")
    instances = task.instances("val")[:5]
    wires = wire_args(Subset(task, list(range(5))), "val", instances)
    with pool.spawn(Limits(wall_s=30)) as child:
        credits = measure_transfer(child, wires, task.time_limit_s)
    assert len(credits) == 5
    assert all(0.0 < c <= MAX_CREDIT_SHARE * task.time_limit_s for c in credits)
