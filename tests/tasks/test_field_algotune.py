"""AlgoTune-style folders: problems and checking on the trusted side, the Solver alone in the sandbox,
scored by correctness x speed-up over the reference solve (timed the same way)."""

from __future__ import annotations

import shutil
import sys

import pytest
from tests.conftest import ROOT

from selftaught.errors import UserInputError
from selftaught.tasks import load_task_folder
from selftaught.tasks.field.algotune import AlgoTuneTask, task_classes
from selftaught.tasks.scoring import score_solution

EXAMPLE = ROOT / "examples" / "algotune" / "count_inversions"

FAST = """
class Solver:
    def solve(self, problem, **kwargs):
        values = problem["values"]
        _, count = self.sort(list(values))
        return {"inversions": count}

    def sort(self, values):
        if len(values) <= 1:
            return values, 0
        middle = len(values) // 2
        left, a = self.sort(values[:middle])
        right, b = self.sort(values[middle:])
        merged, count, i, j = [], a + b, 0, 0
        while i < len(left) and j < len(right):
            if left[i] <= right[j]:
                merged.append(left[i]); i += 1
            else:
                merged.append(right[j]); count += len(left) - i; j += 1
        return merged + left[i:] + right[j:], count
"""


@pytest.fixture
def task(tmp_path) -> AlgoTuneTask:
    folder = tmp_path / "count_inversions"
    shutil.copytree(EXAMPLE, folder)
    loaded = load_task_folder(folder)
    assert isinstance(loaded, AlgoTuneTask)
    return loaded


def test_the_example_loads_with_the_algotune_base_stand_in_and_disjoint_splits(task):
    assert task.class_name == "CountInversions" and task.held_out
    assert "AlgoTuneTasks.base" not in sys.modules  # the stand-in is not left behind in the orchestrator
    val, test = task.instances("val"), task.instances("test")
    assert len(val) == len(test) == 5 and len(val[0].args[0]["values"]) == 800
    assert all(a.args != b.args for a in val for b in test)
    assert "class Solver" in task.seed_solution() and "CountInversions().solve" in task.seed_solution()
    assert "is_solution" in task.shown_utility() and "speed-up" in task.shown_utility()


def test_wrong_answers_score_zero_and_a_faster_solver_beats_the_reference(task, pool):
    seed = score_solution(task, task.seed_solution(), "val", pool)
    assert seed.error_kind is None and 0.01 < seed.score < 0.5  # about 1 / cap: the reference itself
    wrong = "class Solver:\n    def solve(self, problem):\n        return {'inversions': 0}\n"
    assert score_solution(task, wrong, "val", pool).score == 0.0
    garbage = "class Solver:\n    def solve(self, problem):\n        return 'many'\n"
    assert score_solution(task, garbage, "val", pool).score == 0.0
    fast = score_solution(task, FAST, "val", pool)
    assert fast.error_kind is None and fast.score > seed.score  # merge sort: far faster than all pairs
    assert set(task.reference_times("val", pool)) == set(range(5))


def test_a_folder_whose_class_lacks_a_method_is_not_an_algotune_task(tmp_path):
    import ast

    source = (
        "class T:\n"
        "    def generate_problem(self, n, random_seed=1):\n        return {}\n"
        "    def solve(self, p):\n        return p\n"
    )
    assert task_classes(ast.parse(source)) == []
    folder = tmp_path / "half"
    folder.mkdir()
    (folder / "half.py").write_text(source)
    with pytest.raises(UserInputError, match="no known format"):
        load_task_folder(folder)


def test_fresh_splits_draw_other_problems_from_the_base_seeds(task):
    twin = task.reseeded({"val": 7, "test": 1_000_007})
    assert twin is not task and twin.split_base_seeds == {"val": 7, "test": 1_000_007}
    assert [i.answer for i in twin.instances("val")] == list(range(7, 12))
    assert twin.instances("val")[0].args != task.instances("val")[0].args
    assert [i.answer for i in task.instances("val")] == list(range(5))  # the original keeps its problems
