import numpy as np
from tests.conftest import GOOD_PARITY_SOLVER
from tests.tasks.subset import Subset

from selftaught.tasks import get_task
from selftaught.tasks.scoring import score_solution

TASK = get_task("parity_noise")


def test_splits_are_reproducible_sized_and_disjoint():
    val, test = TASK.instances("val"), TASK.instances("test")
    assert (len(val), len(test)) == (20, 50)
    from selftaught.tasks.parity_noise.task import make_instance

    again = make_instance(4321, 0.05)
    assert np.array_equal(again.args[0], val[0].args[0]) and np.array_equal(again.answer, val[0].answer)
    val_keys = {inst.args[0].tobytes() for inst in val}
    assert not val_keys & {inst.args[0].tobytes() for inst in test}
    X, y, T = val[0].args
    assert X.shape == (100, 10) and y.shape == (100,) and T.shape == (20, 10)


def test_good_solver_scores_high_and_seed_near_chance(pool):
    assert score_solution(TASK, GOOD_PARITY_SOLVER, "val", pool).score >= 0.95
    seed = score_solution(TASK, TASK.seed_solution(), "test", pool).score
    assert 0.4 <= seed <= 0.6  # random bits: 50% expected, 1000 labels


def test_wrongly_shaped_predictions_never_score_above_one(pool):
    hacks = {
        "column times row broadcasts to 20x20": "import numpy as np\n"
        "def algorithm(a, b, t):\n    return np.zeros((20, 20))\n",
        "too long": "def algorithm(a, b, t):\n    return [0] * 400\n",
        "scalar": "def algorithm(a, b, t):\n    return 0\n",
        "strings": "def algorithm(a, b, t):\n    return ['x'] * 20\n",
    }
    for name, code in hacks.items():
        result = score_solution(TASK, code, "val", pool)
        assert result.score == 0.0, name


def test_check_compares_flat_vectors():
    instance = TASK.instances("val")[0]
    assert TASK.check(instance, instance.answer.reshape(20, 1)) == 1.0
    assert TASK.check(instance, instance.answer[:, None] == instance.answer[None, :]) == 0.0


def test_the_reference_allows_two_seconds_per_problem(pool):
    assert TASK.time_limit_s == 2.0
    few = Subset(TASK, [0, 1])
    pause = "    import time\n    time.sleep(0.3)\n"
    patient = GOOD_PARITY_SOLVER.replace("    X = np.asarray", pause + "    X = np.asarray")
    assert score_solution(few, patient, "val", pool).score >= 0.9  # 0.3 s is well within the limit
    slow = "import time\ndef algorithm(a, b, t):\n    time.sleep(2.2)\n    return [0] * 20\n"
    result = score_solution(few, slow, "val", pool)
    assert result.score == 0.0 and result.error_kind in {"timeout", "time_limit"}
    looping = "def algorithm(a, b, t):\n    while True:\n        pass\n"
    result = score_solution(few, looping, "val", pool)
    assert result.score == 0.0 and result.error_kind == "timeout" and result.elapsed_s < 12


def test_randomized_solutions_score_the_same_every_time(pool):
    seed = TASK.seed_solution()  # predicts random bits: reproducible because children are seeded
    first = score_solution(TASK, seed, "val", pool).score
    assert all(score_solution(TASK, seed, "val", pool).score == first for _ in range(3))
    other = "import random\n" + seed.replace(
        "np.random.binomial(1, 0.5, len(test_samples))", "[random.randint(0, 1) for _ in test_samples]"
    )
    assert (
        other != seed
        and score_solution(TASK, other, "val", pool).score == score_solution(TASK, other, "val", pool).score
    )
